"""The engine protocol: what every way of running a sweep provides, and nothing more.

An engine checks its own settings of a sweep and the settings it cannot honour (before anything
is created), sizes its worker pool, runs a sweep to its end, and offers its candidates to
``compare``. The CLI, ``compare`` and ``export`` only
ever go through :mod:`cifar_search.engines` (the registry), never name an engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from collections.abc import Callable

if TYPE_CHECKING:
    import pandas as pd

    from cifar_search.config.sweep import Sweep
    from cifar_search.workspace import Workspace

#: Prints one line for the user.
Say = Callable[[str], None]


@dataclass(frozen=True)
class RunReport:
    """What a run of an engine tells the user at its end.

    Attributes:
        lines: closing lines, printed in order.
        interrupted: the run stopped before its end (the CLI exits 130).
    """

    lines: list[str] = field(default_factory=list)
    interrupted: bool = False


@dataclass(frozen=True)
class Candidates:
    """One engine's (or variant's) candidates for ``compare``.

    Attributes:
        label: the comparison's column group, e.g. ``optuna`` or ``as-written``.
        table: one row per candidate with ``candidate``, ``mean_score``, ``std_score``,
            ``runs``, ``rank`` (and optionally ``trained_optimizer``); None when not run yet.
        flags: the ``run`` flags that produce it, e.g. ``--engine sklearn``.
        scoring: how its scores were measured, for compare's first line (e.g.
            ``3-fold cross-validation``).
        run_id: the MLflow run that compare logs ``comparison.csv`` and ``.png`` on (None:
            not this one).
    """

    label: str
    table: pd.DataFrame | None
    flags: str = ""
    scoring: str = ""
    run_id: str | None = None


@dataclass(frozen=True)
class InFlight:
    """A study's RUNNING trials as their machines tell (what ``check`` reports).

    Attributes:
        alive: trial number -> the machine (``host:pid``) that runs it.
        lost: trial number -> why its machine is taken for gone (it is taken over).
    """

    alive: dict[int, str]
    lost: dict[int, str]


@dataclass(frozen=True)
class LiveStudy:
    """Where a dashboard reads a sweep's study while it runs (see ``live_study``).

    Attributes:
        storage: the Optuna storage URL, password included (it goes to the dashboard's
            environment, never to the terminal).
        study_id: the study's id in that storage; None while the study does not exist.
    """

    storage: str
    study_id: int | None


class Engine(Protocol):
    """One way of running a sweep (see :mod:`cifar_search.engines`)."""

    name: ClassVar[str]
    #: The keys of its section of ``Sweep.options`` (``options={name: {key: value}}``).
    settings: ClassVar[tuple[str, ...]]
    #: Whether its studies live in an Optuna storage that optuna-dashboard shows.
    dashboard: ClassVar[bool]
    #: Whether it trains in worker processes (their fork server starts as the run begins).
    trains_in_workers: ClassVar[bool]

    def check_options(self, sweep: Sweep) -> None:
        """Raise :class:`~cifar_search.errors.ConfigError` for a bad setting of this engine's
        (its section of ``options``, the parts it builds), whichever engine runs the sweep:
        one sweep file serves every engine. It must not import TensorFlow."""

    def check(self, sweep: Sweep) -> None:
        """Raise :class:`~cifar_search.errors.ConfigError` for settings this engine cannot
        honour when it runs the sweep. It must not import TensorFlow."""

    def worker_count(self, sweep: Sweep) -> int:
        """The number of workers it trains the sweep with (``workers="auto"`` resolved)."""

    def run(self, sweep: Sweep, workspace: Workspace, say: Say,
            progress: Any = None) -> RunReport:
        """Run (or resume) the sweep to its end."""

    def study(self, sweep: Sweep, workspace: Workspace) -> Any:
        """The engine's record of the sweep's trials as an Optuna study (read by ``status``,
        ``best``, ``export`` and ``check``), or None when it keeps none or has none yet."""

    def live_study(self, sweep: Sweep, workspace: Workspace,
                   create: bool = False) -> LiveStudy | None:
        """The Optuna storage a dashboard reads the sweep's study from (made first, empty,
        when ``create``), or None for an engine that keeps no Optuna storage."""

    def in_flight(self, sweep: Sweep, workspace: Workspace, repair: bool,
                  say: Say) -> InFlight | None:
        """The trials running now, alive or lost (the lost ones taken over first with
        ``repair``); None for an engine whose sweeps run on one machine only, where the
        sweep's lock tells."""

    def check_resumable(self, sweep: Sweep, workspace: Workspace) -> None:
        """Raise :class:`~cifar_search.errors.NoStudyError` or
        :class:`~cifar_search.errors.ConfigError` when there is nothing to resume."""

    def candidates(self, sweep: Sweep, workspace: Workspace) -> list[Candidates]:
        """This engine's candidates of the sweep, read from the stores (nothing is created)."""

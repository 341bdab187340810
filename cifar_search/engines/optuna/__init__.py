"""The Optuna engine: an Optuna study whose trials train in worker processes."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from cifar_search.config.checks import check_trials, settings_params
from cifar_search.config.require import require
from cifar_search.config.space import Space
from cifar_search.engines.optuna.options import OptunaOptions

if TYPE_CHECKING:
    from cifar_search.config.sweep import Sweep
    from cifar_search.engines.base import Candidates, InFlight, LiveStudy, RunReport, Say
    from cifar_search.workspace import Workspace


class OptunaEngine:
    """Optuna asks, our workers train, the coordinator records (see :mod:`.coordinator`)."""

    name: ClassVar[str] = "optuna"
    trains_in_workers: ClassVar[bool] = True
    settings: ClassVar[tuple[str, ...]] = tuple(
        f.name for f in dataclasses.fields(OptunaOptions))
    dashboard: ClassVar[bool] = True

    def check_options(self, sweep: Sweep) -> None:
        """Its options (start points), the sweep's Optuna-only training settings, the sampler's
        and pruner's options (built and tried on a throw-away study) and the space's Optuna
        distributions."""
        from cifar_search.engines.optuna.parts import check_parts
        from cifar_search.engines.optuna.space import check_distributions

        OptunaOptions.of(sweep).check(sweep)
        require(sweep.engine == self.name or not (settings_params(sweep)
                                                  or isinstance(sweep.data.validation, str)),
                "engine", sweep.engine,
                "data.classes, a test-set validation, early_stopping and data_parallel are "
                "settings of the optuna engine")
        check_parts(sweep)
        if isinstance(sweep.space, Space):
            check_distributions(sweep.space)

    def check(self, sweep: Sweep) -> None:
        """A sampler that ends by itself (a grid, or 'auto' where it picks the grid) or a
        number of trials; a sampler that can work on the space ('gp' with PyTorch) and, with
        several objectives, on them; no warm start with a grid (it tries every point whatever
        is known)."""
        from cifar_search.engines.optuna.parts import (
            check_asha,
            check_objectives,
            check_sampler,
            resolve_sampler,
        )

        resolved = resolve_sampler(sweep)
        check_objectives(sweep, resolved.sampler.kind)
        check_asha(sweep, resolved.sampler.kind)
        check_trials(sweep, "sampler", sweep.sampler.kind, resolved.sampler.kind == "grid")
        check_sampler(resolved)
        require(sweep.warm_start is None or resolved.sampler.kind != "grid", "warm_start",
                sweep.warm_start, "a grid tries every point whatever an earlier study learnt; "
                "a warm start informs a sampler that learns from results, such as 'tpe'")

    def worker_count(self, sweep: Sweep) -> int:
        """Packed onto the cores when every run is known up front (see :mod:`.pool`)."""
        from cifar_search.engines.optuna.pool import worker_count

        return worker_count(sweep)

    def run(self, sweep: Sweep, workspace: Workspace, say: Say,
            progress: Any = None) -> RunReport:
        """Create or resume the sweep's study and run it to its number of trials."""
        from cifar_search.engines.optuna.coordinator import run_sweep

        return run_sweep(sweep, workspace, say, progress)

    def study(self, sweep: Sweep, workspace: Workspace) -> Any:
        """The sweep's Optuna study, or None (nothing is created)."""
        from cifar_search.engines.optuna.study import find_study

        return find_study(sweep, workspace)

    def live_study(self, sweep: Sweep, workspace: Workspace,
                   create: bool = False) -> LiveStudy:
        """The workspace's Optuna storage (embedded SQLite or a database server) and the
        study's id in it (see :func:`.study.live_study`)."""
        from cifar_search.engines.optuna.study import live_study

        return live_study(sweep, workspace, create)

    def in_flight(self, sweep: Sweep, workspace: Workspace, repair: bool,
                  say: Say) -> InFlight:
        """On a shared storage (several machines), the study's RUNNING trials sorted into
        alive and lost (:class:`~cifar_search.engines.base.InFlight`); with ``repair`` the lost
        ones are taken over first, as a machine running the sweep would (see :mod:`.recovery`)."""
        from cifar_search.engines.optuna.recovery import in_flight

        return in_flight(sweep, workspace, repair, say)

    def check_resumable(self, sweep: Sweep, workspace: Workspace) -> None:
        """Refuse when the study does not exist or has nothing left to do."""
        from cifar_search.engines.optuna.coordinator import check_resumable

        check_resumable(sweep, workspace)

    def candidates(self, sweep: Sweep, workspace: Workspace) -> list[Candidates]:
        """The study's complete trials grouped by candidate (table None: no study yet)."""
        from cifar_search.engines.optuna.candidates import study_candidates

        return [study_candidates(sweep, workspace)]

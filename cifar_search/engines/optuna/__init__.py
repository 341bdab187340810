"""The Optuna engine: an Optuna study whose trials train in worker processes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cifar_search.errors import ConfigError

if TYPE_CHECKING:
    from cifar_search.config.sweep import Sweep
    from cifar_search.engines.base import Candidates, RunReport, Say
    from cifar_search.workspace import Workspace


class OptunaEngine:
    """Optuna asks, our workers train, the coordinator records (see :mod:`.coordinator`)."""

    name: ClassVar[str] = "optuna"

    def check(self, sweep: "Sweep") -> None:
        """The as-written mode reproduces a scikeras mistake: not an Optuna setting."""
        if sweep.as_written:
            raise ConfigError("as_written", f"{sweep.as_written!r} is not allowed; the "
                              "as-written mode reproduces a scikeras mistake; it needs engine "
                              "'sklearn'")

    def run(self, sweep: "Sweep", workspace: "Workspace", say: "Say",
            progress: Any = None) -> "RunReport":
        """Create or resume the sweep's study and run it to its number of trials."""
        from cifar_search.engines.optuna.coordinator import run_sweep

        return run_sweep(sweep, workspace, say, progress)

    def study(self, sweep: "Sweep", workspace: "Workspace") -> Any:
        """The sweep's Optuna study, or None (nothing is created)."""
        from cifar_search.engines.optuna.study import find_study

        return find_study(sweep, workspace)

    def in_flight(self, sweep: "Sweep", workspace: "Workspace", repair: bool,
                  say: "Say") -> Any:
        """On a shared storage (several machines), the study's RUNNING trials sorted into
        alive and lost (:class:`.machines.InFlight`); with ``repair`` the lost ones are taken
        over first, as a machine running the sweep would (see :mod:`.recovery`)."""
        from cifar_search.engines.optuna.recovery import in_flight

        return in_flight(sweep, workspace, repair, say)

    def check_resumable(self, sweep: "Sweep", workspace: "Workspace") -> None:
        """Refuse when the study does not exist or has nothing left to do."""
        from cifar_search.engines.optuna.coordinator import check_resumable

        check_resumable(sweep, workspace)

    def candidates(self, sweep: "Sweep", workspace: "Workspace") -> list["Candidates"]:
        """The study's complete trials grouped by candidate (table None: no study yet)."""
        from cifar_search.engines.optuna.candidates import study_candidates

        return [study_candidates(sweep, workspace)]

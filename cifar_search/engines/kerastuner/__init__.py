"""The KerasTuner engine: a KerasTuner oracle chooses, our worker processes train.

The plug-in (:class:`KerasTunerEngine`) is all the registry sees. The work is in
:mod:`.space` (the space as ``keras_tuner.HyperParameters``), :mod:`.scheduler` (pure
decisions), :mod:`.oracle` (the only module that drives KerasTuner), :mod:`.record` (the
engine's own files), :mod:`.recorder` (a trial's events to the records, MLflow and the
oracle), :mod:`.study_view` (the records as an in-memory Optuna study for ``status``,
``best``, ``export``, ``check`` and ``compare``) and :mod:`.coordinator` (its decisions in
the session loop).
Importing this package imports neither TensorFlow nor KerasTuner.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from cifar_search.config.checks import check_trials
from cifar_search.config.constraints import as_limits
from cifar_search.engines.kerastuner.options import KerasTunerOptions, exhaustive
from cifar_search.errors import ConfigError, NoStudyError
from cifar_search.execution.sizing import worker_count

if TYPE_CHECKING:
    from cifar_search.config.sweep import Sweep
    from cifar_search.engines.base import Candidates, RunReport, Say
    from cifar_search.workspace import Workspace

__all__ = ["KerasTunerEngine"]

#: How the engine scores a candidate, as ``compare`` says it.
SCORING = "train/validation split, KerasTuner's oracle"


def _refuse(key: str, value: Any, allowed: str) -> None:
    raise ConfigError(key, f"{value!r} is not allowed; {allowed}")


class KerasTunerEngine:
    """KerasTuner's random, grid, Bayesian and Hyperband oracles on cifar_search's workers."""

    name: ClassVar[str] = "kerastuner"
    trains_in_workers: ClassVar[bool] = True
    settings: ClassVar[tuple[str, ...]] = tuple(
        f.name for f in dataclasses.fields(KerasTunerOptions))
    dashboard: ClassVar[bool] = False

    def check_options(self, sweep: Sweep) -> None:
        """Its options: the oracle (with this engine only), its options checked."""
        KerasTunerOptions.of(sweep).check(sweep)

    def check(self, sweep: Sweep) -> None:
        """Refuse what KerasTuner cannot do, naming the key (no TensorFlow is imported)."""
        from cifar_search.engines.kerastuner import scheduler
        from cifar_search.engines.kerastuner.space import specs

        optuna = "; use engine 'optuna'"
        if sweep.objective.several:
            _refuse("objective.metric", list(sweep.objective.metrics), "engine 'kerastuner' "
                    "scores each trial on one metric (a KerasTuner oracle has one objective)"
                    + optuna)
        oracle = KerasTunerOptions.of(sweep).oracle
        if oracle is None and sweep.sampler.kind not in ("grid", "random"):
            _refuse("sampler", sweep.sampler.kind, "engine 'kerastuner' needs an oracle: "
                    "options.kerastuner.oracle='random', 'grid', 'bayesian' or 'hyperband' "
                    "(or sampler 'grid' or 'random')")
        if oracle is None:
            check_trials(sweep, "sampler", sweep.sampler.kind, sweep.sampler.kind == "grid")
        else:
            check_trials(sweep, "oracle", oracle.kind, exhaustive(oracle))
        if sweep.pruner.kind != "none":
            _refuse("pruner", sweep.pruner.kind, "engine 'kerastuner' takes no Optuna pruner "
                    "(oracle 'hyperband' stops poor trials early)" + optuna)
        if sweep.repeats != 1:
            _refuse("repeats", sweep.repeats, "engine 'kerastuner' trains each trial once"
                    + optuna)
        if sweep.constraints:
            _refuse("constraints", as_limits(sweep.parsed_constraints), "engine 'kerastuner' "
                    "has no constraints: its oracles know one objective and no infeasible "
                    "trial" + optuna)
        if sweep.warm_start is not None:
            _refuse("warm_start", sweep.warm_start, "engine 'kerastuner' cannot add trials "
                    "of an earlier study to its oracle; warm starts add them to an Optuna "
                    "study" + optuna)
        if sweep.sampler.options:
            _refuse("sampler.options", dict(sweep.sampler.options), "Optuna sampler options "
                    "do not apply to engine 'kerastuner'; give Oracle(kind, options)")
        max_epochs = scheduler.oracle_options(sweep).get("max_epochs", sweep.budget.epochs)
        if max_epochs > sweep.budget.epochs:
            raise ConfigError("oracle.options", f"max_epochs={max_epochs} is not allowed; "
                              f"Hyperband trains at most budget.epochs={sweep.budget.epochs}")
        if not hasattr(sweep.space, "params"):
            return  # a space file not read yet
        if scheduler.oracle_kind(sweep) == "grid":
            sweep.space.grid()
        specs(sweep.space)

    def worker_count(self, sweep: Sweep) -> int:
        """One worker per core for ``workers="auto"`` (the oracle adapts to results)."""
        return worker_count(sweep)

    def run(self, sweep: Sweep, workspace: Workspace, say: Say,
            progress: Any = None) -> RunReport:
        """Run (or resume) the sweep to its number of trials."""
        from cifar_search.engines.kerastuner.coordinator import run_sweep

        _check_storage(workspace)
        return run_sweep(sweep, workspace, say, progress)

    def study(self, sweep: Sweep, workspace: Workspace) -> Any:
        """The engine's records as an in-memory Optuna study, or None before the first run."""
        from cifar_search.engines.kerastuner.coordinator import record_store
        from cifar_search.engines.kerastuner.study_view import study_of

        store = record_store(sweep, workspace)
        if not store.exists():
            return None
        return study_of(store.records(), store.study(), sweep)

    def live_study(self, sweep: Sweep, workspace: Workspace, create: bool = False) -> None:
        """None: the engine's records are its own files (read as an in-memory study), no
        Optuna storage."""
        return None

    def check_resumable(self, sweep: Sweep, workspace: Workspace) -> None:
        """Refuse when the sweep never ran with this engine or has nothing left to do."""
        from cifar_search.engines.kerastuner import scheduler
        from cifar_search.engines.kerastuner.coordinator import record_store

        _check_storage(workspace)
        store = record_store(sweep, workspace)
        if not store.exists():
            raise NoStudyError(f"{sweep.source}: no KerasTuner search {sweep.name!r} to "
                               f"resume; start it with python -m cifar_search run "
                               f"{sweep.source} --engine kerastuner")
        plan, records = scheduler.Plan.of(sweep), store.records()
        done = scheduler.finished(records)
        if done >= plan.target and not scheduler.running(records):
            raise ConfigError("", f"KerasTuner search {sweep.name!r} is finished ({done}/"
                              f"{plan.target} trials); nothing to resume (raise --trials "
                              "to run more)", sweep.source)

    def in_flight(self, sweep: Sweep, workspace: Workspace, repair: bool,
                  say: Say) -> None:
        """None: its sweeps run on one machine, and the sweep's lock tells."""
        return None

    def candidates(self, sweep: Sweep, workspace: Workspace) -> list[Candidates]:
        """The records' complete trials grouped by candidate (table None: not run yet)."""
        from cifar_search.engines.base import Candidates
        from cifar_search.session.candidates import candidates_of

        table, run_id = candidates_of(self.study(sweep, workspace), sweep)
        return [Candidates(self.name, table, "--engine kerastuner", scoring=SCORING,
                           run_id=run_id)]


def _check_storage(workspace: Workspace) -> None:
    """The engine runs on one machine: its oracle lives in the workspace folder."""
    if workspace.storage is not None:
        raise ConfigError("--storage", f"{workspace.shown_optuna_url} is not allowed; engine "
                          "'kerastuner' runs on one machine (its oracle lives in the "
                          "workspace folder); for shared storage use engine 'optuna'")

"""The sklearn engine: scikeras' KerasClassifier in GridSearchCV / RandomizedSearchCV.

The plug-in (:class:`SklearnEngine`) is all the registry sees; the work is in private-ish
modules: :mod:`.estimator` (the KerasClassifier and its scorers), :mod:`.params` (the space as
grids and distributions), :mod:`.results` (``cv_results_`` as a candidates table) and
:mod:`.engine` (checks, the search, its MLflow runs). Importing this package imports neither
TensorFlow nor scikit-learn.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from cifar_search.config.checks import check_trials
from cifar_search.config.constraints import as_limits
from cifar_search.engines.base import Candidates, RunReport
from cifar_search.engines.sklearn.options import SklearnOptions
from cifar_search.errors import ConfigError, NoStudyError
from cifar_search.execution.sizing import worker_count

if TYPE_CHECKING:
    from cifar_search.config.sweep import Sweep
    from cifar_search.engines.base import Say
    from cifar_search.workspace import Workspace


__all__ = ["SklearnEngine"]


def _refuse(key: str, value: Any, allowed: str) -> None:
    raise ConfigError(key, f"{value!r} is not allowed; {allowed}")


#: Why GPU placement is refused: joblib's loky workers start and are reused by joblib, which
#: gives no hook to set a worker's ``CUDA_VISIBLE_DEVICES`` before its TensorFlow starts, and
#: with ``n_jobs=1`` the fits run in the coordinator itself.
_UNPLACED = ("engine 'sklearn' fits in joblib's processes, which are not placed on GPUs (each "
             "sees every GPU, memory growing as needed)")


def _check_gpus(sweep: Sweep) -> None:
    """Refuse GPU placement, which its joblib workers cannot honour (see :data:`_UNPLACED`)."""
    if sweep.compute.gpus_per_trial is not None:
        _refuse("compute.gpus_per_trial", sweep.compute.gpus_per_trial, f"{_UNPLACED}: leave "
                "gpus_per_trial unset, or use engine 'optuna' or 'kerastuner'")
    if sweep.compute.gpus is not None:
        _refuse("compute.gpus", sweep.compute.gpus, f"{_UNPLACED}: leave gpus unset and start "
                "run with CUDA_VISIBLE_DEVICES=0,2 to choose its GPUs")


class SklearnEngine:
    """Cross-validates every candidate in one process (or joblib's); not resumable."""

    name: ClassVar[str] = "sklearn"
    trains_in_workers: ClassVar[bool] = False
    settings: ClassVar[tuple[str, ...]] = tuple(
        f.name for f in dataclasses.fields(SklearnOptions))
    dashboard: ClassVar[bool] = False

    def check_options(self, sweep: Sweep) -> None:
        """Its options: folds, parallel fits, the as-written mode (with this engine only)."""
        SklearnOptions.of(sweep).check(sweep)

    def check(self, sweep: Sweep) -> None:
        """GridSearchCV and RandomizedSearchCV, no pruner."""
        if sweep.sampler.kind not in ("grid", "random"):  # first: other kinds never run here
            _refuse("sampler", sweep.sampler.kind, "engine 'sklearn' runs sampler 'grid' "
                    "(GridSearchCV) or 'random' (RandomizedSearchCV)")
        check_trials(sweep, "sampler", sweep.sampler.kind, sweep.sampler.kind == "grid")
        unscored = [m for m in sweep.objective.metrics if m not in ("val_accuracy", "val_loss")]
        if unscored:
            _refuse("objective.metric", unscored[0], "engine 'sklearn' scores val_accuracy "
                    "and val_loss (scikit-learn's multi-metric scoring); use engine 'optuna' "
                    f"for {unscored[0]}")
        if sweep.pruner.kind != "none":
            _refuse("pruner", sweep.pruner.kind, "engine 'sklearn' cross-validates every "
                    "candidate fully; use pruner 'none'")
        if sweep.constraints:
            _refuse("constraints", as_limits(sweep.parsed_constraints), "engine 'sklearn' has no "
                    "constraints: GridSearchCV fits and scores every candidate alike; use "
                    "engine 'optuna'")
        if sweep.warm_start is not None:
            _refuse("warm_start", sweep.warm_start, "engine 'sklearn' searches afresh each "
                    "run; warm starts add trials to an Optuna study: use engine 'optuna'")
        if sweep.compute.backend != "tensorflow":
            _refuse("compute.backend", sweep.compute.backend, "engine 'sklearn' trains "
                    "scikeras models on TensorFlow in its own processes: backend 'tensorflow'")
        _check_gpus(sweep)

    def worker_count(self, sweep: Sweep) -> int:
        """One worker per core for ``workers="auto"`` (the joblib jobs: ``n_jobs``)."""
        return worker_count(sweep)

    def run(self, sweep: Sweep, workspace: Workspace, say: Say,
            progress: Any = None) -> RunReport:
        """Cross-validate every candidate and record the search in MLflow, holding the sweep's
        lock (see :func:`.engine.run_search`); ``progress`` is unused: GridSearchCV reports
        nothing until every fit is done."""
        from cifar_search.engines.sklearn.engine import run_search
        from cifar_search.quiet import import_tensorflow

        import_tensorflow("scikeras")  # TensorFlow trains in this process
        lock = workspace.lock(sweep.name)
        try:
            result = run_search(sweep, workspace, say)
        finally:
            lock.close()
        return RunReport(lines=[
            f"{len(result.table)} candidates cross-validated in {result.seconds:.0f} s; "
            f"compare the engines: python -m cifar_search compare {sweep.source}"])

    def study(self, sweep: Sweep, workspace: Workspace) -> Any:
        """None: the engine keeps no Optuna study (its record is the MLflow parent run)."""
        return None

    def live_study(self, sweep: Sweep, workspace: Workspace, create: bool = False) -> None:
        """None: the engine keeps no Optuna storage."""
        return None

    def check_resumable(self, sweep: Sweep, workspace: Workspace) -> None:
        """Always refuses: a search runs in one go, and each run is a new search."""
        raise NoStudyError(f"{sweep.source}: engine 'sklearn' cannot resume (GridSearchCV "
                           "fits every candidate in one go; each run is a new search); start "
                           f"one with python -m cifar_search run {sweep.source} --engine sklearn")

    def in_flight(self, sweep: Sweep, workspace: Workspace, repair: bool,
                  say: Say) -> None:
        """None: its sweeps run on one machine, and the sweep's lock tells."""
        return None

    def candidates(self, sweep: Sweep, workspace: Workspace) -> list[Candidates]:
        """The newest finished search of each variant (fixed, as written), None when not run."""
        from cifar_search.engines.sklearn.engine import latest_table
        from cifar_search.engines.sklearn.results import compare_table

        fixed, as_written = (compare_table(latest_table(workspace, sweep.name, variant))
                             for variant in ("fixed", "as_written"))
        return [Candidates("sklearn", fixed, "--engine sklearn",
                           scoring=f"{SklearnOptions.of(sweep).cv}-fold cross-validation"),
                Candidates("as-written", as_written, "--engine sklearn --as-written")]

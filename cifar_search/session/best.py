"""The best model's test-set evaluation, in an idle worker, once per best trial."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from cifar_search.config.user_model import Model
from cifar_search.execution.local import WorkerPool
from cifar_search.execution.protocol import Evaluated, EvaluateTask, Failed
from cifar_search.search.states import Attr, StudyAttr
from cifar_search.session.pool import POLL_SECONDS


class BestTrial(Protocol):
    """The best trial as an engine's store gives it (an Optuna ``FrozenTrial``)."""

    @property
    def number(self) -> int: ...

    @property
    def user_attrs(self) -> dict[str, Any]: ...


class BestStore(Protocol):
    """What the evaluation reads and writes of an engine's store."""

    def best(self) -> BestTrial | None:
        """The best finished trial (None: none yet)."""

    def attr(self, key: StudyAttr, default: Any = None) -> Any:
        """A study attribute."""

    def set_attr(self, key: StudyAttr, value: Any) -> None:
        """Record a study attribute."""


def evaluate_best(store: BestStore, pool: WorkerPool, data_dir: Path,
                  say: Callable[[str], None],
                  locate: Callable[[int, str], str] = lambda number, path: path,
                  meanwhile: Callable[[], None] = lambda: None,
                  user_model: Model | None = None) -> dict[str, Any] | None:
    """Evaluate the best trial's model on the test set in an idle worker (once per best
    trial); its test results, or None. ``locate(number, recorded_path)`` finds the model on
    this machine; ``meanwhile()`` runs here while the worker evaluates (e.g. drawing the
    summary's plots); ``user_model``: the sweep's own model (its file packaged with it)."""
    best = store.best()
    if best is None or store.attr(StudyAttr.TEST_EVALUATED_TRIAL) == best.number:
        return None
    model_path = best.user_attrs.get(Attr.MODEL_PATH)
    if not model_path:
        return None
    model_path = locate(best.number, model_path)
    worker = pool.wait_idle(POLL_SECONDS)
    worker.send(EvaluateTask(model_path, str(data_dir), str(mlflow_model_dir(model_path)),
                             user_model))
    meanwhile()
    message = pool.result_of(worker, POLL_SECONDS)
    if not isinstance(message, Evaluated):
        reason = message.reason if isinstance(message, Failed) else "worker died"
        say(f"could not evaluate trial {best.number} on the test set: {reason}")
        return None
    store.set_attr(StudyAttr.TEST_EVALUATED_TRIAL, best.number)
    return {**message.results, "trial": best.number, "model_path": model_path}


def mlflow_model_dir(model_path: str) -> Path:
    """Where the worker saves the best model as an MLflow Model folder for the tracker to log
    (beside the model; emptied first)."""
    folder = Path(model_path).parent / "mlflow_model"
    shutil.rmtree(folder, ignore_errors=True)
    return folder

"""One trial: parameters → model → fit → objective value. Runs inside a worker process.

The objective stays short: building is :mod:`cifar_search.models`, data is
:mod:`cifar_search.data`, and reporting each epoch to the coordinator (which logs to MLflow and
asks the pruner) is the :class:`EpochReporter` callback.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

import keras

from cifar_search import data, models
from cifar_search.tasks import TrialResult, TrialTask

#: Called after every epoch with (epoch, logs); returns False to prune the trial.
EpochHook = Callable[[int, dict[str, float]], bool]


class EpochReporter(keras.callbacks.Callback):
    """Sends each epoch's metrics to the coordinator; stops training when told to prune."""

    def __init__(self, hook: EpochHook) -> None:
        super().__init__()
        self.hook = hook
        self.pruned = False
        self.epochs = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epochs = epoch + 1
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        if not self.hook(epoch, metrics):
            self.pruned = True
            self.model.stop_training = True


def _callbacks(task: TrialTask, reporter: EpochReporter) -> list[keras.callbacks.Callback]:
    """The reporter, plus early stopping when the budget has a patience."""
    callbacks: list[keras.callbacks.Callback] = [reporter]
    if task.patience is not None:
        callbacks.insert(0, keras.callbacks.EarlyStopping(
            monitor=task.metric, mode="min" if task.direction == "minimize" else "max",
            patience=task.patience, restore_best_weights=True,
        ))
    return callbacks


def _final_value(task: TrialTask, history: dict[str, list[float]]) -> float | None:
    """The objective of the final model: the last epoch, or the best one when early stopping
    restored the best weights."""
    values = history.get(task.metric) or []
    if not values:
        return None
    if task.patience is not None:
        return min(values) if task.direction == "minimize" else max(values)
    return values[-1]


def run_trial(task: TrialTask, hook: EpochHook) -> TrialResult:
    """Train one trial from a clean Keras session; return its result.

    Raises:
        cifar_search.errors.TrialError: the parameters cannot be built into a model.
        FloatingPointError: training diverged (the loss became NaN).
    """
    started = time.perf_counter()
    keras.backend.clear_session()
    keras.utils.set_random_seed(task.seed)
    split = data.load_split(Path(task.data_dir), task.validation, task.subset, task.split_seed)
    model = models.build_model(task.family, task.params, split.input_shape, split.num_classes)
    models.compile_model(model, task.params)
    reporter = EpochReporter(hook)
    history = model.fit(
        split.x_train, split.y_train,
        validation_data=(split.x_val, split.y_val),
        epochs=task.epochs,
        batch_size=int(task.params.get("batch_size", task.batch_size)),
        callbacks=_callbacks(task, reporter),
        verbose=0,
    ).history
    value = _final_value(task, history)
    if value is not None and not math.isfinite(value):
        raise FloatingPointError(f"{task.metric} is {value} after epoch {reporter.epochs}; "
                                 "training diverged (try a smaller learning rate)")
    model_path = None
    if not reporter.pruned:
        model_path = str(Path(task.trial_dir) / "model.keras")
        Path(task.trial_dir).mkdir(parents=True, exist_ok=True)
        model.save(model_path)
    return TrialResult(
        state="pruned" if reporter.pruned else "complete",
        value=value,
        epochs=reporter.epochs,
        config=models.describe(model),
        model_path=model_path,
        seconds=time.perf_counter() - started,
    )


def evaluate(model_path: str, data_dir: str) -> dict:
    """Test loss, accuracy and confusion matrix of a saved model."""
    import numpy as np

    keras.backend.clear_session()
    model = keras.models.load_model(model_path)
    x_test, y_test = data.load_test(Path(data_dir))
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    predicted = np.argmax(model.predict(x_test, batch_size=256, verbose=0), axis=1)
    classes = data.read_meta(Path(data_dir))["classes"]
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(matrix, (y_test.astype(int), predicted), 1)
    return {"test_loss": float(loss), "test_accuracy": float(accuracy),
            "confusion_matrix": matrix.tolist(), "classes": list(classes)}

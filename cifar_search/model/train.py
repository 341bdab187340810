"""The trainer: one trial's parameters → model → fit → objective value. Runs inside a worker.

The trainer stays short: building is :mod:`cifar_search.model.build`, data is
:mod:`cifar_search.model.data`, the per-epoch checkpoint is :mod:`cifar_search.model.checkpoint`
(called by the :class:`Checkpoint` callback), and reporting each epoch to the coordinator (which
logs to MLflow and asks the pruner) is :class:`EpochReporter`, through the worker's hook.

A trial that continues an interrupted one starts from that trial's last checkpoint: weights,
optimizer state and epoch counter, so at most the epoch in progress is lost.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

import keras

from cifar_search.execution.protocol import Reply, RunEnd, TrialResult, TrialTask
from cifar_search.model import build, checkpoint, data, pipeline

__all__ = ["Checkpoint", "EpochHook", "EpochReporter", "evaluate", "run_trial"]

#: Called after every epoch with (epoch, logs); answers whether training goes on.
EpochHook = Callable[[int, dict[str, float]], Reply]

#: How a run ended, by the last reply to an epoch report (anything else: stopped).
_ENDS = {Reply.CONTINUE: RunEnd.COMPLETE, Reply.PRUNE: RunEnd.PRUNED}

#: The final model of a complete trial, in its trial folder.
MODEL_FILE = "model.keras"


class Checkpoint(keras.callbacks.Callback):
    """Saves the trial's checkpoint after every epoch (:func:`cifar_search.model.checkpoint.save`)
    and keeps the history of every epoch, including those of the run it continues."""

    def __init__(self, folder: Path, history: list[dict[str, float]]) -> None:
        super().__init__()
        self.folder = folder
        self.history = list(history)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.history.append({k: float(v) for k, v in (logs or {}).items()})
        checkpoint.save(self.folder, self.model, self.history, epochs=epoch + 1)


class EpochReporter(keras.callbacks.Callback):
    """Sends each epoch's metrics (and its seconds) through the hook; stops training when the
    reply is to prune or to stop."""

    def __init__(self, hook: EpochHook, start: int, started: float) -> None:
        super().__init__()
        self.hook = hook
        self.epochs = start
        self.outcome = Reply.CONTINUE
        self.started = started
        self.startup_seconds: float | None = None
        self.epoch_started = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.startup_seconds = time.perf_counter() - self.started

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epochs = epoch + 1
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        metrics["epoch_seconds"] = time.perf_counter() - self.epoch_started
        reply = self.hook(epoch, metrics)
        if reply != Reply.CONTINUE:
            self.outcome = reply
            self.model.stop_training = True


def run_trial(task: TrialTask, hook: EpochHook) -> TrialResult:
    """Train one trial from a clean Keras session and dtype policy; return its result.

    Args:
        task: the trial, its budget, data and folders.
        hook: called after every epoch with ``(epoch, logs)``; its :class:`Reply` says whether
            training goes on, the trial is pruned, or the sweep is stopping.

    Raises:
        cifar_search.errors.TrialError: the parameters cannot be built into a model.
        FloatingPointError: training diverged (the objective became NaN or infinite).
    """
    started = time.perf_counter()
    _start_clean(task)
    split = data.load_split(Path(task.data_dir), task.validation, task.subset, task.split_seed,
                            scaled=False)  # uint8: the pipeline scales each batch
    model, state = _model(task, split)
    saver = Checkpoint(Path(task.trial_dir), state["history"])
    reporter = EpochReporter(hook, start=state["epochs"], started=started)
    _fit(task, model, split, state["epochs"], _callbacks(task, saver, reporter))
    value = _final_value(task, saver.history)
    if value is not None and not math.isfinite(value):
        raise FloatingPointError(f"{task.metric} is {value} after epoch {reporter.epochs}; "
                                 "training diverged (try a smaller learning rate)")
    end = _ENDS.get(reporter.outcome, RunEnd.STOPPED)
    model_path = _save_model(task, model) if end is RunEnd.COMPLETE else None
    config = {**build.describe(model), "startup_seconds": reporter.startup_seconds}
    return TrialResult(state=end, value=value, epochs=reporter.epochs, config=config,
                       model_path=model_path, seconds=time.perf_counter() - started)


def evaluate(model_path: str, data_dir: str) -> dict:
    """Test loss, accuracy and confusion matrix of a saved model.

    Returns:
        ``{"test_loss", "test_accuracy", "confusion_matrix", "classes"}``.
    """
    import numpy as np

    build.clear_session()
    model = keras.models.load_model(model_path)
    x_test, y_test = data.load_test(Path(data_dir))
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    predicted = np.argmax(model.predict(x_test, batch_size=256, verbose=0), axis=1)
    classes = data.read_meta(Path(data_dir))["classes"]
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(matrix, (y_test.astype(int), predicted), 1)
    return {"test_loss": float(loss), "test_accuracy": float(accuracy),
            "confusion_matrix": matrix.tolist(), "classes": list(classes)}


def _start_clean(task: TrialTask) -> None:
    """A clean Keras session, the trial's dtype policy (a process global) and its seed."""
    build.clear_session()
    build.set_precision(task.mixed_precision)
    keras.utils.set_random_seed(task.seed)


def _batch_size(task: TrialTask) -> int:
    """The trial's batch size: its ``batch_size`` parameter, else the budget's."""
    return int(task.params.get("batch_size", task.batch_size))


def _model(task: TrialTask, split: data.Split) -> tuple[keras.Model, dict[str, Any]]:
    """The interrupted trial's checkpoint when there is one, else a new compiled model; with
    the state to go on from (``{"epochs": k, "history": [...]}``)."""
    restored = checkpoint.restore(task.resume_dir) if task.resume_dir else None
    if restored is not None:
        return restored
    model = build.build_model(task.family, task.params, split.input_shape, split.num_classes)
    total_steps = math.ceil(len(split.x_train) / _batch_size(task)) * task.epochs
    build.compile_model(model, task.params, task.xla, task.steps_per_execution, total_steps)
    return model, {"epochs": 0, "history": []}


def _callbacks(task: TrialTask, saver: Checkpoint,
               reporter: EpochReporter) -> list[keras.callbacks.Callback]:
    """Checkpoint, then report (so a reported epoch is always saved); early stopping first."""
    callbacks: list[keras.callbacks.Callback] = [saver, reporter]
    if task.patience is not None:
        callbacks.insert(0, keras.callbacks.EarlyStopping(
            monitor=task.metric, mode="min" if task.direction == "minimize" else "max",
            patience=task.patience, restore_best_weights=True,
        ))
    return callbacks


def _fit(task: TrialTask, model: keras.Model, split: data.Split, first_epoch: int,
         callbacks: list[keras.callbacks.Callback]) -> None:
    """Fit from ``first_epoch`` to the budget on the trial's seeded input pipeline."""
    batch_size = _batch_size(task)
    model.fit(
        pipeline.batches(split.x_train, split.y_train, batch_size, seed=task.seed,
                         first_epoch=first_epoch),
        shuffle=False,  # the pipeline reshuffles every epoch itself
        validation_data=pipeline.batches(split.x_val, split.y_val, batch_size),
        epochs=task.epochs,
        initial_epoch=first_epoch,
        callbacks=callbacks,
        verbose=0,
    )


def _final_value(task: TrialTask, history: list[dict[str, float]]) -> float | None:
    """The objective of the final model: the last epoch, or the best one when early stopping
    restored the best weights."""
    values = [epoch[task.metric] for epoch in history if task.metric in epoch]
    if not values:
        return None
    if task.patience is not None:
        return min(values) if task.direction == "minimize" else max(values)
    return values[-1]


def _save_model(task: TrialTask, model: keras.Model) -> str:
    """Save a complete trial's final model in its trial folder; return its path."""
    path = str(Path(task.trial_dir) / MODEL_FILE)
    model.save(path)
    return path

"""One trial: parameters → model → fit → objective value. Runs inside a worker process.

The objective stays short: building is :mod:`cifar_search.model.build`, data is
:mod:`cifar_search.model.data`, the per-epoch checkpoint is :class:`Checkpoint`, and reporting each
epoch to the coordinator (which logs to MLflow and asks the pruner) is :class:`EpochReporter`.

A trial that continues an interrupted one starts from that trial's last checkpoint: weights,
optimizer state and epoch counter, so at most the epoch in progress is lost.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Callable

import keras

from cifar_search.model import data
from cifar_search.model import build as models
from cifar_search.model import pipeline
from cifar_search.execution.protocol import CHECKPOINT, CONTINUE, PRUNE, STATE, TrialResult, TrialTask, read_state

#: Called after every epoch with (epoch, logs); returns CONTINUE, PRUNE or STOP.
EpochHook = Callable[[int, dict[str, float]], str]

def _seed_states(model: keras.Model) -> list[Any]:
    """The states of the model's random layers (dropout, augmentation), which ``model.save``
    does not keep: a resumed trial needs them to draw what it would have drawn."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


class Checkpoint(keras.callbacks.Callback):
    """Saves the model (weights and optimizer state), its random layers' states and the
    history after every epoch, atomically, so a killed trial can continue from its last
    completed epoch exactly as it would have gone on."""

    def __init__(self, folder: Path, history: list[dict[str, float]]) -> None:
        super().__init__()
        self.folder = folder
        self.history = list(history)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.history.append({k: float(v) for k, v in (logs or {}).items()})
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{CHECKPOINT}"
        self.model.save(partial)
        os.replace(partial, self.folder / CHECKPOINT)
        state = self.folder / f".{STATE}"
        seeds = [v.numpy().tolist() for v in _seed_states(self.model)]
        state.write_text(json.dumps({"epochs": epoch + 1, "history": self.history,
                                     "seed_states": seeds}))
        os.replace(state, self.folder / STATE)


class EpochReporter(keras.callbacks.Callback):
    """Sends each epoch's metrics to the coordinator; stops training when told to prune or
    to stop."""

    def __init__(self, hook: EpochHook, start: int, started: float) -> None:
        super().__init__()
        self.hook = hook
        self.epochs = start
        self.outcome = CONTINUE
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
        if reply != CONTINUE:
            self.outcome = reply
            self.model.stop_training = True


def _callbacks(task: TrialTask, checkpoint: Checkpoint,
               reporter: EpochReporter) -> list[keras.callbacks.Callback]:
    """Checkpoint, then report (so a reported epoch is always saved); early stopping first."""
    callbacks: list[keras.callbacks.Callback] = [checkpoint, reporter]
    if task.patience is not None:
        callbacks.insert(0, keras.callbacks.EarlyStopping(
            monitor=task.metric, mode="min" if task.direction == "minimize" else "max",
            patience=task.patience, restore_best_weights=True,
        ))
    return callbacks


def _final_value(task: TrialTask, history: list[dict[str, float]]) -> float | None:
    """The objective of the final model: the last epoch, or the best one when early stopping
    restored the best weights."""
    values = [epoch[task.metric] for epoch in history if task.metric in epoch]
    if not values:
        return None
    if task.patience is not None:
        return min(values) if task.direction == "minimize" else max(values)
    return values[-1]


def _batch_size(task: TrialTask) -> int:
    return int(task.params.get("batch_size", task.batch_size))


def _model(task: TrialTask, split: data.Split) -> tuple[keras.Model, dict[str, Any]]:
    """The interrupted trial's checkpoint when there is one, else a new compiled model.

    A checkpoint holds the optimizer with its step counter, so a learning-rate schedule goes on
    where it stopped."""
    state = read_state(task.resume_dir) if task.resume_dir else None
    if state is not None:
        model = keras.models.load_model(Path(task.resume_dir) / CHECKPOINT)
        for variable, value in zip(_seed_states(model), state.get("seed_states", [])):
            variable.assign(value)
        return model, state
    model = models.build_model(task.family, task.params, split.input_shape, split.num_classes)
    total_steps = math.ceil(len(split.x_train) / _batch_size(task)) * task.epochs
    models.compile_model(model, task.params, task.xla, task.steps_per_execution, total_steps)
    return model, {"epochs": 0, "history": []}


def run_trial(task: TrialTask, hook: EpochHook) -> TrialResult:
    """Train one trial from a clean Keras session and dtype policy; return its result.

    Raises:
        cifar_search.errors.TrialError: the parameters cannot be built into a model.
        FloatingPointError: training diverged (the objective became NaN or infinite).
    """
    started = time.perf_counter()
    models.clear_session()
    models.set_precision(task.mixed_precision)  # a process global: set for every trial
    keras.utils.set_random_seed(task.seed)
    split = data.load_split(Path(task.data_dir), task.validation, task.subset, task.split_seed,
                            scaled=False)  # uint8: the pipeline scales each batch
    model, state = _model(task, split)
    checkpoint = Checkpoint(Path(task.trial_dir), state["history"])
    reporter = EpochReporter(hook, start=state["epochs"], started=started)
    batch_size = _batch_size(task)
    model.fit(
        pipeline.batches(split.x_train, split.y_train, batch_size, seed=task.seed,
                         first_epoch=state["epochs"]),
        shuffle=False,  # the pipeline reshuffles every epoch itself
        validation_data=pipeline.batches(split.x_val, split.y_val, batch_size),
        epochs=task.epochs,
        initial_epoch=state["epochs"],
        callbacks=_callbacks(task, checkpoint, reporter),
        verbose=0,
    )
    value = _final_value(task, checkpoint.history)
    if value is not None and not math.isfinite(value):
        raise FloatingPointError(f"{task.metric} is {value} after epoch {reporter.epochs}; "
                                 "training diverged (try a smaller learning rate)")
    state_name = {CONTINUE: "complete", PRUNE: "pruned"}.get(reporter.outcome, "stopped")
    model_path = None
    if state_name == "complete":
        model_path = str(Path(task.trial_dir) / "model.keras")
        model.save(model_path)
    config = {**models.describe(model), "startup_seconds": reporter.startup_seconds}
    return TrialResult(state=state_name, value=value, epochs=reporter.epochs, config=config,
                       model_path=model_path, seconds=time.perf_counter() - started)


def evaluate(model_path: str, data_dir: str) -> dict:
    """Test loss, accuracy and confusion matrix of a saved model."""
    import numpy as np

    models.clear_session()
    model = keras.models.load_model(model_path)
    x_test, y_test = data.load_test(Path(data_dir))
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    predicted = np.argmax(model.predict(x_test, batch_size=256, verbose=0), axis=1)
    classes = data.read_meta(Path(data_dir))["classes"]
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(matrix, (y_test.astype(int), predicted), 1)
    return {"test_loss": float(loss), "test_accuracy": float(accuracy),
            "confusion_matrix": matrix.tolist(), "classes": list(classes)}

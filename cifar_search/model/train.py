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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from cifar_search.config.constraints import violations
from cifar_search.config.measures import MEASURES
from cifar_search.config.user_model import Model
from cifar_search.execution.protocol import Reply, RunEnd, TrialResult, TrialTask
from cifar_search.model import (
    build,
    checkpoint,
    data,
    feed,
    latency,
    parallel,
    stopping,
    user,
)

__all__ = ["Checkpoint", "EpochHook", "EpochReporter", "evaluate", "run_trial"]

#: Called after every epoch with (epoch, logs); answers whether training goes on.
EpochHook = Callable[[int, dict[str, float]], Reply]

#: How a run ended, by the last reply to an epoch report (anything else: stopped).
_ENDS = {Reply.CONTINUE: RunEnd.COMPLETE, Reply.PRUNE: RunEnd.PRUNED, Reply.MOVE: RunEnd.MOVED}

#: The final model of a complete trial, in its trial folder.
MODEL_FILE = "model.keras"
#: Beside it: the data it was trained on (class subset, validation set), for its test.
DATA_FILE = "data.json"


class Checkpoint(keras.callbacks.Callback):
    """Saves the trial's checkpoint after every epoch (:func:`cifar_search.model.checkpoint.save`)
    and keeps the history of every epoch, including those of the run it continues.

    It runs after the epoch's report (:class:`EpochReporter`), so that the save is the owner's:
    a trial that another machine took over meanwhile (``owned`` False) writes nothing more
    into a folder its new owner may be reading, and a worker whose coordinator died never
    gets its answer and ends before it writes."""

    def __init__(self, folder: Path, history: list[dict[str, float]],
                 stopper: stopping.EarlyStop | None = None,
                 user_model: Model | None = None,
                 owned: Callable[[], bool] = lambda: True, spent: float = 0.0) -> None:
        super().__init__()
        self.folder = folder
        self.history = list(history)
        self.stopper = stopper
        self.user_model = user_model  # the sweep's own model, until its checkpoint reloads
        self.owned = owned
        self.spent = spent  # seconds the runs this one continues spent fitting
        self.fit_started = time.perf_counter()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.fit_started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.history.append({k: float(v) for k, v in (logs or {}).items()})
        if not self.owned():
            return
        extra: dict[str, Any] = {checkpoint.TRAIN_SECONDS: checkpoint.train_seconds(
            {checkpoint.TRAIN_SECONDS: self.spent}, time.perf_counter() - self.fit_started)}
        if self.stopper:
            extra[checkpoint.STOPPING] = self.stopper.state()
        checkpoint.save(self.folder, self.model, self.history, epochs=epoch + 1, extra=extra)
        if self.user_model is not None:  # its first checkpoint must load back
            model, self.user_model = self.user_model, None
            user.check_reloads(model, self.folder / checkpoint.model_file(epoch + 1))


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


class Divergence(keras.callbacks.Callback):
    """Stops training at the first epoch whose loss or objective is NaN or infinite: the rest
    of the budget would train on nothing. ``found`` is ``(name, value, epoch)`` of it."""

    def __init__(self, metric: str) -> None:
        super().__init__()
        self.names = ("loss", metric)
        self.found: tuple[str, float, int] | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for name in self.names:
            value = (logs or {}).get(name)
            if value is not None and not math.isfinite(float(value)):
                self.found = (name, float(value), epoch + 1)
                self.model.stop_training = True
                return


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
                            scaled=False,  # uint8: the pipeline scales each batch
                            classes=_classes(task))
    rule = stopping.rule_of(task.params, task.patience, task.metric)
    with parallel.scope(bool(task.params.get("data_parallel"))):
        model, state = _model(task, split)
        measures = {"params": float(build.trainable_params(model))}
        if violations(task.constraints, measures):  # broken before training: none is spent
            return TrialResult(RunEnd.INFEASIBLE, None, 0, measures=measures,
                               seconds=time.perf_counter() - started)
        stopper = (stopping.resumed(rule, Path(task.trial_dir), state)
                   if rule is not None else None)
        reporter = EpochReporter(hook, start=state["epochs"], started=started)
        train_seconds = checkpoint.train_seconds(state)  # the earlier runs' (a resume)
        saver = Checkpoint(Path(task.trial_dir), state["history"], stopper,
                           task.user_model if not state["epochs"] else None,
                           owned=lambda: reporter.outcome != Reply.LOST, spent=train_seconds)
        diverged = Divergence(task.metric)
        callbacks = [c for c in (stopper, reporter, saver, diverged) if c is not None]
        if stopper is not None and stopper.progress.stopped_epoch:
            stopper.finish(model)  # it had stopped early when interrupted: nothing to train
        else:
            fit_started = time.perf_counter()
            _fit(task, model, split, state["epochs"], callbacks)
            train_seconds += time.perf_counter() - fit_started  # the sum over the runs
    final = _final_logs(task, saver.history, rule, stopper)
    value = final.get(task.metric)
    found = diverged.found
    if found is None and value is not None and not math.isfinite(value):
        found = (task.metric, value, reporter.epochs)  # a kept value of a diverged epoch
    if found is not None:
        name, bad, epoch = found
        raise FloatingPointError(f"{name} is {bad} after epoch {epoch}; training diverged "
                                 "(try a smaller learning rate)")
    end = _ENDS.get(reporter.outcome, RunEnd.STOPPED)
    model_path = _save_model(task, model) if end is RunEnd.COMPLETE else None
    config = {**build.describe(model), "startup_seconds": reporter.startup_seconds,
              "threads": _threads()}
    if end is RunEnd.COMPLETE:  # a pruned trial's metrics are not its final model's
        measures.update({k: v for k, v in final.items() if k in MEASURES})
        measures.update(_latency(task, model, split), train_seconds=train_seconds)
    return TrialResult(state=end, value=value, epochs=reporter.epochs, config=config,
                       model_path=model_path, seconds=time.perf_counter() - started,
                       measures=measures)


def evaluate(model_path: str, data_dir: str, user_model: Model | None = None) -> dict:
    """Test loss, accuracy and confusion matrix of a saved model, on the test images of the
    classes it was trained on (the half that did not validate with ``test_half``; with
    ``validation="test"`` the test set is the validation set, and ``validated_on_test`` says
    so).

    Returns:
        ``{"test_loss", "test_accuracy", "confusion_matrix", "classes", "validated_on_test"}``
        (``classes`` in the order of the model's outputs).
    """
    import json

    import numpy as np

    build.clear_session()
    if user_model is not None:
        user.prepare(user_model)  # its custom layers registered
    model = keras.models.load_model(model_path)
    sidecar = Path(model_path).with_name(DATA_FILE)
    trained = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    classes_kept = tuple(trained["classes"]) if trained.get("classes") else None
    validation = trained.get("validation", 0.2)
    x_test, y_test = data.load_test(Path(data_dir), classes_kept, validation,
                                    int(trained.get("split_seed", 0)))
    outputs = model.predict(x_test, batch_size=256, verbose=0)  # one pass: loss and matrix
    predicted = np.argmax(outputs, axis=1)
    labels = y_test.astype(int).reshape(-1)
    classes = data.class_names(Path(data_dir), classes_kept)
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    return {"test_loss": loss_of(model, labels, outputs),
            "test_accuracy": float(np.mean(predicted == labels)),
            "confusion_matrix": matrix.tolist(), "classes": list(classes),
            "validated_on_test": validation == "test"}


def loss_of(model: keras.Model, labels: Any, outputs: Any) -> float:
    """What ``model.evaluate`` reports as the loss, from outputs already predicted: the compiled
    loss (mean over the images) plus the model's regularisation penalties."""
    loss = keras.losses.get(model.loss) if isinstance(model.loss, str) else model.loss
    total = float(keras.ops.convert_to_numpy(loss(labels, outputs)))
    return total + sum(float(keras.ops.convert_to_numpy(penalty)) for penalty in model.losses)


def _threads() -> int:
    """The threads this process trains with: its TensorFlow intra-op pool, or where the
    worker has no TensorFlow (JAX alone) the thread count its environment was given."""
    from cifar_search.execution.backend import uses_tensorflow

    if not uses_tensorflow():
        import os

        return int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
    import tensorflow as tf

    return int(tf.config.threading.get_intra_op_parallelism_threads())


def _classes(task: TrialTask) -> tuple[str, ...] | None:
    """The trial's class subset (``Data(classes=...)``), or None for every class."""
    names = task.params.get("classes") or ""
    return tuple(names.split(",")) if names else None


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
    if task.user_model is not None and task.resume_dir:
        user.prepare(task.user_model)  # its custom layers registered before they load
    restored = checkpoint.restore(task.resume_dir) if task.resume_dir else None
    if restored is not None:  # the folder it was read from, for early stopping's weights
        return restored[0], {**restored[1], "folder": task.resume_dir}
    total_steps = math.ceil(len(split.x_train) / _batch_size(task)) * task.epochs
    if task.user_model is not None:
        model = user.build_compiled(task.user_model, task.params, split.input_shape,
                                    split.num_classes, task.xla, _steps_per_execution(task),
                                    total_steps)
        return model, {"epochs": 0, "history": []}
    model = build.build_model(task.family, task.params, split.input_shape, split.num_classes)
    build.compile_model(model, task.params, task.xla, _steps_per_execution(task), total_steps)
    return model, {"epochs": 0, "history": []}


def _steps_per_execution(task: TrialTask) -> int:
    """The trial's batches per call into TensorFlow: 1 with data parallelism (Keras' loop of
    several steps per call fails there on an epoch's last, smaller batch)."""
    return 1 if task.params.get("data_parallel") else task.steps_per_execution


def _fit(task: TrialTask, model: keras.Model, split: data.Split, first_epoch: int,
         callbacks: list[keras.callbacks.Callback]) -> None:
    """Fit from ``first_epoch`` to the budget on the trial's seeded input pipeline."""
    batch_size = _batch_size(task)
    batches = feed.batches(split.x_train, split.y_train, batch_size, seed=task.seed,
                           first_epoch=first_epoch)
    model.fit(
        batches,
        shuffle=False,  # the pipeline reshuffles every epoch itself
        validation_data=feed.batches(split.x_val, split.y_val, batch_size),
        epochs=task.epochs,
        initial_epoch=first_epoch,
        callbacks=[*feed.callbacks(batches), *callbacks],
        verbose=0,
    )


def _final_logs(task: TrialTask, history: list[dict[str, float]],
                rule: stopping.StopRule | None = None,
                stopper: stopping.EarlyStop | None = None) -> dict[str, float]:
    """The metrics of the final model (its objective and the other validation metrics): at
    the last epoch that logged the objective, or at the kept epoch when early stopping ends
    with the best epoch's weights; empty when no epoch logged the objective."""
    if not any(task.metric in epoch for epoch in history):
        return {}
    kept = stopper.progress.kept_epoch if stopper is not None and stopper.weights else 0
    if rule is not None and rule.keep_best is not None and kept:
        return history[kept - 1]
    return [epoch for epoch in history if task.metric in epoch][-1]


def _latency(task: TrialTask, model: keras.Model, split: data.Split) -> dict[str, float]:
    """The final model's inference latency when the task names it
    (:mod:`cifar_search.model.latency`), else nothing: it costs a few predictions."""
    if "latency_ms" not in task.measures:
        return {}
    images = split.x_val if len(split.x_val) else split.x_train
    return {"latency_ms": latency.latency_ms(
        model, np.divide(images[:latency.BATCH], 255, dtype="float32")
        if images.dtype == np.uint8 else images[:latency.BATCH])}


def _save_model(task: TrialTask, model: keras.Model) -> str:
    """Save a complete trial's final model in its trial folder, with the data it was trained
    on beside it (for its test); return its path."""
    import json

    path = Path(task.trial_dir) / MODEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)  # a retry that had every epoch trained none
    model.save(str(path))
    trained = {"classes": list(_classes(task) or []), "validation": task.validation,
               "split_seed": task.split_seed}
    (path.parent / DATA_FILE).write_text(json.dumps(trained))
    return str(path)

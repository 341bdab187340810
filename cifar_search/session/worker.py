"""What a worker process runs for each task: train a trial's seed run, or evaluate the best
model on the test set and package it for MLflow.

This is the :class:`~cifar_search.execution.worker.TaskRunner` every session gives its pool;
the process around it (threads, GPU memory, the pipe, Ctrl-C) is
:mod:`cifar_search.execution.worker`'s. TensorFlow, the trainer and MLflow's packaging are
imported when a task first needs them, so the fork server preloads this module for free.
"""

from __future__ import annotations

import traceback
from multiprocessing.connection import Connection
from pathlib import Path

from cifar_search.errors import one_line
from cifar_search.execution.faults import machine_fault
from cifar_search.execution.protocol import (
    Done,
    EpochEnd,
    Evaluated,
    EvaluateTask,
    Failed,
    Faulted,
    Reply,
    Task,
    TrialTask,
)


def run_task(conn: Connection, task: Task) -> None:
    """Run ``task`` and send its messages on ``conn`` (a failure is sent, not raised)."""
    if isinstance(task, TrialTask):
        _train(conn, task)
    else:
        _evaluate(conn, task)


def _failure(error: Exception) -> tuple[str, str]:
    """(one-line reason, traceback) of an exception raised by a task."""
    return f"{type(error).__name__}: {one_line(str(error))}", traceback.format_exc()


def _train(conn: Connection, task: TrialTask) -> None:
    """One seed run of a trial, each epoch reported and answered."""
    from cifar_search.model import train

    def hook(epoch: int, logs: dict[str, float]) -> Reply:
        conn.send(EpochEnd(task.number, epoch, logs))
        return conn.recv()

    try:
        result = train.run_trial(task, hook)
    except Exception as error:  # noqa: BLE001 (whatever training raises fails the trial,
        # unless the machine failed it; the worker lives on)
        fault = machine_fault(error)
        conn.send(Faulted(task.number, fault) if fault else Failed(task.number,
                                                                   *_failure(error)))
    else:
        conn.send(Done(task.number, result))


def _evaluate(conn: Connection, task: EvaluateTask) -> None:
    """The test-set results of a saved model (and its MLflow Model folder when asked)."""
    from cifar_search.model import train

    try:
        results = train.evaluate(task.model_path, task.data_dir, task.user_model)
        if task.mlflow_model_dir:
            results["mlflow_model"] = str(_save_mlflow_model(task, Path(task.mlflow_model_dir),
                                                             results["classes"]))
        conn.send(Evaluated(results))
    except Exception as error:  # noqa: BLE001 (the parent reports why the evaluation failed)
        conn.send(Failed(None, *_failure(error)))


def _save_mlflow_model(task: EvaluateTask, model_dir: Path, classes: list[str]) -> Path:
    """The evaluated model as an MLflow Model folder in ``model_dir``, two test images as its
    examples, the names of its output ``classes`` with it."""
    import keras

    from cifar_search.model import data
    from cifar_search.tracking.packaging import save_keras_model

    model = keras.models.load_model(task.model_path)
    examples = data.load_test(Path(task.data_dir))[0][:2]
    code = task.user_model.file if task.user_model is not None else None
    return save_keras_model(model, model_dir, examples, code, classes)

"""The typed messages between the coordinator and its worker processes.

The coordinator owns the stores; a worker only trains. It is handed a :class:`TrialTask` (or an
:class:`EvaluateTask`), sends one :class:`EpochEnd` per epoch and waits for a :class:`Reply`,
then sends :class:`Done` or :class:`Failed`. Every message is a small frozen dataclass of plain
data (it crosses a pipe). Nothing here imports TensorFlow.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from cifar_search.config.constraints import Constraint
from cifar_search.config.user_model import Model


class Reply(enum.StrEnum):
    """The coordinator's answer to an epoch report."""

    CONTINUE = "continue"
    PRUNE = "prune"
    STOP = "stop"  # the sweep is stopping: end after this epoch, keep the checkpoint
    MOVE = "move"  # end after this epoch: the run goes on from its checkpoint in a wider worker
    LOST = "lost"  # another machine took the trial over: end now and write nothing more


class RunEnd(enum.StrEnum):
    """How a worker's training run ended (a failure is a :class:`Failed` message)."""

    COMPLETE = "complete"
    PRUNED = "pruned"
    STOPPED = "stopped"  # told to stop: the trial is interrupted, its checkpoint kept
    MOVED = "moved"  # told to move: the run goes on from its checkpoint in a wider worker
    INFEASIBLE = "infeasible"  # the built model broke a constraint: not trained


@dataclass(frozen=True)
class TrialTask:
    """Everything a worker needs to train one trial, and nothing it must look up.

    Attributes:
        number: the Optuna trial number.
        params: every hyperparameter of the trial (sampled and fixed).
        family: the model family.
        epochs, batch_size, patience: the training budget (``params["batch_size"]`` wins).
        metric: the objective metric (``val_loss`` or ``val_accuracy``).
        direction: ``minimize`` or ``maximize`` (for early stopping).
        seed: the trial's seed (sweep seed and trial number).
        data_dir: the decoded-data cache folder.
        validation, subset, split_seed: how the training set is split (``validation``: a
            fraction, or the name of a test set that validates, as in ``Data``).
        trial_dir: where the worker writes the trial's checkpoint and model.
        resume_dir: the checkpoint folder this run continues from, or None.
        repeat: which of the trial's seeds this is (0 when the sweep has one repeat).
        mixed_precision: train under the Keras ``mixed_float16`` policy.
        xla: ``jit_compile`` for the model (None: Keras decides).
        steps_per_execution: training batches per call into TensorFlow.
        user_model: the sweep's own model (``family`` is then its function's name), imported
            by the worker from this machine's sweep file; None for a built-in family.
        constraints: the sweep's constraints on what a built model shows before training
            (``params``); a model that breaks one is not trained (:attr:`RunEnd.INFEASIBLE`).
        measures: measures the worker takes of a complete run beyond its history (several
            objectives: ``latency_ms`` is timed only when named here).
    """

    number: int
    params: dict[str, Any]
    family: str
    epochs: int
    batch_size: int
    patience: int | None
    metric: str
    direction: str
    seed: int
    data_dir: str
    validation: float | str
    subset: int | None
    split_seed: int
    trial_dir: str
    resume_dir: str | None = None
    repeat: int = 0
    mixed_precision: bool = False
    xla: bool | None = None
    steps_per_execution: int = 1
    user_model: Model | None = None
    constraints: tuple[Constraint, ...] = ()
    measures: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvaluateTask:
    """Evaluate a saved model on the test set (and save it as an MLflow Model folder in
    ``mlflow_model_dir`` when given); ``user_model``: the sweep's own model, whose file the
    worker imports first (its custom layers)."""

    model_path: str
    data_dir: str
    mlflow_model_dir: str | None = None
    user_model: Model | None = None


@dataclass(frozen=True)
class StopTask:
    """Tells a worker process to exit."""


#: Any work a worker is handed (a :class:`StopTask` only ends the worker).
Task = TrialTask | EvaluateTask


@dataclass
class TrialResult:
    """What a worker reports for a run that ended without failing.

    Attributes:
        state: complete, pruned, stopped (the sweep is stopping), moved (to a wider worker)
            or infeasible (its built model broke a constraint: not trained).
        value: the objective of the final model (None only when pruned before any epoch).
        epochs: epochs trained.
        config: the optimizer, learning rate and activations read back from the compiled model.
        model_path: the saved model (complete trials only).
        seconds: wall time from task received to result.
        measures: ``params`` (trainable parameters of the built model, known before
            training) and, for a complete run, the final model's ``val_loss``,
            ``val_accuracy``, ``train_seconds`` and, when the task names it, ``latency_ms``.
    """

    state: RunEnd
    value: float | None
    epochs: int
    config: dict[str, Any] = field(default_factory=dict)
    model_path: str | None = None
    seconds: float = 0.0
    measures: dict[str, float] = field(default_factory=dict)


# -- worker -> coordinator ------------------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    """The worker has imported TensorFlow and waits for tasks."""

    pid: int


@dataclass(frozen=True)
class EpochEnd:
    """One epoch of a trial's run (``epoch`` counts from 0); a :class:`Reply` is awaited."""

    number: int
    epoch: int
    logs: dict[str, float]


@dataclass(frozen=True)
class Done:
    """A trial's run ended: complete, pruned or stopped."""

    number: int
    result: TrialResult


@dataclass(frozen=True)
class Failed:
    """A task raised: the trial fails (``number`` is None for an evaluation)."""

    number: int | None
    reason: str
    traceback: str = ""


@dataclass(frozen=True)
class Faulted:
    """The machine failed a trial's task (:func:`cifar_search.execution.faults.machine_fault`:
    a full disk, a read-only file system): the trial is not at fault and is not failed."""

    number: int
    reason: str


@dataclass(frozen=True)
class Evaluated:
    """Test-set results of a saved model: loss, accuracy, confusion matrix, classes."""

    results: dict[str, Any]


#: Anything a worker sends.
Message = Ready | EpochEnd | Done | Failed | Faulted | Evaluated

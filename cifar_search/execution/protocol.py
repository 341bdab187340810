"""The plain-data messages that pass between the coordinator and its worker processes.

The coordinator owns the Optuna study and the MLflow runs; a worker only trains. It receives a
:class:`TrialTask`, sends one ``("epoch", …)`` message per epoch and waits for ``"continue"`` or
``"prune"``, then sends ``("done", …)`` or ``("failed", …)``. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Replies to an epoch report.
CONTINUE = "continue"
PRUNE = "prune"
STOP = "stop"  # the sweep is stopping: end after this epoch, keep the checkpoint


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
        validation, subset, split_seed: how the training set is split.
        trial_dir: where the worker writes the trial's checkpoint and model.
        resume_dir: the folder of the interrupted trial this one continues, or None.
        repeat: which of the trial's seeds this is (0 when the sweep has one repeat).
        mixed_precision: train under the Keras ``mixed_float16`` policy.
        xla: ``jit_compile`` for the model (None: Keras decides).
        steps_per_execution: training batches per call into TensorFlow.
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
    validation: float
    subset: int | None
    split_seed: int
    trial_dir: str
    resume_dir: str | None = None
    repeat: int = 0
    mixed_precision: bool = False
    xla: bool | None = None
    steps_per_execution: int = 1

    @property
    def key(self) -> tuple[int, int]:
        """(trial number, repeat): identifies the task in worker messages."""
        return (self.number, self.repeat)


@dataclass(frozen=True)
class EvaluateTask:
    """Evaluate a saved model on the test set."""

    model_path: str
    data_dir: str


@dataclass
class TrialResult:
    """What a worker reports for a trial that ran to its end or was pruned.

    Attributes:
        state: ``complete``, ``pruned`` or ``stopped`` (the sweep is stopping).
        value: the objective of the final model (None only when pruned before any epoch).
        epochs: epochs trained.
        config: the optimizer, learning rate and activations read back from the compiled model.
        model_path: the saved model (complete trials only).
        seconds: wall time from task received to result.
    """

    state: str
    value: float | None
    epochs: int
    config: dict[str, Any] = field(default_factory=dict)
    model_path: str | None = None
    seconds: float = 0.0


def trial_seed(sweep_seed: int, number: int) -> int:
    """The seed of trial ``number``: re-running a trial with it reproduces it."""
    return (sweep_seed * 1_000_003 + number) % (2**31 - 1)


#: Files of a trial's per-epoch checkpoint (written by the worker, read on resume).
CHECKPOINT = "checkpoint.keras"
STATE = "state.json"


def read_state(folder: str | Path) -> dict[str, Any] | None:
    """The checkpoint of a trial folder, ``{"epochs": k, "history": [logs, …]}``, or None."""
    path = Path(folder) / STATE
    if not path.is_file() or not (Path(folder) / CHECKPOINT).is_file():
        return None
    return json.loads(path.read_text())

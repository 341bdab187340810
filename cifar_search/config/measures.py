"""What a trial can be scored on or constrained by: its measures, each with its natural
direction and the moment it is known.

Two kinds: the validation metrics Keras reports after training, and cheap measures of the
built model (its trainable parameter count, known before the first step; its inference
latency and its training time, known after training). Several objectives and constraints
name measures from this one table, so that a name allowed in one is allowed in the other.

Example:
    >>> MEASURES["params"].direction, MEASURES["params"].known_before_training
    ('minimize', True)
    >>> measure_names()
    'val_loss, val_accuracy, params, latency_ms, train_seconds'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    """One measure of a trial.

    Attributes:
        direction: ``minimize`` or ``maximize``: the better way for the measure to go.
        known_before_training: measured on the built model, before any training (a
            constraint on it spares the training of a model that breaks it).
        meaning: what it is, in a few words (help and error messages).
    """

    direction: str
    known_before_training: bool
    meaning: str


MEASURES: dict[str, Measure] = {
    "val_loss": Measure("minimize", False, "validation loss of the final model"),
    "val_accuracy": Measure("maximize", False, "validation accuracy of the final model"),
    "params": Measure("minimize", True, "trainable parameters of the built model"),
    "latency_ms": Measure("minimize", False,
                          "inference time per image on the worker, in milliseconds"),
    "train_seconds": Measure("minimize", False, "wall time the trial spent training"),
}


def measure_names() -> str:
    """The measures' names, comma-separated, in table order (for messages)."""
    return ", ".join(MEASURES)

"""Early stopping that survives an interruption: the rule, its state, and the callback.

A trial stops when its ``monitor`` metric has not improved for ``patience`` epochs, and ends
with the weights of the best epoch of its ``keep_best`` metric (the R/keras tutorial stops on
validation accuracy and keeps the best model by validation loss). The state (epochs without
improvement, best values and their epochs) is plain data kept in the trial's checkpoint with
the kept weights (:mod:`cifar_search.model.checkpoint`), so a trial resumed from it stops at
the epoch the uninterrupted one would have, and ends with the same weights.

The decisions (:meth:`StopRule.improved`, :func:`advance`) are pure; only :class:`EarlyStop`
touches the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import keras

from cifar_search.errors import TrialError
from cifar_search.model import checkpoint


@dataclass(frozen=True)
class StopRule:
    """When to stop and which epoch's weights to end with.

    Attributes:
        monitor: the metric watched; losses improve downwards, anything else upwards.
        patience: epochs without improvement before stopping.
        keep_best: the metric whose best epoch's weights are kept, or None for the last.
    """

    monitor: str
    patience: int
    keep_best: str | None

    @staticmethod
    def improved(metric: str, value: float, best: float | None) -> bool:
        """Whether ``value`` of ``metric`` beats ``best`` (None: nothing to beat).

        Example:
            >>> StopRule.improved("val_loss", 0.9, 1.0), StopRule.improved("accuracy", 0.4, 0.5)
            (True, False)
        """
        if best is None:
            return True
        return value < best if "loss" in metric else value > best


def rule_of(params: Mapping[str, Any], patience: int | None, objective: str) -> StopRule | None:
    """The trial's rule: the budget's ``patience`` (on the objective, best kept), else the
    sweep's ``EarlyStopping`` as trial parameters, else None.

    Example:
        >>> rule_of({"stop_monitor": "val_accuracy", "stop_patience": 10,
        ...          "keep_best": "val_loss"}, None, "val_loss")
        StopRule(monitor='val_accuracy', patience=10, keep_best='val_loss')
    """
    if patience is not None:
        return StopRule(objective, int(patience), objective)
    if int(params.get("stop_patience", 0) or 0) <= 0:
        return None
    return StopRule(str(params.get("stop_monitor") or objective), int(params["stop_patience"]),
                    params.get("keep_best") or None)


@dataclass
class StopState:
    """Where early stopping stands after some epochs (epochs count from 1).

    Attributes:
        wait: epochs since ``monitor`` last improved.
        best: the best value of ``monitor`` so far.
        kept: the best value of ``keep_best`` so far, and ``kept_epoch`` its epoch.
        stopped_epoch: the epoch after which training stopped (0: it did not).
    """

    wait: int = 0
    best: float | None = None
    kept: float | None = None
    kept_epoch: int = 0
    stopped_epoch: int = 0


def advance(rule: StopRule, state: StopState, epoch: int,
            logs: Mapping[str, float]) -> tuple[bool, bool]:
    """Update ``state`` with epoch ``epoch``'s metrics; return (stop now, keep this epoch).

    Example:
        >>> rule, state = StopRule("val_loss", 1, "val_loss"), StopState()
        >>> advance(rule, state, 1, {"val_loss": 1.0}), advance(rule, state, 2, {"val_loss": 2.0})
        ((False, True), (True, False))
    """
    missing = [m for m in (rule.monitor, rule.keep_best) if m is not None and m not in logs]
    if missing:
        raise TrialError(f"early stopping watches {missing[0]}, which the epoch's metrics "
                         f"lack (they are {', '.join(sorted(logs)) or 'none'})")
    value = logs[rule.monitor]
    if StopRule.improved(rule.monitor, value, state.best):
        state.best, state.wait = float(value), 0
    else:
        state.wait += 1
    keep = False
    if rule.keep_best is not None:
        kept = logs[rule.keep_best]
        keep = StopRule.improved(rule.keep_best, kept, state.kept)
        if keep:
            state.kept, state.kept_epoch = float(kept), epoch
    stop = state.wait >= rule.patience
    if stop:
        state.stopped_epoch = epoch
    return stop, keep


class EarlyStop(keras.callbacks.Callback):
    """Applies a :class:`StopRule` after every epoch: writes the kept weights into the trial
    folder when they change, stops training, and ends it with the kept weights.

    Put it before the checkpoint callback, which saves :meth:`state` with the epoch.
    """

    def __init__(self, rule: StopRule, folder: Path, state: Mapping[str, Any] | None = None,
                 weights: list[Any] | None = None) -> None:
        super().__init__()
        self.rule = rule
        self.folder = folder
        self.progress = StopState(**(state or {}))
        self.weights = weights  # the kept epoch's weights, when resumed with them

    def state(self) -> dict[str, Any]:
        """The state as plain data (for ``state.json``)."""
        return asdict(self.progress)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        stop, keep = advance(self.rule, self.progress, epoch + 1, logs or {})
        if keep:
            self.weights = self.model.get_weights()
            checkpoint.save_best_weights(self.folder, self.weights, epoch + 1)
        if stop:
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        self.finish(self.model)

    def finish(self, model: keras.Model) -> None:
        """End with the kept weights (when the rule keeps an epoch's and one was kept)."""
        if self.rule.keep_best is not None and self.weights is not None:
            model.set_weights(self.weights)


def resumed(rule: StopRule, folder: Path, saved: Mapping[str, Any] | None) -> EarlyStop:
    """The callback of a trial, continuing from the checkpoint state ``saved`` of the folder
    it continues (None: a fresh start)."""
    state = dict((saved or {}).get(checkpoint.STOPPING) or {})
    weights = None
    if state.get("kept_epoch") and saved is not None:
        weights = checkpoint.read_best_weights(saved["folder"], int(state["kept_epoch"]))
        if weights is not None:  # copy them into this trial's folder too
            checkpoint.save_best_weights(folder, weights, int(state["kept_epoch"]))
    return EarlyStop(rule, folder, state, weights)

"""What a recorder writes of a trial to MLflow: the :class:`TrialTracker` protocol.

The engines' recorders (``engines/optuna/recorder.py``, ``engines/kerastuner/recorder.py``)
hold the sweep's tracker through this protocol, so that they depend on the calls they make,
not on MLflow: :class:`cifar_search.tracking.writer.Tracker` is the one implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from cifar_search.search.states import RunStatus, TrialOutcome


class TrialTracker(Protocol):
    """The runs of one sweep's trials: a child run per trial (per seed of a repeated trial),
    its epochs, tags and end, and the end of the study's parent run."""

    def start_trial(self, number: int, params: Mapping[str, Any], seed: int,
                    retry_of: int | None = None, continues: int | None = None) -> str:
        """Create the child run of trial ``number``; return its id."""
        ...

    def run_link(self, run_id: str) -> str | None:
        """The run's page in the tracking server's UI; None where no server is known (a
        database store: ``ui`` serves it, on a port of the user's choosing)."""
        ...

    def recorded_run(self, number: int, params: Mapping[str, Any], seed: int) -> str:
        """The child run of a trial that never stored its id: the run it made, else a new one."""
        ...

    def start_seed(self, trial_run_id: str, number: int, repeat: int, seed: int) -> str:
        """Create the run of one seed of a repeated trial, nested in the trial's run."""
        ...

    def log_epoch(self, run_id: str, epoch: int, logs: Mapping[str, float]) -> None:
        """One epoch's metrics (step = epochs completed)."""
        ...

    def end_trial(self, run_id: str, state: TrialOutcome | str, value: float | None = None,
                  info: Mapping[str, Any] | None = None, reason: str | None = None) -> None:
        """Close a child run with its outcome, objective, duration and resolved config."""
        ...

    def start_import(self, params: Mapping[str, Any], value: float,
                     source: Mapping[str, Any]) -> str:
        """Create the RUNNING child run of a trial imported from an earlier study."""
        ...

    def end_import(self, run_id: str, number: int) -> None:
        """Give an imported trial's run its trial number and name, and end it."""
        ...

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """An engine's own tags on a run."""
        ...

    def kill_run(self, run_id: str, reason: str) -> None:
        """Mark a run left behind by an interruption as killed."""
        ...

    def close_parent(self, status: RunStatus) -> None:
        """End the study's parent run with ``FINISHED``, ``KILLED`` or ``FAILED``."""
        ...

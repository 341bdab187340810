"""The KerasTuner engine's record of a sweep: its own files in the workspace, next to the oracle's.

KerasTuner keeps what its oracle decides (``oracle/oracle.json`` and ``oracle/trial_*/
trial.json``); this module keeps what cifar_search adds, under
``<workspace>/kerastuner/<sweep>/``::

    study.json               fingerprint, MLflow parent run and token, test-evaluated trial
    records/00003.json       one file per training run of a KerasTuner trial (TrialRecord)
    trials/00003/            its checkpoint and model (written by a worker)

A KerasTuner trial is trained by one record, or by several when it was interrupted (each
continuation a new record with ``retry_of``). Every file is replaced atomically, so a kill -9
leaves each either as it was or as it became. Nothing here imports KerasTuner or TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cifar_search.search.states import TrialOutcome

#: The engine's folder inside a workspace.
FOLDER = "kerastuner"


@dataclass
class TrialRecord:
    """One training run of a KerasTuner trial, as cifar_search records it.

    Attributes:
        number: our trial number (0, 1, …; a continuation after an interruption is a new one).
        kt_id: the KerasTuner trial id it trains.
        outcome: how it stands (complete, failed, interrupted or running).
        params: every parameter it trains with.
        seed: the seed it trains from.
        epochs: the epochs it trains to (Hyperband's ``tuner/epochs``, else the budget).
        run_id: its MLflow child run.
        value: the objective of its final model (complete trials).
        curve: the objective after each epoch it knows of (continued epochs included).
        retry_of: the interrupted record it continues (same KerasTuner trial).
        continues: Hyperband: the record of the earlier trial whose checkpoint it goes on from.
        resumed_at_epoch: epochs taken over from a checkpoint.
        bracket, round: Hyperband's bracket and round of the trial.
        epochs_trained: epochs this record trained itself.
        model_path, fail_reason, duration_s: its saved model, why it failed, its wall time.
        started, ended: ISO times.
    """

    number: int
    kt_id: str
    outcome: TrialOutcome
    params: dict[str, Any]
    seed: int
    epochs: int
    run_id: str | None = None
    value: float | None = None
    curve: list[float] = field(default_factory=list)
    retry_of: int | None = None
    continues: int | None = None
    resumed_at_epoch: int = 0
    bracket: int | None = None
    round: int | None = None
    epochs_trained: int = 0
    model_path: str | None = None
    fail_reason: str | None = None
    duration_s: float | None = None
    started: str | None = None
    ended: str | None = None

    def to_data(self) -> dict[str, Any]:
        """Plain data (JSON)."""
        return {**dataclasses.asdict(self), "outcome": self.outcome.value}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TrialRecord:
        """The inverse of :meth:`to_data`."""
        return cls(**{**data, "outcome": TrialOutcome(data["outcome"])})


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON through a hidden temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}")
    partial.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(partial, path)


class RecordStore:
    """One sweep's records under ``<workspace>/kerastuner/<sweep>/``.

    Args:
        root: that folder.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def exists(self) -> bool:
        """Whether the sweep has been started with this engine."""
        return (self.root / "study.json").is_file()

    def trial_dir(self, number: int) -> Path:
        """Checkpoint and model of record ``number``."""
        return self.root / "trials" / f"{number:05d}"

    def study(self) -> dict[str, Any]:
        """The study's attributes (empty before the first run)."""
        path = self.root / "study.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def set_study(self, **attrs: Any) -> None:
        """Update study attributes."""
        write_json(self.root / "study.json", {**self.study(), **attrs})

    def records(self) -> list[TrialRecord]:
        """Every record, by number."""
        folder = self.root / "records"
        if not folder.is_dir():
            return []
        return sorted((TrialRecord.from_data(json.loads(p.read_text()))
                       for p in folder.glob("[0-9]*.json")), key=lambda r: r.number)

    def save(self, record: TrialRecord) -> None:
        """Write one record."""
        write_json(self.root / "records" / f"{record.number:05d}.json", record.to_data())

"""A trial's per-epoch checkpoint on disk: the files, and reading them back.

A checkpoint folder holds ``checkpoint.keras`` (weights and optimizer state) and
``state.json`` (``{"epochs": k, "history": [logs, ...], ...}``); both are replaced atomically
after every epoch by :mod:`cifar_search.model.train`. Reading one needs no TensorFlow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Files of a trial's per-epoch checkpoint (written by the worker, read on resume).
CHECKPOINT = "checkpoint.keras"
STATE = "state.json"


def read_state(folder: str | Path) -> dict[str, Any] | None:
    """The checkpoint of a trial folder, ``{"epochs": k, "history": [logs, …]}``, or None."""
    path = Path(folder) / STATE
    if not path.is_file() or not (Path(folder) / CHECKPOINT).is_file():
        return None
    return json.loads(path.read_text())


def saved_epochs(folder: str | Path) -> int | None:
    """Epochs the checkpoint in ``folder`` holds, or None when there is none."""
    state = read_state(folder)
    return None if state is None else int(state["epochs"])

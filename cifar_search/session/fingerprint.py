"""A study's fingerprint: the sweep's settings and the data's identity that a resume must keep,
whichever engine's store records it."""

from __future__ import annotations

import json
from typing import Any

from cifar_search.config.sweep import Sweep
from cifar_search.errors import ConfigError, clipped

#: Fingerprint settings left out when at their default (compatibility C3). Constraints are
#: part of it: they decide which trials are feasible and which were never trained, so a
#: study judged by other limits would mix trials judged two ways.
UNSET: dict[str, Any] = {"repeats": 1, "same_seed": False, "constraints": {},
                         "backend": "tensorflow", "ladder": None}

#: The fingerprint's keys of the sweep's own model (absent for a built-in family), and what
#: each says changed.
MODEL_KEYS = {"model_code": "its code", "model_architecture": "the model it builds"}

#: The fingerprint's key for the data a study trains on (absent: compatibility C4).
DATA_KEY = "data_identity"


def fingerprint_of(sweep: Sweep, data_identity: dict[str, Any] | None) -> dict[str, Any]:
    """What a study must keep when resumed: the sweep's settings and the data's identity
    (classes, image counts and a content digest; see :func:`cifar_search.model.data.identity`)."""
    fingerprint = sweep.fingerprint()
    if data_identity is not None:
        fingerprint[DATA_KEY] = data_identity
    return fingerprint


def check_fingerprint(stored_json: str, wanted: dict[str, Any], sweep: Sweep,
                      storage_url: str, warm_starts: bool = False) -> None:
    """Refuse to resume a study with settings or data that would make its trials
    incomparable, saying what differs and how to start afresh (``storage_url`` is shown as
    given: masked by the caller); ``warm_starts``: the engine can start a new study from this
    one (``--from-study``), said when the space changed."""
    stored = {**UNSET, **json.loads(stored_json or "{}")}
    wanted = {**UNSET, **json.loads(json.dumps(wanted))}
    if DATA_KEY not in stored:  # recorded before the data was part of it: recorded on resume
        wanted.pop(DATA_KEY, None)
    changed = sorted(k for k in wanted if stored.get(k) != wanted[k])
    if len(stored) <= len(UNSET) or not changed:
        return
    key = changed[0]
    afresh = (f"the existing study {sweep.name!r} in {storage_url} {{}}; start afresh with "
              "--study-name NEW_NAME or another --workspace")
    if key in MODEL_KEYS:
        raise ConfigError("model", f"model function {sweep.model_name} changed since the study "
                          f"began ({MODEL_KEYS[key]} differs); " + afresh.format(
                              "was run with another model"), sweep.source)
    if key == DATA_KEY:
        raise ConfigError("data", f"{_data_text(wanted[key])} is other data than the study's "
                          f"{_data_text(stored[key])}; " + afresh.format("trained on it"),
                          sweep.source)
    reuse = ""
    if key == "space" and warm_starts:  # what the study learnt can start a new one
        reuse = (f", or start a new study from this one with --study-name NEW_NAME "
                 f"--from-study {sweep.name}")
    raise ConfigError(key, f"{_json(wanted[key])} differs from the study's "
                      f"{_json(stored.get(key))}; " + afresh.format("was run with other settings")
                      + reuse, sweep.source)


def _json(value: Any) -> str:
    """A setting as JSON, shortened for a message."""
    return clipped(json.dumps(value, sort_keys=True), 120)


def _data_text(identity: dict[str, Any]) -> str:
    """``10 classes, 48+20 images, sha256:3f2a…`` (the digest shortened)."""
    return (f"{len(identity['classes'])} classes, {identity['train']}+{identity['test']} "
            f"images, {identity['digest'][:19]}…")

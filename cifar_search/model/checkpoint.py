"""A trial's per-epoch checkpoint on disk: writing it, reading it back, resuming from it.

A checkpoint folder holds ``checkpoint-K.keras`` (weights and optimizer state, with its step
counter, after K epochs) and ``state.json``, which names it::

    {"epochs": k, "checkpoint": "checkpoint-k.keras",
     "history": [logs of epoch 1, ..., logs of epoch k], "seed_states": [...],
     "backend": "tensorflow"}

``seed_states`` are the states of the model's random layers (dropout, augmentation), which
``model.save`` does not keep: a resumed trial needs them to draw what it would have drawn. After
every epoch (:func:`save`) the new model file is written, then the state that names it replaces
the old one, then the old model file goes. A kill at any point leaves a state and the model file
it names, of the same epoch, so a killed trial continues from its last completed epoch exactly as
it would have gone on (:func:`restore`), on the Keras backend that trained it
(:func:`check_backend`). A folder with ``checkpoint.keras`` and a state that names
no model file is read too (compatibility C1, ``docs/compatibility.md``).

Reading the state (:func:`read_state`, :func:`saved_epochs`) needs no TensorFlow; :func:`save`
and :func:`restore` import Keras when called.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cifar_search.errors import TrialError

if TYPE_CHECKING:
    import keras

#: Files of a trial's per-epoch checkpoint (written by the worker, read on resume).
STATE = "state.json"
#: The model file of a state that names none (compatibility C1).
CHECKPOINT = "checkpoint.keras"
#: The key in ``state.json`` of the model file it belongs to.
MODEL_FILE = "checkpoint"
#: The key in ``state.json`` of the Keras backend that trained it (absent: TensorFlow).
BACKEND = "backend"


def model_file(epochs: int) -> str:
    """The name of the model file of a checkpoint after ``epochs`` epochs.

    Example:
        >>> model_file(12)
        'checkpoint-12.keras'
    """
    return f"checkpoint-{epochs}.keras"


class Damaged(Exception):
    """A checkpoint file that cannot be read back (cut short, not JSON, not a whole archive)."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


def read_state(folder: str | Path) -> dict[str, Any] | None:
    """The checkpoint of a trial folder, ``{"epochs": k, "history": [logs, …]}``, or None.

    Raises:
        Damaged: ``state.json`` is not whole JSON of a state, or the model file it names is not
            a whole archive (see :func:`read_sound_state`).

    Example:
        >>> read_state("no/such/folder") is None
        True
    """
    path = Path(folder) / STATE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
        epochs, history = int(state["epochs"]), state["history"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise Damaged(path, f"{type(error).__name__}: {str(error)[:80]}") from None
    if not isinstance(history, list) or epochs < 0:
        raise Damaged(path, f"no state: epochs {epochs}, history {str(history)[:40]}")
    model = Path(folder) / state.get(MODEL_FILE, CHECKPOINT)
    if not model.is_file():
        return None
    try:
        with zipfile.ZipFile(model):  # reads the archive's index, which is at its end
            pass
    except (zipfile.BadZipFile, OSError) as error:
        raise Damaged(model, f"not a whole .keras archive ({error})") from None
    return state


def set_aside(folder: str | Path) -> Path:
    """Move the checkpoint of ``folder`` (state, model files, kept weights) into a new
    ``damaged-N`` folder inside it, kept for inspection; that folder."""
    folder = Path(folder)
    taken = {p.name for p in folder.glob("damaged-*")}
    aside = folder / next(f"damaged-{n}" for n in range(1, len(taken) + 2)
                          if f"damaged-{n}" not in taken)
    aside.mkdir()
    for path in [folder / STATE, folder / BEST_WEIGHTS, *folder.glob("checkpoint*.keras")]:
        if path.is_file():
            os.replace(path, aside / path.name)
    return aside


def read_sound_state(folder: str | Path, say: Callable[[str], None]) -> dict[str, Any] | None:
    """:func:`read_state`, with a damaged checkpoint set aside (one line through ``say``
    naming the file) and read as none: its trial starts again from epoch 0."""
    try:
        return read_state(folder)
    except Damaged as damage:
        aside = set_aside(folder)
        say(f"checkpoint {damage.path} is damaged ({damage.problem}); set aside in {aside}, "
            "its trial starts again from epoch 0")
        return None


def saved_epochs(folder: str | Path, say: Callable[[str], None] | None = None) -> int | None:
    """Epochs the checkpoint in ``folder`` holds, or None when there is none (with ``say``,
    a damaged one is set aside and read as none: :func:`read_sound_state`)."""
    state = read_state(folder) if say is None else read_sound_state(folder, say)
    return None if state is None else int(state["epochs"])


#: ``state.json``'s seconds spent fitting up to the checkpoint, over every run of the trial
#: (a resumed run adds its part to it).
TRAIN_SECONDS = "train_seconds"


def train_seconds(state: Mapping[str, Any] | None, part: float = 0.0) -> float:
    """The seconds a trial spent fitting: those its checkpoint ``state`` kept (0 for none, or
    one saved before they were kept) plus this run's ``part``.

    Example:
        >>> train_seconds({"epochs": 2, "train_seconds": 3.5}, 1.25), train_seconds(None, 2.0)
        (4.75, 2.0)
    """
    return float((state or {}).get(TRAIN_SECONDS) or 0.0) + part


def save(folder: str | Path, model: keras.Model, history: list[dict[str, float]],
         epochs: int, extra: dict[str, Any] | None = None) -> None:
    """Write the checkpoint of ``model`` after ``epochs`` epochs into ``folder``, atomically.

    Args:
        folder: the trial folder (created if missing).
        model: the compiled model; its weights, optimizer state and random layers' states
            are kept.
        history: the logs of every epoch trained so far, oldest first.
        epochs: the epochs trained so far (the epoch a resumed run starts at).
        extra: more state to keep in ``state.json`` (e.g. ``{"early_stopping": {...}}``).
    """
    import keras

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = model_file(epochs)
    partial = folder / f".{name}"
    model.save(partial)
    os.replace(partial, folder / name)
    seeds = [v.numpy().tolist() for v in _seed_states(model)]
    _write_json(folder / STATE, {**(extra or {}), "epochs": epochs, MODEL_FILE: name,
                                 "history": history, "seed_states": seeds,
                                 BACKEND: keras.backend.backend()})
    for old in [*folder.glob("checkpoint-*.keras"), folder / CHECKPOINT]:
        if old.name != name:
            old.unlink(missing_ok=True)


def restore(folder: str | Path) -> tuple[keras.Model, dict[str, Any]] | None:
    """The model of the checkpoint in ``folder`` and its state, or None when there is none.

    The model comes back compiled, with its optimizer (and step counter, so a learning-rate
    schedule goes on where it stopped) and the states of its random layers.

    A trial still being trained elsewhere (a machine that stalled past the grace period, its
    trial taken over) may save a newer epoch while it is read: the model file the state named
    is then gone, and the newer state is read instead.

    Returns:
        ``(model, {"epochs": k, "history": [...], ...})``, or None.
    """
    import keras

    while True:
        state = read_state(folder)
        if state is None:
            return None
        check_backend(folder, state, keras.backend.backend())
        path = Path(folder) / state.get(MODEL_FILE, CHECKPOINT)
        try:
            model = keras.models.load_model(path)
            break
        except Exception:
            if path.is_file():  # a file that cannot be read, not one replaced meanwhile
                raise
    # strict=False: a checkpoint saved before seed states were kept has none to restore
    for variable, value in zip(_seed_states(model), state.get("seed_states", []), strict=False):
        variable.assign(value)
    return model, state


def check_backend(folder: str | Path, state: dict[str, Any], backend: str) -> None:
    """Refuse to continue on ``backend`` a checkpoint trained on another Keras backend: its
    random layers' states and step counts are that backend's, so it would not go on as it
    would have. A state that names none was trained on TensorFlow.

    Raises:
        TrialError: the backends differ.

    Example:
        >>> check_backend("t/00003", {"backend": "jax"}, "tensorflow")
        Traceback (most recent call last):
        ...
        cifar_search.errors.TrialError: checkpoint t/00003 was trained on backend 'jax' and \
continues only on it, not on 'tensorflow'; resume the sweep with --backend jax
    """
    trained = state.get(BACKEND, "tensorflow")
    if trained != backend:
        raise TrialError(f"checkpoint {folder} was trained on backend {trained!r} and "
                         f"continues only on it, not on {backend!r}; resume the sweep with "
                         f"--backend {trained}")


def _seed_states(model: keras.Model) -> list[Any]:
    """The seed-generator state variables of the model's random layers, in model order."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` through a hidden temporary file and a rename."""
    partial = path.with_name(f".{path.name}")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)


# --------------------------------------------------------------------------------------------
# Early stopping: the weights of the best epoch so far, beside the checkpoint
# --------------------------------------------------------------------------------------------

#: The kept (best-epoch) weights of a trial with early stopping, with the epoch they are of.
BEST_WEIGHTS = "best_weights.npz"
#: The key of the early-stopping state in ``state.json``.
STOPPING = "early_stopping"


def save_best_weights(folder: str | Path, weights: list[Any], epoch: int) -> None:
    """Write the weights of epoch ``epoch`` (counting from 1) as the trial's kept weights,
    atomically; call it before :func:`save` writes the state that names that epoch."""
    import numpy as np

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{BEST_WEIGHTS}"
    with open(partial, "wb") as stream:
        np.savez(stream, epoch=np.array(epoch), **{f"w{i}": w for i, w in enumerate(weights)})
    os.replace(partial, folder / BEST_WEIGHTS)


def read_best_weights(folder: str | Path, epoch: int) -> list[Any] | None:
    """The kept weights of epoch ``epoch`` in ``folder``, or None when there are none of it
    (none kept yet, or a file of another epoch left by a kill between two writes)."""
    import numpy as np

    path = Path(folder) / BEST_WEIGHTS
    if not path.is_file():
        return None
    with np.load(path) as saved:
        if int(saved["epoch"]) != epoch:
            return None
        return [saved[f"w{i}"] for i in range(len(saved.files) - 1)]


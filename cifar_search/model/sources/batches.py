"""The official cifar-10-python and cifar-100-python layouts: pickled batches decoded into
arrays.

CIFAR-10's ``data_batch_1`` .. ``data_batch_5``, ``test_batch`` and ``batches.meta``, or
CIFAR-100's ``train``, ``test`` and ``meta``, handed over as bytes by a folder or an archive,
are unpickled with an unpickler that builds NumPy arrays and nothing else: a batch cannot run
code or build arbitrary objects. CIFAR-100 has two labellings of the same images: ``fine``
(100 classes) and ``coarse`` (20 superclasses).
"""

from __future__ import annotations

import io
import pickle
import re

import numpy as np

from cifar_search.errors import DataError
from cifar_search.model.sources.base import Decoded, Limits, reason

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
BATCH_FILES = TRAIN_BATCHES + ("test_batch", "batches.meta")
#: The files of cifar-100-python/.
CIFAR100_FILES = ("train", "test", "meta")

# Globals a CIFAR-10 batch pickle may refer to: NumPy arrays and the bytes codec, nothing else.
_SAFE_GLOBALS = frozenset({
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy", "ndarray"), ("numpy", "dtype"),
    ("_codecs", "encode"), ("codecs", "encode"),
})


def decode_batches(files: dict[str, bytes], where: str, sep: str, limits: Limits) -> Decoded:
    """Decode data_batch_1..5, test_batch and batches.meta (``{name: bytes}``); a file is
    shown as ``where + sep + name``."""
    missing = [name for name in BATCH_FILES if name not in files]
    if missing:
        raise DataError(f"{where}{sep}{', '.join(missing)} missing; cifar-10-batches-py needs "
                        f"{', '.join(BATCH_FILES)}")
    meta = _unpickle(files["batches.meta"], f"{where}{sep}batches.meta")
    classes = tuple(_text(n) for n in _field(meta, "label_names", f"{where}{sep}batches.meta"))
    limits.check_classes(classes, f"{where}{sep}batches.meta", "label_names")
    train = [_read_batch(files[n], f"{where}{sep}{n}", len(classes)) for n in TRAIN_BATCHES]
    x_test, y_test = _read_batch(files["test_batch"], f"{where}{sep}test_batch", len(classes))
    return Decoded(np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
                   x_test, y_test, classes)


def decode_cifar100(files: dict[str, bytes], where: str, sep: str, limits: Limits,
                    labels: str) -> Decoded:
    """Decode cifar-100-python's train, test and meta (``{name: bytes}``) with its ``fine`` or
    ``coarse`` labels; a file is shown as ``where + sep + name``."""
    missing = [name for name in CIFAR100_FILES if name not in files]
    if missing:
        raise DataError(f"{where}{sep}{', '.join(missing)} missing; cifar-100-python needs "
                        f"{', '.join(CIFAR100_FILES)}")
    meta = _unpickle(files["meta"], f"{where}{sep}meta", "CIFAR-100")
    names = _field(meta, f"{labels}_label_names", f"{where}{sep}meta", "CIFAR-100")
    classes = tuple(_text(n) for n in names)
    limits.check_classes(classes, f"{where}{sep}meta", f"{labels}_label_names")
    x_train, y_train = _read_batch(files["train"], f"{where}{sep}train", len(classes),
                                   f"{labels}_labels", "CIFAR-100")
    x_test, y_test = _read_batch(files["test"], f"{where}{sep}test", len(classes),
                                 f"{labels}_labels", "CIFAR-100")
    return Decoded(x_train, y_train, x_test, y_test, classes)


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that only builds NumPy arrays, never arbitrary objects."""

    def find_class(self, module: str, name: str):
        """Allow the few globals a CIFAR-10 batch needs."""
        module = re.sub(r"^numpy\.core\b", "numpy._core", module)
        if (module, name) not in _SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR-10 batch")
        return super().find_class(module, name)


def _read_batch(data: bytes, where: str, num_classes: int, key: str = "labels",
                kind: str = "CIFAR-10") -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 32, 32, 3)`` and the ``key`` labels of one pickled batch."""
    batch = _unpickle(data, where, kind)
    pixels = np.asarray(_field(batch, "data", where, kind))
    labels = np.asarray(_field(batch, key, where, kind))
    if pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.shape[1] != 3 * 32 * 32:
        raise DataError(f"{where}: data is {pixels.dtype} {pixels.shape}; a {kind} batch "
                        "holds uint8 rows of 3072 pixels (3x32x32)")
    if (labels.shape != (len(pixels),) or labels.dtype.kind not in "iu"
            or (labels.size and not 0 <= labels.min() <= labels.max() < num_classes)):
        meta = "batches.meta" if kind == "CIFAR-10" else "meta"
        raise DataError(f"{where}: {key} do not match the {len(pixels)} images and "
                        f"{num_classes} classes of {meta}")
    images = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int32)


def _unpickle(data: bytes, where: str, kind: str = "CIFAR-10") -> dict:
    """A pickled dict of a CIFAR-10 (or CIFAR-100) batch file."""
    try:
        value = _BatchUnpickler(io.BytesIO(data), encoding="latin1").load()
    except Exception as error:  # noqa: BLE001 (a malformed pickle raises any type)
        raise DataError(f"{where}: not a {kind} batch ({reason(error)})") from None
    if not isinstance(value, dict):
        raise DataError(f"{where}: not a {kind} batch (a {type(value).__name__}, not a dict)")
    return value


def _field(batch: dict, key: str, where: str, kind: str = "CIFAR-10"):
    """``batch[b"key"]`` or ``batch["key"]``."""
    for candidate in (key.encode(), key):
        if candidate in batch:
            return batch[candidate]
    raise DataError(f"{where}: not a {kind} batch (no {key!r} entry)")


def _text(value: bytes | str) -> str:
    """A label name as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

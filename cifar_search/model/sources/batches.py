"""The official cifar-10-python layout: pickled batches decoded into arrays.

``data_batch_1`` .. ``data_batch_5``, ``test_batch`` and ``batches.meta``, handed over as bytes
by a folder or an archive, are unpickled with an unpickler that builds NumPy arrays and nothing
else: a batch cannot run code or build arbitrary objects.
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


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that only builds NumPy arrays, never arbitrary objects."""

    def find_class(self, module: str, name: str):
        """Allow the few globals a CIFAR-10 batch needs."""
        module = re.sub(r"^numpy\.core\b", "numpy._core", module)
        if (module, name) not in _SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR-10 batch")
        return super().find_class(module, name)


def _read_batch(data: bytes, where: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 32, 32, 3)`` and labels of one pickled batch."""
    batch = _unpickle(data, where)
    pixels = np.asarray(_field(batch, "data", where))
    labels = np.asarray(_field(batch, "labels", where))
    if pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.shape[1] != 3 * 32 * 32:
        raise DataError(f"{where}: data is {pixels.dtype} {pixels.shape}; a CIFAR-10 batch "
                        "holds uint8 rows of 3072 pixels (3x32x32)")
    if (labels.shape != (len(pixels),) or labels.dtype.kind not in "iu"
            or (labels.size and not 0 <= labels.min() <= labels.max() < num_classes)):
        raise DataError(f"{where}: labels do not match the {len(pixels)} images and "
                        f"{num_classes} classes of batches.meta")
    images = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int32)


def _unpickle(data: bytes, where: str) -> dict:
    """A pickled dict of a CIFAR-10 batch file."""
    try:
        value = _BatchUnpickler(io.BytesIO(data), encoding="latin1").load()
    except Exception as error:  # noqa: BLE001 (a malformed pickle raises any type)
        raise DataError(f"{where}: not a CIFAR-10 batch ({reason(error)})") from None
    if not isinstance(value, dict):
        raise DataError(f"{where}: not a CIFAR-10 batch (a {type(value).__name__}, not a dict)")
    return value


def _field(batch: dict, key: str, where: str):
    """``batch[b"key"]`` or ``batch["key"]``."""
    for candidate in (key.encode(), key):
        if candidate in batch:
            return batch[candidate]
    raise DataError(f"{where}: not a CIFAR-10 batch (no {key!r} entry)")


def _text(value: bytes | str) -> str:
    """A label name as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

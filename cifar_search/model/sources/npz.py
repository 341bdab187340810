"""NumPy ``.npz`` files (``numpy.savez`` or ``savez_compressed``; Keras' ``mnist.npz``): the
arrays ``x_train, y_train, x_test, y_test`` and optionally ``class_names``.

The file is a zip archive of ``.npy`` members. Each member wanted is checked by its header
(shape and dtype) before its bytes are read, so an array too large for the limits, or a
compressed member that claims a huge shape, is refused without reading it; arrays of Python
objects (pickles, which could run code) are refused, never loaded. What the arrays must be is
:mod:`.arrays`'.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from cifar_search.errors import DataError
from cifar_search.model.sources import files
from cifar_search.model.sources.arrays import ARRAY_KEYS, NAMES_KEY, from_arrays
from cifar_search.model.sources.base import Decoded, Limits, amount, reason

#: The first bytes of a zip archive (an .npz).
ZIP_MAGIC = b"PK\x03\x04"
#: Members of an .npz that are read; any other is ignored.
_WANTED = (*ARRAY_KEYS, NAMES_KEY)
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError)


def is_npz(head: bytes) -> bool:
    """Whether a file's first bytes are those of a zip archive (an .npz)."""
    return head.startswith(ZIP_MAGIC)


def read_npz(path: Path, limits: Limits) -> Decoded:
    """Decode an .npz of data arrays, each checked by its header before it is read.

    Raises:
        DataError: the file is larger than ``limits.archive_bytes``, not a readable zip, holds
            an array of objects or one too large, or its arrays are refused by
            :func:`~cifar_search.model.sources.arrays.from_arrays`.
    """
    with files.open_regular(path, str(path), limits.archive_bytes) as handle:
        try:
            with zipfile.ZipFile(handle) as archive:
                arrays = _read_arrays(archive, path, limits)
        except DataError:
            raise
        except _ZIP_ERRORS as error:
            raise DataError(f"{path}: not a readable .npz ({reason(error)}); save the arrays "
                            "with numpy.savez or numpy.savez_compressed") from None
    return from_arrays(arrays, str(path), limits)


def _read_arrays(archive: zipfile.ZipFile, path: Path, limits: Limits) -> dict[str, np.ndarray]:
    """The wanted arrays of an open .npz, keyed by name, within ``limits.decoded_bytes``."""
    names = {info.filename.removesuffix(".npy"): info for info in archive.infolist()
             if info.filename.endswith(".npy")}
    arrays: dict[str, np.ndarray] = {name: _EMPTY for name in names}  # every key, for messages
    total = 0
    for name in _WANTED:
        if name not in names:
            continue
        with archive.open(names[name]) as member:
            shape, dtype = _header(member, path, name)
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            total += size
            if total > limits.decoded_bytes:
                raise DataError(f"{path}: {name} is {dtype} {shape} ({amount(size)}); the "
                                f"arrays of a data set may be at most "
                                f"{amount(limits.decoded_bytes)} together (CIFAR-10: 176 MiB)")
            arrays[name] = _payload(member, shape, dtype, path, name)
    return arrays


#: Readers of the .npy header versions that numpy.savez writes.
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}
#: Placeholder of an array that is not read (only its name is shown in messages).
_EMPTY = np.empty(0, np.uint8)


def _header(member: IO[bytes], path: Path, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of an .npy member from its header; objects are refused."""
    try:
        version = np.lib.format.read_magic(member)
        read = _HEADER_READERS.get(version)
        if read is None:
            raise ValueError(f"format version {version[0]}.{version[1]} is not read here")
        shape, fortran, dtype = read(member)
    except _ZIP_ERRORS as error:
        raise DataError(f"{path}: {name}.npy is not a NumPy array ({reason(error)}); save the "
                        "arrays with numpy.savez") from None
    if dtype.hasobject:
        raise DataError(f"{path}: {name} is an array of Python objects (pickled), which is "
                        "never loaded; save numbers, and class names as strings "
                        "(numpy.array(names, dtype=str))")
    if fortran:
        raise DataError(f"{path}: {name} is stored in Fortran order; save it with "
                        "numpy.ascontiguousarray(array)")
    return tuple(int(n) for n in shape), dtype


def _payload(member: IO[bytes], shape: tuple[int, ...], dtype: np.dtype, path: Path,
             name: str) -> np.ndarray:
    """The bytes of an array whose header was read: exactly its size, or DataError."""
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    try:
        data = member.read(size)
    except _ZIP_ERRORS as error:
        raise DataError(f"{path}: {name}.npy cannot be read ({reason(error)}); the file is "
                        "truncated or corrupt") from None
    if len(data) != size:
        raise DataError(f"{path}: {name}.npy holds {len(data)} bytes but its header says "
                        f"{dtype} {shape} ({size} bytes); the file is truncated or corrupt")
    return np.frombuffer(data, dtype=dtype).reshape(shape)

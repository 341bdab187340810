"""Data: load CIFAR-10-like sources, decode them once into a cache, split them per seed.

Accepted sources (``--data PATH`` or ``$CIFAR_SEARCH_DATA``; none means a Keras download):

* the official ``cifar-10-python.tar.gz``, or its extracted ``cifar-10-batches-py/`` folder
  (or a folder that contains it);
* an image folder ``train/<class>/*``, ``test/<class>/*``, as a directory (possibly inside one
  top-level folder) or as a ``.tar.gz`` / ``.tgz`` / ``.tar`` archive.

The layout is recognised by looking inside, not by the name. Archives are streamed, never
extracted to disk. Decoded images are cached as uint8 ``.npy`` arrays in a folder named after
the source and its size and modification time, written atomically, so a source is decoded once
and every later trial and worker maps the arrays from disk. Pixels are scaled to [0, 1] when a
split is loaded; splits and the test set are memoised per process.

Bad data is refused with one :class:`~cifar_search.errors.DataError` line before anything is
cached: only regular files and folders are read (symbolic links are followed and what they
point at is checked; a device, FIFO or socket is never opened), and the limits below bound what
a source may cost in memory and time. :func:`identity` describes a cache's content without its
path, for a study's fingerprint.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import hashlib
import io
import json
import lzma
import os
import pickle
import re
import shutil
import tarfile
import tempfile
import time
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from stat import S_ISBLK, S_ISCHR, S_ISDIR, S_ISFIFO, S_ISREG, S_ISSOCK
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from cifar_search import errors
from cifar_search.errors import DataError

ENV_VAR = "CIFAR_SEARCH_DATA"

ACCEPTED = ("cifar-10-python.tar.gz, its extracted cifar-10-batches-py/ folder, or an image "
            "folder train/<class>/*, test/<class>/* (a directory or .tar.gz)")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif",
                            ".tiff", ".webp"})
SPLITS = ("train", "test")
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
BATCH_FILES = TRAIN_BATCHES + ("test_batch", "batches.meta")
ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
KERAS_KEY = "keras-cifar10"
STALE_SECONDS = 24 * 3600
DIGEST_PREFIX = "sha256:"

# Limits on a data source. Each refusal names the file, the value and the limit.
MIB = 1 << 20
#: Bytes of one file that is read into memory: an archive member or a file of a folder (a
#: CIFAR-10 batch, an image). The official batches are about 30 MiB; an image is far less.
MAX_FILE_BYTES = 256 * MIB
#: Bytes an archive may expand to, members and headers together, counted as it is decompressed:
#: a small .tar.gz that expands hugely is refused when it passes this, without reading the rest.
#: The official cifar-10-python.tar.gz expands to about 178 MiB; the members read stay in
#: memory until they are decoded.
MAX_ARCHIVE_BYTES = 1024 * MIB
#: Members of an archive, or images of a folder tree (each costs memory before decoding);
#: CIFAR-10 as an image folder has 60,000 images.
MAX_FILES = 500_000
#: Pixels of an image's longer side, read from its header before it is decoded (4096x4096 RGB
#: decodes to 48 MiB); CIFAR-10 images are 32x32.
MAX_IMAGE_SIDE = 4096
#: Bytes of all decoded pixels (uint8, training and test images): they are held in memory while
#: decoding and every trial loads them. CIFAR-10 decodes to 176 MiB.
MAX_DECODED_BYTES = 2048 * MIB
#: Classes of a data set: one class teaches nothing (its loss is 0 from the first step); more
#: than ImageNet's 1000 is a layout mistake (e.g. one folder per image).
MIN_CLASSES = 2
MAX_CLASSES = 1000
#: Bytes hashed at a time for a cache's content digest (its arrays are memory-mapped).
_DIGEST_CHUNK = 16 * MIB

_ARCHIVE_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError)

# Globals a CIFAR-10 batch pickle may refer to: NumPy arrays and the bytes codec, nothing else.
_SAFE_GLOBALS = frozenset({
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy", "ndarray"), ("numpy", "dtype"),
    ("_codecs", "encode"), ("codecs", "encode"),
})


@dataclass(frozen=True)
class Split:
    """Training and validation arrays: float32 pixels in [0, 1] (or the cached uint8 pixels,
    see :func:`load_split`), int32 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    classes: tuple[str, ...]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of one image, ``(height, width, 3)``."""
        return tuple(int(n) for n in self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)


@dataclass(frozen=True)
class _Decoded:
    """Decoded uint8 images, int32 labels and class names of one source."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def resolve_source(path: str | os.PathLike | None) -> Path | None:
    """Choose the data source.

    Args:
        path: the ``--data`` value, or None.

    Returns:
        ``path`` if given, else ``$CIFAR_SEARCH_DATA`` if set and not empty, else None
        (download with Keras). Existence is not checked here; :func:`prepare` does that.

    Raises:
        DataError: ``path`` is empty or blank (it would otherwise mean a download), or
            ``$CIFAR_SEARCH_DATA`` is blank but not empty.
    """
    if path is not None:
        chosen, origin = os.fspath(path), "data source"
    else:
        chosen, origin = os.environ.get(ENV_VAR, ""), ENV_VAR
        if not chosen:
            return None
    if not chosen.strip():
        raise DataError(f"{origin}: {errors.shown(chosen)} is an empty path; give the path of "
                        f"{ACCEPTED}, or no data source to download CIFAR-10")
    return Path(chosen).expanduser()


def prepare(source: Path | None, cache_root: Path) -> Path:
    """Decode ``source`` once into a cache folder under ``cache_root`` and return that folder.

    The folder holds ``x_train.npy``, ``y_train.npy``, ``x_test.npy``, ``y_test.npy`` (uint8
    images ``(N, H, W, 3)``, int32 labels) and ``meta.json``. Its name depends on the source's
    path, size and modification time, so an unchanged source is reused and a changed one is
    decoded again. It is written into a temporary folder and renamed into place.

    Args:
        source: a file or folder in an accepted layout, or None to download CIFAR-10.
        cache_root: folder that holds the caches (created if missing).

    Returns:
        The cache folder.

    Raises:
        DataError: the source is missing, unreadable, not a regular file or folder, not in an
            accepted layout, past a limit (``MAX_*``, ``MIN_CLASSES``), or cannot be
            downloaded; or the cache cannot be written. Nothing is left in ``cache_root``.
    """
    cache_root = Path(cache_root)
    source = None if source is None else Path(source)
    if source is not None:
        _check_source(source)
    target = cache_root / _cache_key(source)
    if _is_complete(target):
        _check_class_count(read_meta(target).get("classes", []), str(source or KERAS_KEY),
                           "classes")
        return target
    decoded = _decode(source)
    meta = {
        "source": str(source.resolve()) if source is not None else "keras.datasets.cifar10",
        "classes": list(decoded.classes),
        "train": int(len(decoded.x_train)),
        "test": int(len(decoded.x_test)),
        "image_shape": [int(n) for n in decoded.x_train.shape[1:]],
        "digest": _digest({name: getattr(decoded, name) for name in ARRAY_NAMES}),
    }
    _publish(decoded, meta, cache_root, target)
    return target


def prepared(source: str | os.PathLike | None, cache_root: Path) -> Path:
    """The decoded-data cache of a sweep's source: what every engine calls to get its data.

    :func:`resolve_source` (``source``, else ``$CIFAR_SEARCH_DATA``, else a Keras download),
    then :func:`prepare`.

    Args:
        source: the sweep's ``data.source`` (after any ``--data``), or None.
        cache_root: folder that holds the caches (a workspace's data cache).

    Returns:
        The cache folder, for :func:`load_split`, :func:`load_test` and :func:`read_meta`.

    Raises:
        DataError: as :func:`prepare`.

    Example:
        >>> cache = prepared("cifar-10-python.tar.gz", Path("workspace/data"))  # doctest: +SKIP
    """
    return prepare(resolve_source(source), cache_root)


def read_meta(cache_dir: Path) -> dict:
    """Read the description of a cache folder.

    Args:
        cache_dir: a folder returned by :func:`prepare`.

    Returns:
        ``{"source", "classes", "train", "test", "image_shape", "digest"}`` (a cache written by
        an earlier version has no ``"digest"`` until :func:`identity` adds it).

    Raises:
        DataError: the folder holds no readable ``meta.json``.
    """
    path = Path(cache_dir) / "meta.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read the data cache description ({_reason(error)}); "
                        "delete the folder to decode the data again") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: the data cache description is a {type(meta).__name__}, not "
                        "an object; delete the folder to decode the data again")
    return meta


def identity(cache_dir: Path) -> dict[str, Any]:
    """What the data of a cache folder is, without where it is: plain JSON data.

    Two caches of the same images, labels and class names have equal identities wherever they
    are (another workspace, a copied one, the same source at another path), and any other data
    has another digest. The digest is computed once, when the cache is written; a cache written
    by an earlier version gets it on the first call (hashing its arrays once, about a second
    for CIFAR-10), stored atomically in its ``meta.json`` for later calls.

    Args:
        cache_dir: a folder returned by :func:`prepare`.

    Returns:
        ``{"classes": [names], "train": n, "test": n, "digest": "sha256:<64 hex>"}``, the
        digest over the four cached arrays (their dtype, shape and bytes, in
        ``ARRAY_NAMES`` order).

    Raises:
        DataError: the folder holds no readable description or arrays.

    Example:
        >>> identity(prepared("cifar-10-python.tar.gz", Path("ws/data")))  # doctest: +SKIP
        {'classes': ['airplane', ...], 'train': 50000, 'test': 10000, 'digest': 'sha256:...'}
    """
    cache_dir = Path(cache_dir)
    meta = read_meta(cache_dir)
    try:
        described = {"classes": [str(name) for name in meta["classes"]],
                     "train": int(meta["train"]), "test": int(meta["test"])}
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(f"{cache_dir / 'meta.json'}: the data cache description is incomplete "
                        f"({type(error).__name__}: {_reason(error)}); delete the folder to "
                        "decode the data again") from None
    digest = meta.get("digest")
    if not _is_digest(digest):
        digest = _digest({name: _open_array(cache_dir, name) for name in ARRAY_NAMES})
        _store_meta(cache_dir, {**meta, "digest": digest})
    return {**described, "digest": digest}


@functools.lru_cache(maxsize=2)
def load_split(cache_dir: Path, validation: float = 0.2, subset: int | None = None,
               seed: int = 0, scaled: bool = True) -> Split:
    """Training and validation arrays, pixels float32 in [0, 1] (memoised per process).

    With ``scaled=False`` the pixels stay uint8 (0-255), a quarter of the memory: the trial
    input pipeline scales each batch as it goes (:func:`cifar_search.model.pipeline.batches`), which
    gives the same float32 values.

    The training set is permuted with ``seed``; if ``subset`` is given only the first
    ``subset`` images of that permutation are used; the last ``round(validation * n)`` of
    those (at least 1 when ``validation > 0``) are the validation set.

    Args:
        cache_dir: a folder returned by :func:`prepare`.
        validation: fraction of the images held out, in [0, 1).
        subset: number of training images to use, or None for all.
        seed: seed of the permutation.
        scaled: float32 pixels in [0, 1] (True) or uint8 pixels (False).

    Returns:
        The split. Its arrays are read-only, since they are shared by later calls.

    Raises:
        DataError: ``subset`` is more than the training set, or no training image is left.
    """
    if not 0 <= validation < 1:
        raise ValueError(f"validation={validation!r} is not allowed; give a fraction in [0, 1)")
    x = _open_array(cache_dir, "x_train")
    y = _open_array(cache_dir, "y_train")
    train, val = _split_indices(len(x), validation, subset, seed, cache_dir)
    classes = tuple(read_meta(cache_dir)["classes"])
    pixels = _scaled if scaled else _read_only
    return Split(pixels(x[train]), _labels(y[train]), pixels(x[val]), _labels(y[val]), classes)


@functools.lru_cache(maxsize=1)
def load_test(cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Test images and labels (memoised per process).

    Args:
        cache_dir: a folder returned by :func:`prepare`.

    Returns:
        Read-only float32 images in [0, 1] and int32 labels.
    """
    x = _open_array(cache_dir, "x_test")
    return _scaled(x), _labels(_open_array(cache_dir, "y_test"))


# --------------------------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------------------------


def _split_indices(n: int, validation: float, subset: int | None, seed: int,
                   cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation indices: a seeded permutation, cut to subset, then split."""
    order = np.random.default_rng(seed).permutation(n)
    if subset is not None:
        if subset > n:
            raise DataError(f"{cache_dir}: subset {subset} is more than the {n} training "
                            "images; give a smaller subset or none")
        order = order[:max(int(subset), 0)]
    n_val = round(validation * len(order))
    if validation > 0:
        n_val = max(n_val, 1)
    if n_val >= len(order):
        raise DataError(f"{cache_dir}: validation {validation} of {len(order)} images leaves no "
                        "training image; use more images or a smaller validation fraction")
    return order[:len(order) - n_val], order[len(order) - n_val:]


def _open_array(cache_dir: Path, name: str) -> np.ndarray:
    """Memory-map one cached array."""
    path = Path(cache_dir) / f"{name}.npy"
    try:
        return np.load(path, mmap_mode="r")
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read the cached array ({_reason(error)}); delete "
                        f"{Path(cache_dir).name} to decode the data again") from None


def _read_only(images: np.ndarray) -> np.ndarray:
    """Read-only in-memory copy of images (a fancy index of a memory map is a copy already)."""
    out = np.ascontiguousarray(images)
    out.flags.writeable = False
    return out


def _scaled(images: np.ndarray) -> np.ndarray:
    """Read-only float32 copy of uint8 images, scaled to [0, 1]."""
    out = np.divide(images, 255, dtype=np.float32)
    out.flags.writeable = False
    return out


def _labels(labels: np.ndarray) -> np.ndarray:
    """Read-only in-memory int32 copy of labels."""
    out = np.array(labels, dtype=np.int32)
    out.flags.writeable = False
    return out


# --------------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------------


def _check_source(source: Path) -> None:
    """Raise DataError unless the source is an existing regular file or folder (links followed)."""
    try:
        status = os.stat(source)
    except ValueError:  # a NUL character
        raise DataError(f"data source {errors.shown(str(source))}: a path cannot hold a NUL "
                        f"character; give the path of {ACCEPTED}") from None
    except (FileNotFoundError, NotADirectoryError):
        if os.path.islink(source):
            raise DataError(f"{source}: a broken symbolic link (to {os.readlink(source)}); "
                            f"give --data PATH or {ENV_VAR} pointing at {ACCEPTED}") from None
        raise DataError(f"{source}: no such file or folder; give --data PATH or {ENV_VAR} "
                        f"pointing at {ACCEPTED}") from None
    except OSError as error:
        raise DataError(f"{source}: cannot be read ({_reason(error)})") from None
    if not (S_ISREG(status.st_mode) or S_ISDIR(status.st_mode)):
        raise DataError(f"{source}: {_kind(status.st_mode)}{_link_target(source)}, not a file "
                        f"or folder; accepted: {ACCEPTED}")


def _kind(mode: int) -> str:
    """What a file that is neither regular nor a folder is, in words."""
    for test, kind in ((S_ISCHR, "a character device"), (S_ISBLK, "a block device"),
                       (S_ISFIFO, "a FIFO (named pipe)"), (S_ISSOCK, "a socket"),
                       (S_ISDIR, "a folder")):
        if test(mode):
            return kind
    return "a special file"


def _link_target(path: Path) -> str:
    """`` (a link to TARGET)`` if ``path`` is a symbolic link, else ""."""
    return f" (a link to {os.path.realpath(path)})" if os.path.islink(path) else ""


def _check_regular(path: Path, shown: str, limited: bool = True) -> os.stat_result:
    """The status of a regular file (links followed), no larger than MAX_FILE_BYTES if
    ``limited``, or DataError; never opens it."""
    try:
        status = os.stat(path)
    except OSError as error:
        if os.path.islink(path) and not os.path.exists(path):
            raise DataError(f"{shown}: a broken symbolic link (to {os.readlink(path)}); data "
                            "files must be regular files") from None
        raise DataError(f"{shown}: cannot be read ({_reason(error)})") from None
    _check_status(status, path, shown, limited)
    return status


def _check_status(status: os.stat_result, path: Path, shown: str, limited: bool) -> None:
    """DataError unless ``status`` is a regular file (of at most MAX_FILE_BYTES if limited)."""
    if not S_ISREG(status.st_mode):
        raise DataError(f"{shown}: {_kind(status.st_mode)}{_link_target(path)}, not a regular "
                        "file; data files must be regular files")
    if limited and status.st_size > MAX_FILE_BYTES:
        raise DataError(f"{shown}: {_amount(status.st_size)}; a data file may be at most "
                        f"{_amount(MAX_FILE_BYTES)} (a CIFAR-10 batch is about 30 MiB)")


def _open_regular(path: Path, shown: str, limited: bool = True) -> BinaryIO:
    """Open a regular file for reading: checked before opening, opened without blocking (in
    case it was swapped for a FIFO meanwhile) and checked again. An archive is not
    ``limited``: what it expands to is (:class:`_Bounded`)."""
    _check_regular(path, shown, limited)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                             | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise DataError(f"{shown}: cannot be read ({_reason(error)})") from None
    handle = open(descriptor, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    try:
        _check_status(os.fstat(descriptor), path, shown, limited)
    except BaseException:
        handle.close()
        raise
    return handle


def _read_regular(path: Path, shown: str) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES, or a DataError naming it."""
    with _open_regular(path, shown) as handle:
        try:
            data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise DataError(f"{shown}: cannot be read ({_reason(error)})") from None
    if len(data) > MAX_FILE_BYTES:  # it grew after it was checked
        raise DataError(f"{shown}: more than {_amount(MAX_FILE_BYTES)}; a data file may be at "
                        f"most {_amount(MAX_FILE_BYTES)}")
    return data


def _amount(size: int) -> str:
    """A byte count in words: ``512 bytes``, ``256 MiB``, ``29.6 MiB``."""
    if size < MIB:
        return f"{size} bytes"
    return f"{size / MIB:.1f}".removesuffix(".0") + " MiB"


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """``sha256:<hex>`` of the arrays' names, dtypes, shapes and bytes, in ARRAY_NAMES order."""
    hasher = hashlib.sha256()
    for name in ARRAY_NAMES:
        array = np.ascontiguousarray(arrays[name])
        hasher.update(f"{name} {array.dtype.str} {list(array.shape)}\n".encode())
        flat = array.reshape(-1).view(np.uint8)
        for start in range(0, len(flat), _DIGEST_CHUNK):
            hasher.update(flat[start:start + _DIGEST_CHUNK])
    return DIGEST_PREFIX + hasher.hexdigest()


def _is_digest(value: Any) -> bool:
    """Whether a value is a digest as :func:`_digest` writes it."""
    return isinstance(value, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", value) is not None


def _store_meta(cache_dir: Path, meta: dict) -> None:
    """Replace a cache's meta.json atomically; if the folder is read-only, leave it."""
    try:
        descriptor, scratch = tempfile.mkstemp(prefix=".meta.", suffix=".json", dir=cache_dir)
    except OSError:
        return  # the digest is computed again next time
    try:
        with open(descriptor, "w") as handle:
            handle.write(json.dumps(meta, indent=2) + "\n")
        os.chmod(scratch, (cache_dir / "meta.json").stat().st_mode & 0o777)  # not mkstemp's
        os.replace(scratch, cache_dir / "meta.json")
    except OSError:
        Path(scratch).unlink(missing_ok=True)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise


def _cache_key(source: Path | None) -> str:
    """Cache folder name ``<stem>-<12 hex>`` that changes when the source changes."""
    if source is None:
        return KERAS_KEY
    path = source.resolve()
    if path.is_dir():
        layout, root = _locate_dir(path)
        signature = (layout, str(root), *_tree_signature(root))
    else:
        stat = path.stat()
        signature = ("file", stat.st_size, stat.st_mtime_ns)
    digest = hashlib.sha256(repr((str(path), signature)).encode()).hexdigest()[:12]
    return f"{_stem(path)}-{digest}"


def _tree_signature(root: Path) -> tuple[int, int, int]:
    """Number of files, total size and latest mtime (files and folders) under ``root``."""
    count = size = latest = 0
    for folder, _, files in os.walk(root):
        latest = max(latest, _stat(folder)[1])
        for name in files:
            file_size, mtime = _stat(os.path.join(folder, name))
            count, size, latest = count + 1, size + file_size, max(latest, mtime)
    return count, size, latest


def _stat(path: str) -> tuple[int, int]:
    """Size and mtime (ns) of a path; zeros for a dangling link or a vanished file."""
    try:
        stat = os.stat(path)
    except OSError:
        return 0, 0
    return stat.st_size, stat.st_mtime_ns


def _stem(path: Path) -> str:
    """The source's name without archive suffixes, safe as part of a folder name."""
    name = path.name
    for suffix in (".gz", ".bz2", ".xz", ".tgz", ".tar"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[:-len(suffix)]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "data"


def _is_complete(folder: Path) -> bool:
    """Whether a cache folder was fully written (meta.json is written last)."""
    return (folder / "meta.json").is_file()


def _publish(decoded: _Decoded, meta: dict, cache_root: Path, target: Path) -> None:
    """Write arrays and meta into a temporary folder, then rename it to ``target``."""
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        _remove_stale_partials(cache_root)
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial",
                                        dir=cache_root))
        scratch.chmod(0o755)  # mkdtemp makes it private; the cache is as readable as its root
    except OSError as error:
        raise DataError(f"{cache_root}: cannot create the data cache ({_reason(error)}); use a "
                        "writable workspace") from None
    try:
        _write_cache(decoded, meta, scratch)
        os.rename(scratch, target)
    except OSError as error:
        shutil.rmtree(scratch, ignore_errors=True)
        if _is_complete(target):
            return  # another process wrote the same cache first: use it
        raise DataError(f"{target}: cannot write the data cache ({_reason(error)}); delete it "
                        "and make sure the workspace is writable") from None
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _write_cache(decoded: _Decoded, meta: dict, folder: Path) -> None:
    """Write the four arrays, then meta.json, into ``folder``."""
    for name in ARRAY_NAMES:
        np.save(folder / f"{name}.npy", getattr(decoded, name))
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def _remove_stale_partials(cache_root: Path) -> None:
    """Delete temporary folders left by processes killed more than a day ago."""
    cutoff = time.time() - STALE_SECONDS
    for folder in cache_root.glob(".*.partial"):
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


# --------------------------------------------------------------------------------------------
# Decoding: dispatch
# --------------------------------------------------------------------------------------------


def _decode(source: Path | None) -> _Decoded:
    """Decode a source (None: Keras download) into uint8 images and int32 labels."""
    if source is None:
        return _download()
    decoded = _decode_dir(source) if source.is_dir() else _decode_archive(source)
    labels = np.unique(decoded.y_train)
    if len(labels) < MIN_CLASSES:
        shown = ", ".join(repr(decoded.classes[k]) for k in labels)
        raise DataError(f"{source}: every training image is of class {shown or 'none'}; a data "
                        f"set needs images of at least {MIN_CLASSES} classes")
    return decoded


def _download() -> _Decoded:
    """CIFAR-10 from keras.datasets, or a DataError saying how to supply it."""
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as error:  # no network, proxy, broken download: all mean the same here
        raise DataError(
            f"CIFAR-10 could not be downloaded ({type(error).__name__}: {_reason(error)}); "
            f"supply it with --data PATH or {ENV_VAR}=PATH pointing at {ACCEPTED}"
        ) from None
    return _Decoded(np.asarray(x_train, np.uint8), np.asarray(y_train, np.int32).ravel(),
                    np.asarray(x_test, np.uint8), np.asarray(y_test, np.int32).ravel(),
                    CIFAR10_CLASSES)


def _reason(error: BaseException) -> str:
    """An exception's message on one line."""
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return " ".join(text.split()) or type(error).__name__


# --------------------------------------------------------------------------------------------
# Decoding: folders
# --------------------------------------------------------------------------------------------


def _locate_dir(path: Path) -> tuple[str, Path]:
    """``("batches" | "images", folder)`` for a directory source, else DataError."""
    for folder in (path, path / "cifar-10-batches-py"):
        if os.path.lexists(folder / "data_batch_1"):  # checked when read: a regular file
            return "batches", folder
    if any((path / split).is_dir() for split in SPLITS):
        return "images", path
    children = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if len(children) == 1 and any((children[0] / split).is_dir() for split in SPLITS):
        return "images", children[0]
    raise DataError(f"{path}: a folder without cifar-10-batches-py/data_batch_* files or "
                    f"train/<class>/ and test/<class>/ folders; accepted: {ACCEPTED}")


def _decode_dir(path: Path) -> _Decoded:
    """Decode an extracted cifar-10-batches-py folder or an image-folder tree."""
    layout, root = _locate_dir(path)
    if layout == "batches":
        files = {name: _read_regular(root / name, str(root / name)) for name in BATCH_FILES
                 if os.path.lexists(root / name)}
        return _decode_batches(files, str(root), "/")
    return _decode_tree(_scan_tree(root), str(root))


def _scan_tree(root: Path) -> dict[str, dict[str, list[tuple[str, str, Path]]]]:
    """``{split: {class: [(file name, shown name, path)]}}`` under ``root``; every image a
    regular file, at most MAX_FILES of them and MAX_CLASSES class folders per split."""
    tree: dict[str, dict[str, list[tuple[str, str, Path]]]] = {}
    count = 0
    for split in SPLITS:
        tree[split] = {}
        for class_dir in _class_dirs(root, split):
            files = []
            for entry in os.scandir(class_dir):
                if not _is_image_name(entry.name):
                    continue
                count += 1
                if count > MAX_FILES:
                    raise DataError(f"{root}: more than {MAX_FILES} images; an image folder "
                                    f"may hold at most {MAX_FILES} (CIFAR-10 has 60000)")
                path = Path(entry.path)
                _check_regular(path, str(path))
                files.append((entry.name, str(path), path))
            tree[split][class_dir.name] = files
    return tree


def _class_dirs(root: Path, split: str) -> list[Path]:
    """The class folders of ``root/split``, sorted, at most MAX_CLASSES."""
    folder = root / split
    if not folder.is_dir():
        raise DataError(f"{root}: no {split}/ folder next to "
                        f"{'test' if split == 'train' else 'train'}/; an image folder needs "
                        f"train/<class>/* and test/<class>/*")
    found = []
    for entry in os.scandir(folder):
        if entry.is_dir() and not entry.name.startswith("."):
            found.append(Path(entry.path))
            if len(found) > MAX_CLASSES:
                raise DataError(f"{root}: {split}/ holds more than {MAX_CLASSES} class folders; "
                                f"a data set has {MIN_CLASSES} to {MAX_CLASSES} classes, one "
                                "folder each")
    return sorted(found)


# --------------------------------------------------------------------------------------------
# Decoding: archives
# --------------------------------------------------------------------------------------------


def _decode_archive(path: Path) -> _Decoded:
    """Decode a cifar-10-python or image-folder tar archive, streaming its members."""
    files, folders = _read_tar(path)
    batches = sorted(name for name in files if PurePosixPath(name).name == "data_batch_1")
    if batches:
        prefix = str(PurePosixPath(batches[0]).parent)
        wanted = {n: files[_join(prefix, n)] for n in BATCH_FILES if _join(prefix, n) in files}
        return _decode_batches(wanted, str(path), ": ")
    tree = _tar_tree(path, files, folders)
    if tree is None:
        raise DataError(f"{path}: an archive without cifar-10-batches-py/data_batch_* files or "
                        f"train/<class>/ and test/<class>/ images; accepted: {ACCEPTED}")
    return _decode_tree(tree, str(path))


def _read_tar(path: Path) -> tuple[dict[str, bytes], set[str]]:
    """Bytes of the members that may be batches or images, and the folder names."""
    with _open_regular(path, str(path), limited=False) as handle:
        head = _head(handle, path)
        try:
            stream = _Bounded(_decompressed(handle, head), path)
        except _ARCHIVE_ERRORS as error:
            raise _corrupt(path, error) from None
        with _open_tar(stream, path, head) as archive:
            try:
                members = _read_members(archive, path)
                if head.startswith(_COMPRESSED):  # read to the end: checks length and CRC
                    stream.drain()
                else:  # plain tar: the block reading stopped at is zeros
                    _check_tar_end(archive)
            except _ARCHIVE_ERRORS as error:
                raise _corrupt(path, error) from None
    return members


def _corrupt(path: Path, error: BaseException) -> DataError:
    """The error for an archive that cannot be read to its end."""
    return DataError(f"{path}: the archive is truncated or corrupt ({_reason(error)}); "
                     "download or copy it again")


def _read_members(archive: tarfile.TarFile, path: Path) -> tuple[dict[str, bytes], set[str]]:
    """Read the wanted members, each checked by its header before its bytes are read."""
    files: dict[str, bytes] = {}
    folders: set[str] = set()
    for count, member in enumerate(archive, start=1):
        name = _member_name(member.name)
        if count > MAX_FILES:
            raise DataError(f"{path}: more than {MAX_FILES} members; an archive may hold at "
                            f"most {MAX_FILES} files and folders (CIFAR-10 has 60000 images)")
        wanted = not member.isdir() and _is_wanted_member(name)
        if wanted and member.size > MAX_FILE_BYTES:
            raise DataError(f"{path}: {name}: a member of {_amount(member.size)}; an archive "
                            f"member may be at most {_amount(MAX_FILE_BYTES)} (a CIFAR-10 "
                            "batch is about 30 MiB)")
        if member.offset_data + member.size > MAX_ARCHIVE_BYTES:
            raise DataError(f"{path}: {name}: the archive expands to "
                            f"{_amount(member.offset_data + member.size)} up to this member; "
                            f"an archive may expand to at most {_amount(MAX_ARCHIVE_BYTES)} "
                            "(the official cifar-10-python.tar.gz: about 178 MiB)")
        if member.isdir():
            folders.add(name)
        elif wanted:
            if not member.isfile():
                raise DataError(f"{path}: {name}: {_member_kind(member)} in the archive, not a "
                                "regular file; images and batches must be regular files")
            files[name] = archive.extractfile(member).read()
            folders.update(str(p) for p in PurePosixPath(name).parents if str(p) != ".")
    return files, folders


def _member_kind(member: tarfile.TarInfo) -> str:
    """What an archive member that is neither a regular file nor a folder is, in words."""
    for test, kind in ((member.issym, "a symbolic link"), (member.islnk, "a hard link"),
                       (member.ischr, "a character device"), (member.isblk, "a block device"),
                       (member.isfifo, "a FIFO (named pipe)")):
        if test():
            return kind
    return "a special member"


# Magic bytes of the compressions a tar archive may have, and their readers.
_DECOMPRESSORS = ((b"\x1f\x8b", gzip.GzipFile), (b"BZh", bz2.BZ2File),
                  (b"\xfd7zXZ\x00", lzma.LZMAFile))
_COMPRESSED = tuple(magic for magic, _ in _DECOMPRESSORS)


def _head(handle: BinaryIO, path: Path) -> bytes:
    """The first block of a file (then back to its start), or DataError if it is empty."""
    try:
        head = handle.read(tarfile.BLOCKSIZE)
        handle.seek(0)
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({_reason(error)})") from None
    if not head:
        raise DataError(f"{path}: the file is empty; accepted: {ACCEPTED}")
    return head


def _decompressed(handle: BinaryIO, head: bytes) -> BinaryIO:
    """The file's tar bytes: decompressed as its magic bytes say, or the file itself."""
    for magic, reader in _DECOMPRESSORS:
        if head.startswith(magic):
            return reader(fileobj=handle) if reader is gzip.GzipFile else reader(handle)
    return handle


class _Bounded:
    """A read-only view of an archive's tar bytes that refuses to go past MAX_ARCHIVE_BYTES or
    to read more than a member's worth at once: an archive that expands hugely (a small
    .tar.gz of gigabytes of zeros) is refused by what is read, not after reading it all."""

    def __init__(self, inner: BinaryIO, path: Path) -> None:
        self._inner = inner
        self._path = path
        self._limit = MAX_ARCHIVE_BYTES
        self._largest = MAX_FILE_BYTES + tarfile.BLOCKSIZE  # a member, or a header's records

    def tell(self) -> int:
        """Position in the tar bytes."""
        return self._inner.tell()

    def seekable(self) -> bool:
        """Forward seeks are reads of a compressed stream; both are bounded."""
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Go to ``offset``, unless it lies past the limit."""
        if whence == io.SEEK_END:
            raise io.UnsupportedOperation("an archive is not read from its end")
        target = offset + (self._inner.tell() if whence == io.SEEK_CUR else 0)
        if target > self._limit:
            self._refuse()
        return self._inner.seek(target)

    def read(self, size: int = -1) -> bytes:
        """At most ``size`` bytes, unless they lie past the limit or are too many at once."""
        if size is None or size < 0:
            raise io.UnsupportedOperation("an archive is read in bounded pieces")
        if size > self._largest:
            raise DataError(f"{self._path}: an entry of {_amount(size)} at byte "
                            f"{self._inner.tell()}; an archive member may be at most "
                            f"{_amount(MAX_FILE_BYTES)}")
        room = self._limit - self._inner.tell()
        if size <= room:
            return self._inner.read(size)
        data = self._inner.read(max(room, 0))
        if self._inner.read(1):
            self._refuse()
        return data

    def drain(self) -> None:
        """Read to the end, within the limit."""
        while self.read(MIB):
            pass

    def _refuse(self) -> None:
        """DataError: the archive expands past the limit."""
        raise DataError(f"{self._path}: the archive expands to more than "
                        f"{_amount(self._limit)}; an archive may expand to at most "
                        f"{_amount(self._limit)} (the official cifar-10-python.tar.gz: about "
                        "178 MiB)")


def _open_tar(stream: _Bounded, path: Path, head: bytes) -> tarfile.TarFile:
    """Open tar bytes, or raise DataError saying what the file is."""
    try:
        return tarfile.open(fileobj=stream, mode="r:")  # type: ignore[call-overload]
    except _ARCHIVE_ERRORS:
        if _looks_like_archive(path, head):
            raise DataError(f"{path}: the archive is truncated or corrupt (it cannot be opened "
                            "as tar, tar.gz, tar.bz2 or tar.xz); download or copy it again"
                            ) from None
        raise DataError(f"{path}: not a tar or tar.gz archive and not a folder; accepted: "
                        f"{ACCEPTED}") from None


def _looks_like_archive(path: Path, head: bytes) -> bool:
    """Whether a file's magic bytes or name say it is a (compressed) tar archive."""
    magic = head.startswith(_COMPRESSED) or head[257:262] == b"ustar"
    return magic or path.name.lower().endswith((".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz"))


def _check_tar_end(archive: tarfile.TarFile) -> None:
    """Raise tarfile.ReadError unless a plain tar's reading stopped at its end marker."""
    archive.fileobj.seek(archive.offset)
    if archive.fileobj.read(tarfile.BLOCKSIZE) != bytes(tarfile.BLOCKSIZE):
        raise tarfile.ReadError("it ends before the end-of-archive marker")


def _member_name(name: str) -> str:
    """A member name without ``./`` or trailing slashes."""
    return str(PurePosixPath(name.rstrip("/")))


def _join(prefix: str, name: str) -> str:
    """``prefix/name``, or ``name`` when the prefix is the archive root."""
    return name if prefix in ("", ".") else f"{prefix}/{name}"


def _is_wanted_member(name: str) -> bool:
    """Whether a member may be a CIFAR-10 batch or an image."""
    base = PurePosixPath(name).name
    return base in BATCH_FILES or _is_image_name(base)


def _is_image_name(name: str) -> bool:
    """Whether a file name has an image suffix and is not hidden."""
    return not name.startswith(".") and PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES


def _tar_tree(path: Path, files: dict[str, bytes], folders: set[str]
              ) -> dict[str, dict[str, list[tuple[str, str, bytes]]]] | None:
    """``{split: {class: [(file, shown name, bytes)]}}`` of an image-folder archive."""
    roots = {_tree_root(name) for name in folders | set(files)} - {None}
    if not roots:
        return None
    if len(roots) > 1:
        shown = ", ".join(f"{r or '.'}/" for r in sorted(roots))
        raise DataError(f"{path}: several train/ and test/ trees ({shown}); keep one")
    root = roots.pop()
    depth = len(PurePosixPath(root).parts) if root else 0
    tree: dict[str, dict[str, list[tuple[str, str, bytes]]]] = {s: {} for s in SPLITS}
    for name in sorted(folders):
        parts = PurePosixPath(name).parts[depth:]
        if len(parts) == 2 and parts[0] in SPLITS and not parts[1].startswith("."):
            tree[parts[0]].setdefault(parts[1], [])
    for name, data in files.items():
        parts = PurePosixPath(name).parts[depth:]
        if _tree_root(name) == root and len(parts) == 3 and not parts[1].startswith("."):
            tree[parts[0]].setdefault(parts[1], []).append((parts[2], f"{path}: {name}", data))
    for split in SPLITS:
        if _join(root, split) not in folders:
            raise DataError(f"{path}: no {_join(root, split)}/ folder in the archive; an image "
                            "folder needs train/<class>/* and test/<class>/*")
    return tree


def _tree_root(name: str) -> str | None:
    """The folder holding train/ or test/ in a member name (at most one level deep)."""
    parts = PurePosixPath(name).parts
    if parts and parts[0] in SPLITS:
        return ""
    if len(parts) > 1 and parts[1] in SPLITS:
        return parts[0]
    return None


# --------------------------------------------------------------------------------------------
# Decoding: image trees
# --------------------------------------------------------------------------------------------


def _decode_tree(tree: dict[str, dict[str, list[tuple[str, str, bytes | Path]]]],
                 where: str) -> _Decoded:
    """Decode ``{split: {class: [(file, shown name, bytes or path)]}}`` in sorted order."""
    classes = _check_classes(tree, where)
    train, test = (_ordered(tree[split], classes) for split in SPLITS)
    images = _decode_images([(shown, item) for _, shown, item in train + test], where)
    return _Decoded(images[:len(train)], np.array([label for label, _, _ in train], np.int32),
                    images[len(train):], np.array([label for label, _, _ in test], np.int32),
                    tuple(classes))


def _ordered(split: dict[str, list[tuple[str, str, bytes | Path]]], classes: list[str]
             ) -> list[tuple[int, str, bytes | Path]]:
    """``(label, shown name, bytes or path)`` of one split, by class then file name."""
    return [(label, shown, item) for label, name in enumerate(classes)
            for _, shown, item in sorted(split[name], key=lambda entry: entry[0])]


def _decode_images(items: list[tuple[str, bytes | Path]], where: str) -> np.ndarray:
    """Decode ``(shown name, bytes or path)`` images of one size into ``(N, H, W, 3)``."""
    first_shown, first_item = items[0]
    first = _decode_image(first_item, first_shown)
    if len(items) * first.nbytes > MAX_DECODED_BYTES:
        raise DataError(f"{where}: {len(items)} images of {_size(first.shape)} decode to "
                        f"{_amount(len(items) * first.nbytes)}; a data set may decode to at most "
                        f"{_amount(MAX_DECODED_BYTES)} (CIFAR-10: 176 MiB)")
    images = np.empty((len(items),) + first.shape, dtype=np.uint8)
    images[0] = first
    for i, (shown, item) in enumerate(items[1:], start=1):
        image = _decode_image(item, shown)
        if image.shape != first.shape:
            raise DataError(f"{shown}: image is {_size(image.shape)} but the first image "
                            f"({first_shown}) is {_size(first.shape)}; all images must have "
                            "one size")
        images[i] = image
    return images


def _check_classes(tree: dict[str, dict[str, list]], where: str) -> list[str]:
    """Sorted class names; DataError for empty splits, empty classes or mismatched classes."""
    for split in SPLITS:
        if not tree[split]:
            raise DataError(f"{where}: {split}/ holds no class folders; an image folder needs "
                            f"{split}/<class>/<image>")
        for name, files in sorted(tree[split].items()):
            if not files:
                raise DataError(f"{where}: {split}/{name}/ holds no images; supported suffixes "
                                f"are {', '.join(sorted(IMAGE_SUFFIXES))}")
    train, test = sorted(tree["train"]), sorted(tree["test"])
    if train != test:
        raise DataError(f"{where}: test/ classes {test} differ from train/ classes {train}; "
                        "both must hold the same class folders")
    _check_class_count(train, where, "class folders in train/ and test/")
    return train


def _check_class_count(classes: list[str] | tuple[str, ...], where: str, what: str) -> None:
    """DataError unless there are MIN_CLASSES to MAX_CLASSES classes."""
    if MIN_CLASSES <= len(classes) <= MAX_CLASSES:
        return
    shown = f" ({', '.join(classes)})" if 0 < len(classes) < MIN_CLASSES else ""
    raise DataError(f"{where}: {len(classes)} class{'es' if len(classes) != 1 else ''}{shown}; "
                    f"a data set needs {MIN_CLASSES} to {MAX_CLASSES} classes ({what})")


def _decode_image(item: bytes | Path, shown: str) -> np.ndarray:
    """One image as uint8 ``(H, W, 3)``; its size is checked before its pixels are decoded."""
    data = _read_regular(item, shown) if isinstance(item, Path) else item
    too_large = (f"an image may be at most {MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE} pixels (CIFAR-10's "
                 "are 32x32)")
    try:
        with warnings.catch_warnings():  # Pillow warns of sizes that are refused just below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        with image:
            width, height = image.size
            if max(width, height) <= MAX_IMAGE_SIDE:
                return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    except Image.DecompressionBombError as error:  # Pillow's own, higher limit
        raise DataError(f"{shown}: image is too large ({_reason(error)}); {too_large}") from None
    except Exception as error:  # Pillow raises many types for bad files
        raise DataError(f"{shown}: unreadable image ({type(error).__name__}: "
                        f"{_reason(error)}); replace or delete the file") from None
    raise DataError(f"{shown}: image is {width}x{height}; {too_large}")


def _size(shape: tuple[int, ...]) -> str:
    """``WxH`` of an image shape."""
    return f"{shape[1]}x{shape[0]}"


# --------------------------------------------------------------------------------------------
# Decoding: cifar-10-python batches
# --------------------------------------------------------------------------------------------


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that only builds NumPy arrays, never arbitrary objects."""

    def find_class(self, module: str, name: str):
        """Allow the few globals a CIFAR-10 batch needs."""
        module = re.sub(r"^numpy\.core\b", "numpy._core", module)
        if (module, name) not in _SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR-10 batch")
        return super().find_class(module, name)


def _decode_batches(files: dict[str, bytes], where: str, sep: str) -> _Decoded:
    """Decode data_batch_1..5, test_batch and batches.meta (``{name: bytes}``)."""
    missing = [name for name in BATCH_FILES if name not in files]
    if missing:
        raise DataError(f"{where}{sep}{', '.join(missing)} missing; cifar-10-batches-py needs "
                        f"{', '.join(BATCH_FILES)}")
    meta = _unpickle(files["batches.meta"], f"{where}{sep}batches.meta")
    classes = tuple(_text(n) for n in _field(meta, "label_names", f"{where}{sep}batches.meta"))
    _check_class_count(classes, f"{where}{sep}batches.meta", "label_names")
    train = [_read_batch(files[n], f"{where}{sep}{n}", len(classes)) for n in TRAIN_BATCHES]
    x_test, y_test = _read_batch(files["test_batch"], f"{where}{sep}test_batch", len(classes))
    return _Decoded(np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
                    x_test, y_test, classes)


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
    except Exception as error:  # any malformed pickle
        raise DataError(f"{where}: not a CIFAR-10 batch ({_reason(error)})") from None
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

"""Data: decode a source once into a cache, describe the cache, split it per seed.

Finding and reading a source safely (folders, tar archives, cifar-10-python batches, image
decoding, the limits) is :mod:`cifar_search.model.sources`; this module re-exports what callers
use of it (:func:`resolve_source`, the layouts and the limits). Decoded images are cached as
uint8 ``.npy`` arrays in a folder named after the source and its size and modification time
(a Keras data set: its name; a function: the digest of what it returns),
written atomically under a lock, so a source is decoded once, even by several processes (or
machines sharing the cache folder) that need it at the same moment, and every later trial
and worker maps the arrays from disk. The folders are checked before use, held while used
and kept under a size cap by :mod:`cifar_search.model.data_cache`. Pixels are scaled to
[0, 1] when a split is loaded; splits and the test set are memoised per process.

Bad data is refused with one :class:`~cifar_search.errors.DataError` line before anything is
cached; the ``MAX_*`` and ``*_CLASSES`` constants below (documented on
:class:`~cifar_search.model.sources.Limits`) bound what a source may cost, read on each call of
:func:`prepare`. :func:`identity` describes a cache's content without its path, for a study's
fingerprint.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cifar_search.errors import DataError
from cifar_search.model import data_cache, sources
from cifar_search.model.sources import (
    ACCEPTED,
    BATCH_FILES,
    CIFAR10_CLASSES,
    ENV_VAR,
    IMAGE_SUFFIXES,
    MIB,
    SPLITS,
    TRAIN_BATCHES,
    resolve_source,
)
from cifar_search.model.sources.base import fine_only, reason
from cifar_search.model.sources.functions import call

__all__ = ["ACCEPTED", "ARRAY_NAMES", "BATCH_FILES", "CIFAR10_CLASSES", "DIGEST_PREFIX",
           "ENV_VAR", "IMAGE_SUFFIXES", "KERAS_KEY", "MAX_ARCHIVE_BYTES", "MAX_CLASSES",
           "MAX_DECODED_BYTES", "MAX_FILES", "MAX_FILE_BYTES", "MAX_IMAGE_SIDE", "MIB",
           "MIN_CLASSES", "SPLITS", "STALE_SECONDS", "TRAIN_BATCHES", "Split", "identity",
           "class_names", "load_split", "load_test", "prepare", "prepared", "read_meta",
           "resolve_source", "split_sizes"]

ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
KERAS_KEY = "keras-cifar10"
STALE_SECONDS = 24 * 3600
DIGEST_PREFIX = "sha256:"

# Limits on a data source, one constant each (the defaults of sources.Limits, where each is
# explained); prepare reads them when it is called, so lowering one here takes effect.
_DEFAULT = sources.Limits()
MAX_FILE_BYTES = _DEFAULT.file_bytes
MAX_ARCHIVE_BYTES = _DEFAULT.archive_bytes
MAX_FILES = _DEFAULT.files
MAX_IMAGE_SIDE = _DEFAULT.image_side
MAX_DECODED_BYTES = _DEFAULT.decoded_bytes
MIN_CLASSES = _DEFAULT.min_classes
MAX_CLASSES = _DEFAULT.max_classes
#: Times :func:`prepare` looks for a folder that other processes keep removing (past the cap).
_TRIES = 3
#: Bytes hashed at a time for a cache's content digest (its arrays are memory-mapped).
_DIGEST_CHUNK = 16 * MIB


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
        """Shape of one image, ``(height, width, channels)``, channels 1 or 3."""
        return tuple(int(n) for n in self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def prepare(source: sources.Source | str | os.PathLike, cache_root: Path,
            labels: str = "fine") -> Path:
    """Decode ``source`` once into a cache folder under ``cache_root`` and return that folder.

    The folder holds ``x_train.npy``, ``y_train.npy``, ``x_test.npy``, ``y_test.npy`` (uint8
    images ``(N, H, W, C)``, C being 1 or 3; int32 labels) and ``meta.json``. Its name depends
    on the source's path, size and modification time (and ``labels``), so an unchanged source
    is reused and a changed one is decoded again; a Keras data set's on its name; a function's
    on the digest of what it returns (the function is called each time: see
    :mod:`cifar_search.model.sources.functions`). It is written into a temporary folder and
    renamed into place, by one process at a time (a lock file ``.<folder name>.lock`` beside
    it): a process that finds another decoding the same source waits for it and uses its
    folder. A folder found is checked first (:mod:`cifar_search.model.data_cache`: its
    arrays' sizes and times as recorded, else their digest): a damaged one is set aside and
    decoded again, said in one line on stderr. The folder returned is held by this process
    for its life (no other process evicts it); one written makes the least recently used
    others go past ``$CIFAR_SEARCH_DATA_CACHE_MAX``.

    Args:
        source: a file or folder in an accepted layout, a Keras data set, a function, or None
            to download CIFAR-10.
        cache_root: folder that holds the caches (created if missing).
        labels: ``fine`` or ``coarse``: CIFAR-100's labelling (other data: ``fine``).

    Returns:
        The cache folder.

    Raises:
        DataError: the source is missing, unreadable, not a regular file or folder, not in an
            accepted layout, past a limit (``MAX_*``, ``MIN_CLASSES``), or cannot be
            downloaded; a function raised or returned other than data arrays; or the cache
            cannot be written. Nothing is left in ``cache_root``.
    """
    cache_root = Path(cache_root)
    if isinstance(source, (str, os.PathLike)):
        source = Path(source)
    if isinstance(source, sources.FunctionSource):
        return _prepare_returned(source, cache_root, labels)
    if isinstance(source, Path):
        sources.check_source(source)
    target = cache_root / _cache_key(source, labels)
    return _obtained(target, source, lambda: _publish_decoded(
        _decode(source, labels), _shown_source(source), cache_root, target))


def _prepare_returned(source: sources.FunctionSource, cache_root: Path, labels: str) -> Path:
    """The cache of what a function returns: called, then cached by the arrays' digest."""
    fine_only(labels, str(source))
    decoded = call(source, _limits())
    digest = _digest({name: getattr(decoded, name) for name in ARRAY_NAMES})
    target = cache_root / f"{_stem(Path(source.name))}-{digest.removeprefix(DIGEST_PREFIX)[:12]}"
    return _obtained(target, source, lambda: _publish_decoded(
        decoded, str(source), cache_root, target, digest))


def _obtained(target: Path, source: sources.Source, publish: Callable[[], None]) -> Path:
    """The cache folder ``target``: used when complete and intact, else written by ``publish``
    under the decoding lock (unless another process wrote it while this one waited); then held
    by this process (and looked for again if another removed it meanwhile)."""
    for _ in range(_TRIES):
        found: Path | None = target
        if not (_is_complete(target) and _intact(target)):
            with _decoding(target.parent, target):
                found = _fresh(target, target.parent, publish)
        if data_cache.hold(target):
            return _checked(target, source) if found else target
    raise DataError(f"{target}: removed by another process {_TRIES} times while this one "
                    f"prepared it; raise {data_cache.CAP_ENV} or run one sweep at a time")


def _fresh(target: Path, cache_root: Path, publish: Callable[[], None]) -> Path | None:
    """Under the decoding lock: ``target`` when it is complete and intact now (another process
    wrote it meanwhile), else None after publishing it (a damaged one set aside first), then
    evicting what the cap leaves no room for."""
    if _is_complete(target):
        if _intact(target, say=True):
            return target
        data_cache.set_aside(target)  # even if held: a process mapping it keeps its arrays
    publish()
    data_cache.evict(cache_root, keep=target)
    return None


def _intact(target: Path, say: bool = False) -> bool:
    """Whether a complete cache folder's arrays are as written: their sizes and times as
    recorded, else (copied, or written before the record) their content as its digest says.
    ``say``: print why when not (one line, on stderr)."""
    found = data_cache.file_stats(target, [f"{name}.npy" for name in ARRAY_NAMES])
    verdict, why = data_cache.verdict(data_cache.recorded_stats(target), found)
    if verdict is data_cache.Verdict.REHASH:
        recorded = read_meta(target).get("digest")
        if not _is_digest(recorded):
            return True  # written before digests (compatibility C2): nothing to check against
        try:
            same = _digest({name: _open_array(target, name) for name in ARRAY_NAMES}) == recorded
        except DataError:
            same = False
        if same:
            data_cache.record_stats(target, found)
            return True
        why = f"{why or 'its arrays changed'}, and their digest is not the recorded one"
    elif verdict is data_cache.Verdict.USE:
        return True
    if say:
        print(f"{target}: decoded data not as written ({why}); decoding it again",
              file=sys.stderr)
    return False


def _checked(target: Path, source: sources.Source) -> Path:
    """A complete cache folder, its classes checked against the limits as they are now."""
    _limits().check_classes(read_meta(target).get("classes", []), str(source or KERAS_KEY),
                            "classes")
    return target


def _shown_source(source: sources.Source) -> str:
    """A source as its cache's meta.json records it."""
    if isinstance(source, Path):
        return str(source.resolve())
    return str(source or sources.KerasDataset("cifar10"))


def _publish_decoded(decoded: sources.Decoded, shown: str, cache_root: Path, target: Path,
                     digest: str | None = None) -> None:
    """Describe decoded data and publish it as the cache folder ``target``."""
    meta = {
        "source": shown,
        "classes": list(decoded.classes),
        "train": int(len(decoded.x_train)),
        "test": int(len(decoded.x_test)),
        "image_shape": [int(n) for n in decoded.x_train.shape[1:]],
        "digest": digest or _digest({name: getattr(decoded, name) for name in ARRAY_NAMES}),
    }
    _publish(decoded, meta, cache_root, target)


def prepared(source: str | os.PathLike | Callable[[], Any] | None, cache_root: Path,
             labels: str = "fine", fallback: Path | None = None) -> Path:
    """The decoded-data cache of a sweep's source: what every engine calls to get its data.

    :func:`resolve_source` (``source``, else ``$CIFAR_SEARCH_DATA``, else a Keras download),
    then :func:`prepare`; the cap (``$CIFAR_SEARCH_DATA_CACHE_MAX``) checked first.

    Args:
        source: the sweep's ``data.source`` (after any ``--data``), or None.
        cache_root: folder that holds the caches (a workspace's ``decoded_data``: the user
            cache's, shared by every workspace, or the ``--checkpoints`` folder's).
        labels: the sweep's ``data.labels`` (CIFAR-100's ``fine`` or ``coarse``).
        fallback: the caches' folder where ``cache_root`` cannot be written (a workspace's
            own ``data_cache``).

    Returns:
        The cache folder, for :func:`load_split`, :func:`load_test` and :func:`read_meta`.

    Raises:
        DataError: as :func:`prepare`.
        ConfigError: ``$CIFAR_SEARCH_DATA_CACHE_MAX`` is not a size.

    Example:
        >>> cache = prepared("cifar-10-python.tar.gz", Path("workspace/data"))  # doctest: +SKIP
    """
    data_cache.cap_bytes()  # refused before anything is decoded
    return prepare(resolve_source(source), data_cache.writable(Path(cache_root), fallback),
                   labels)


def read_meta(cache_dir: Path) -> dict:
    """Read the description of a cache folder.

    Args:
        cache_dir: a folder returned by :func:`prepare`.

    Returns:
        ``{"source", "classes", "train", "test", "image_shape", "digest"}`` (without ``"digest"``
        in a cache that :func:`identity` has not completed yet: compatibility C2).

    Raises:
        DataError: the folder holds no readable ``meta.json``.
    """
    path = Path(cache_dir) / "meta.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read the data cache description ({reason(error)}); "
                        "delete the folder to decode the data again") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: the data cache description is a {type(meta).__name__}, not "
                        "an object; delete the folder to decode the data again")
    return meta


def identity(cache_dir: Path) -> dict[str, Any]:
    """What the data of a cache folder is, without where it is: plain JSON data.

    Two caches of the same images, labels and class names have equal identities wherever they
    are (another workspace, a copied one, the same source at another path), and any other data
    has another digest. The digest is computed once, when the cache is written; a cache without
    one (compatibility C2, ``docs/compatibility.md``) gets it on the first call (hashing its
    arrays once: 0.1 s for CIFAR-10), stored atomically in its ``meta.json`` for later calls.

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
                        f"({type(error).__name__}: {reason(error)}); delete the folder to "
                        "decode the data again") from None
    digest = meta.get("digest")
    if not _is_digest(digest):
        digest = _digest({name: _open_array(cache_dir, name) for name in ARRAY_NAMES})
        _store_meta(cache_dir, {**meta, "digest": digest})
    return {**described, "digest": digest}


#: Validation sets taken from the test set (``Data(validation=...)``): all of it, or a seeded
#: half (the other half is then the test set).
TEST_VALIDATION = ("test", "test_half")


@functools.lru_cache(maxsize=2)
def load_split(cache_dir: Path, validation: float | str = 0.2, subset: int | None = None,
               seed: int = 0, scaled: bool = True,
               classes: tuple[str, ...] | None = None) -> Split:
    """Training and validation arrays, pixels float32 in [0, 1] (memoised per process).

    With ``scaled=False`` the pixels stay uint8 (0-255), a quarter of the memory: the trial
    input pipeline scales each batch as it goes (:func:`cifar_search.model.pipeline.batches`), which
    gives the same float32 values.

    The training set (its images of ``classes`` only, when given) is permuted with ``seed``;
    if ``subset`` is given only the first ``subset`` images of that permutation are used; the
    last ``round(validation * n)`` of those (at least 1 when ``validation > 0``) are the
    validation set. With ``validation="test"`` every training image trains and the test set
    validates; with ``"test_half"``, a seeded half of the test set (:func:`load_test` gives
    the other half).

    Args:
        cache_dir: a folder returned by :func:`prepare`.
        validation: fraction of the images held out, in [0, 1), or ``"test"``, ``"test_half"``.
        subset: number of training images to use, or None for all.
        seed: seed of the permutation.
        scaled: float32 pixels in [0, 1] (True) or uint8 pixels (False).
        classes: the class names to keep, in the order of their new labels 0, 1, …; None
            keeps every class.

    Returns:
        The split. Its arrays are read-only, since they are shared by later calls.

    Raises:
        DataError: ``subset`` is more than the training set, no training image is left, or a
            class is not in the data.
    """
    test_set = validation in TEST_VALIDATION
    if not test_set and not (isinstance(validation, (int, float)) and 0 <= validation < 1):
        raise ValueError(f"validation={validation!r} is not allowed; give a fraction in [0, 1), "
                         f"or one of {', '.join(TEST_VALIDATION)}")
    fraction = 0.0 if isinstance(validation, str) else validation  # the test set: none held
    x = _open_array(cache_dir, "x_train")
    y = _open_array(cache_dir, "y_train")
    names, pick = _class_subset(cache_dir, classes)
    pool = _of_classes(y, pick)
    train, val = _split_indices(len(x), fraction, subset, seed, cache_dir, pool)
    pixels = _scaled if scaled else _read_only
    if test_set:
        x_val, y_val = _test_part(cache_dir, pick, validation, seed, validating=True)
        return Split(pixels(x[train]), _labels(_relabel(y[train], pick)), pixels(x_val),
                     _labels(_relabel(y_val, pick)), names)
    return Split(pixels(x[train]), _labels(_relabel(y[train], pick)), pixels(x[val]),
                 _labels(_relabel(y[val], pick)), names)


@functools.lru_cache(maxsize=1)
def load_test(cache_dir: Path, classes: tuple[str, ...] | None = None,
              validation: float | str = 0.2,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Test images and labels (memoised per process): the images of ``classes`` (relabelled
    as in :func:`load_split`), and with ``validation="test_half"`` the half that does not
    validate.

    Args:
        cache_dir: a folder returned by :func:`prepare`.
        classes, validation, seed: as given to :func:`load_split`.

    Returns:
        Read-only float32 images in [0, 1] and int32 labels.
    """
    _, pick = _class_subset(cache_dir, classes)
    x, y = _test_part(cache_dir, pick, validation, seed, validating=False)
    return _scaled(x), _labels(_relabel(y, pick))


def class_names(cache_dir: Path, classes: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The class names of a split's labels 0, 1, …: ``classes``, or every class of the data."""
    return _class_subset(cache_dir, classes)[0]


# --------------------------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------------------------


def _class_subset(cache_dir: Path, classes: tuple[str, ...] | None
                  ) -> tuple[tuple[str, ...], np.ndarray | None]:
    """The names kept and their original labels (None: every class, labels unchanged)."""
    every = tuple(read_meta(cache_dir)["classes"])
    if classes is None:
        return every, None
    missing = [name for name in classes if name not in every]
    if missing:
        raise DataError(f"{cache_dir}: data.classes: {missing[0]!r} is not a class of the "
                        f"data; its classes are {', '.join(every)}")
    return tuple(classes), np.array([every.index(name) for name in classes], dtype=np.int64)


def _of_classes(labels: np.ndarray, pick: np.ndarray | None) -> np.ndarray | None:
    """Indices of the images whose label is in ``pick`` (None: every image)."""
    return None if pick is None else np.flatnonzero(np.isin(np.asarray(labels), pick))


def _relabel(labels: np.ndarray, pick: np.ndarray | None) -> np.ndarray:
    """Labels renumbered 0, 1, … in the order of ``pick`` (unchanged when None)."""
    if pick is None:
        return np.asarray(labels)
    lookup = np.full(int(max(pick.max(), np.max(labels, initial=0))) + 1, -1, dtype=np.int64)
    lookup[pick] = np.arange(len(pick))
    return lookup[np.asarray(labels)]


def _test_part(cache_dir: Path, pick: np.ndarray | None, validation: float | str, seed: int,
               validating: bool) -> tuple[np.ndarray, np.ndarray]:
    """The test images (of the kept classes) that validate (``validating``) or test: with
    ``test_half`` a seeded half each; with ``test`` all of them either way."""
    x = _open_array(cache_dir, "x_test")
    y = _open_array(cache_dir, "y_test")
    keep = _of_classes(y, pick)
    index = np.arange(len(y)) if keep is None else keep
    if validation == "test_half":
        order = index[np.random.default_rng(seed).permutation(len(index))]
        half = len(order) // 2
        index = np.sort(order[:half] if validating else order[half:])
    return x[index], y[index]
def split_sizes(n: int, validation: float | str, subset: int | None) -> dict[str, int]:
    """How many images train and validate: ``subset`` of the ``n`` (all when None), the last
    ``round(validation * images)`` of them (at least 1 when ``validation > 0``) validating;
    none of them with ``validation="test"`` or ``"test_half"`` (the test set validates).

    Example:
        >>> split_sizes(50000, 0.2, None)
        {'train': 40000, 'validation': 10000}
    """
    images = min(max(int(subset), 0), n) if subset is not None else n
    if validation in TEST_VALIDATION:  # the test set validates: every image trains
        return {"train": images, "validation": 0}
    if isinstance(validation, str):
        raise ValueError(f"validation={validation!r} is not allowed; give a fraction in [0, 1), "
                         f"or one of {', '.join(TEST_VALIDATION)}")
    n_val = round(validation * images)
    if validation > 0:
        n_val = max(n_val, 1)
    return {"train": images - n_val, "validation": n_val}


def _split_indices(n: int, validation: float, subset: int | None, seed: int,
                   cache_dir: Path,
                   pool: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation indices: a seeded permutation (of ``pool``, the indices of the
    kept classes, when given), cut to subset, then split."""
    if pool is None:
        order = np.random.default_rng(seed).permutation(n)
    else:
        order = pool[np.random.default_rng(seed).permutation(len(pool))]
        n = len(pool)
    if subset is not None:
        if subset > n:
            raise DataError(f"{cache_dir}: subset {subset} is more than the {n} training "
                            "images; give a smaller subset or none")
        order = order[:max(int(subset), 0)]
    n_val = split_sizes(len(order), validation, None)["validation"]
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
        raise DataError(f"{path}: cannot read the cached array ({reason(error)}); delete "
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


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """``sha256:<hex>`` of the arrays' names, dtypes, shapes and bytes, in ARRAY_NAMES order."""
    hasher = hashlib.sha256()
    for name in ARRAY_NAMES:
        array = np.ascontiguousarray(arrays[name])
        hasher.update(f"{name} {array.dtype.str} {list(array.shape)}\n".encode())
        flat = array.reshape(-1).view(np.uint8)
        for start in range(0, len(flat), _DIGEST_CHUNK):
            # numpy's stubs lack the buffer protocol (__buffer__) that ndarray implements
            hasher.update(flat[start:start + _DIGEST_CHUNK])  # type: ignore[arg-type]
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


def _cache_key(source: Path | sources.KerasDataset | None, labels: str = "fine") -> str:
    """Cache folder name ``<stem>-<12 hex>`` that changes when the source (or the labelling
    chosen) changes; ``keras-<name>`` for a Keras data set."""
    suffix = "" if labels == "fine" else f"-{labels}"
    if source is None or isinstance(source, sources.KerasDataset):
        name = "cifar10" if source is None else source.name
        return (KERAS_KEY if name == "cifar10" else f"keras-{name}") + suffix
    path = source.resolve()
    key = (str(path), sources.signature(path)) + ((labels,) if suffix else ())
    digest = hashlib.sha256(repr(key).encode()).hexdigest()
    return f"{_stem(path)}-{digest[:12]}"


def _stem(path: Path) -> str:
    """The source's name without archive suffixes, safe as part of a folder name."""
    name = path.name
    for suffix in (".gz", ".bz2", ".xz", ".tgz", ".tar"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[:-len(suffix)]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "data"


@contextlib.contextmanager
def _decoding(cache_root: Path, target: Path) -> Iterator[None]:
    """Hold the lock on decoding into ``target`` (waiting while another process holds it).
    A file system without locks (some network mounts) is decoded into without one: the
    atomic rename still lets one copy win, the others being discarded. The lock file stays
    beside a cache written, and is removed when nothing was."""
    lock = cache_root / f".{target.name}.lock"
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        handle = open(lock, "a")
    except OSError as error:
        raise DataError(f"{cache_root}: cannot create the data cache ({reason(error)}); use a "
                        "writable workspace") from None
    with handle:  # closing it releases the lock, as the death of its process does
        with contextlib.suppress(OSError):
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        except BaseException:  # nothing was cached: nothing is left
            lock.unlink(missing_ok=True)
            raise


def _is_complete(folder: Path) -> bool:
    """Whether a cache folder was fully written (meta.json is written last)."""
    return (folder / "meta.json").is_file()


def _publish(decoded: sources.Decoded, meta: dict, cache_root: Path, target: Path) -> None:
    """Write arrays and meta into a temporary folder, then rename it to ``target``."""
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        _remove_stale_partials(cache_root)
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial",
                                        dir=cache_root))
        scratch.chmod(0o755)  # mkdtemp makes it private; the cache is as readable as its root
    except OSError as error:
        raise DataError(f"{cache_root}: cannot create the data cache ({reason(error)}); use a "
                        "writable workspace") from None
    try:
        _write_cache(decoded, meta, scratch)
        os.rename(scratch, target)
    except OSError as error:
        shutil.rmtree(scratch, ignore_errors=True)
        if _is_complete(target):
            return  # another process wrote the same cache first: use it
        raise DataError(f"{target}: cannot write the data cache ({reason(error)}); delete it "
                        "and make sure the workspace is writable") from None
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _write_cache(decoded: sources.Decoded, meta: dict, folder: Path) -> None:
    """Write the four arrays, their sizes and times (files.json), then meta.json, into
    ``folder``."""
    for name in ARRAY_NAMES:
        np.save(folder / f"{name}.npy", getattr(decoded, name))
    data_cache.record_stats(folder, data_cache.file_stats(
        folder, [f"{name}.npy" for name in ARRAY_NAMES]))
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
# Decoding
# --------------------------------------------------------------------------------------------


def _decode(source: Path | sources.KerasDataset | None, labels: str) -> sources.Decoded:
    """Decode a source (None: CIFAR-10 by Keras) into uint8 images and int32 labels."""
    if isinstance(source, Path):
        return sources.read(source, _limits(), labels)
    return sources.download(source, labels, _limits())


def _limits() -> sources.Limits:
    """The limits as this module's constants are now."""
    return sources.Limits(file_bytes=MAX_FILE_BYTES, archive_bytes=MAX_ARCHIVE_BYTES,
                          files=MAX_FILES, image_side=MAX_IMAGE_SIDE,
                          decoded_bytes=MAX_DECODED_BYTES, min_classes=MIN_CLASSES,
                          max_classes=MAX_CLASSES)

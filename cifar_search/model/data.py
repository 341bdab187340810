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
"""

from __future__ import annotations

import functools
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
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

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
        ``path`` if given, else ``$CIFAR_SEARCH_DATA`` if set, else None (download with Keras).
        Existence is not checked here; :func:`prepare` does that.
    """
    chosen = (os.fspath(path) if path is not None else "") or os.environ.get(ENV_VAR, "")
    return Path(chosen).expanduser() if chosen else None


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
        DataError: the source is missing, unreadable, not in an accepted layout, or cannot be
            downloaded; or the cache cannot be written.
    """
    cache_root = Path(cache_root)
    source = None if source is None else Path(source)
    if source is not None:
        _check_exists(source)
    target = cache_root / _cache_key(source)
    if _is_complete(target):
        return target
    decoded = _decode(source)
    meta = {
        "source": str(source.resolve()) if source is not None else "keras.datasets.cifar10",
        "classes": list(decoded.classes),
        "train": int(len(decoded.x_train)),
        "test": int(len(decoded.x_test)),
        "image_shape": [int(n) for n in decoded.x_train.shape[1:]],
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
        ``{"source", "classes", "train", "test", "image_shape"}``.

    Raises:
        DataError: the folder holds no readable ``meta.json``.
    """
    path = Path(cache_dir) / "meta.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read the data cache description ({_reason(error)}); "
                        "delete the folder to decode the data again") from None


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


def _check_exists(source: Path) -> None:
    """Raise DataError if the source path does not exist."""
    if not source.exists():
        raise DataError(f"{source}: no such file or folder; give --data PATH or {ENV_VAR} "
                        f"pointing at {ACCEPTED}")


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
    if source.is_dir():
        return _decode_dir(source)
    return _decode_archive(source)


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
        if (folder / "data_batch_1").is_file():
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
        files = {name: _read_file(root / name) for name in BATCH_FILES
                 if (root / name).is_file()}
        return _decode_batches(files, str(root), "/")
    tree = {split: _scan_split_dir(root, split) for split in SPLITS}
    return _decode_tree(tree, str(root))


def _read_file(path: Path) -> bytes:
    """The bytes of a file, or a DataError naming it."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({_reason(error)})") from None


def _scan_split_dir(root: Path, split: str) -> dict[str, list[tuple[str, str, Path]]]:
    """``{class: [(file name, shown name, path)]}`` under ``root/split``."""
    folder = root / split
    if not folder.is_dir():
        raise DataError(f"{root}: no {split}/ folder next to "
                        f"{'test' if split == 'train' else 'train'}/; an image folder needs "
                        f"train/<class>/* and test/<class>/*")
    classes: dict[str, list[tuple[str, str, Path]]] = {}
    for class_dir in sorted(folder.iterdir()):
        if class_dir.is_dir() and not class_dir.name.startswith("."):
            classes[class_dir.name] = [(f.name, str(f), f) for f in class_dir.iterdir()
                                       if _is_image_name(f.name) and f.is_file()]
    return classes


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
    archive = _open_tar(path)
    files: dict[str, bytes] = {}
    folders: set[str] = set()
    with archive:
        try:
            for member in archive:
                name = _member_name(member.name)
                if member.isdir():
                    folders.add(name)
                elif member.isfile() and _is_wanted_member(name):
                    files[name] = archive.extractfile(member).read()
                    folders.update(str(p) for p in PurePosixPath(name).parents if str(p) != ".")
            _check_tar_end(archive)
        except _ARCHIVE_ERRORS as error:
            raise DataError(f"{path}: the archive is truncated or corrupt ({_reason(error)}); "
                            "download or copy it again") from None
    return files, folders


def _open_tar(path: Path) -> tarfile.TarFile:
    """Open a (compressed) tar archive, or raise DataError saying what the file is."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({_reason(error)})") from None
    if not head:
        raise DataError(f"{path}: the file is empty; accepted: {ACCEPTED}")
    try:
        return tarfile.open(path, "r:*")
    except _ARCHIVE_ERRORS:
        if _looks_like_archive(path, head):
            raise DataError(f"{path}: the archive is truncated or corrupt (it cannot be opened "
                            "as tar, tar.gz, tar.bz2 or tar.xz); download or copy it again"
                            ) from None
        raise DataError(f"{path}: not a tar or tar.gz archive and not a folder; accepted: "
                        f"{ACCEPTED}") from None


def _looks_like_archive(path: Path, head: bytes) -> bool:
    """Whether a file's magic bytes or name say it is a (compressed) tar archive."""
    magic = head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")) or head[257:262] == b"ustar"
    return magic or path.name.lower().endswith((".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz"))


def _check_tar_end(archive: tarfile.TarFile) -> None:
    """Raise tarfile.ReadError unless reading stopped at the end-of-archive marker."""
    stream = archive.fileobj
    if isinstance(stream, io.BufferedReader):  # plain tar: the block it stopped at is zeros
        stream.seek(archive.offset)
        if stream.read(tarfile.BLOCKSIZE) != bytes(tarfile.BLOCKSIZE):
            raise tarfile.ReadError("it ends before the end-of-archive marker")
    else:  # compressed: decompress to the end, which verifies the length and checksum
        while stream.read(1 << 20):
            pass


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
    images = _decode_images([(shown, item) for _, shown, item in train + test])
    return _Decoded(images[:len(train)], np.array([label for label, _, _ in train], np.int32),
                    images[len(train):], np.array([label for label, _, _ in test], np.int32),
                    tuple(classes))


def _ordered(split: dict[str, list[tuple[str, str, bytes | Path]]], classes: list[str]
             ) -> list[tuple[int, str, bytes | Path]]:
    """``(label, shown name, bytes or path)`` of one split, by class then file name."""
    return [(label, shown, item) for label, name in enumerate(classes)
            for _, shown, item in sorted(split[name], key=lambda entry: entry[0])]


def _decode_images(items: list[tuple[str, bytes | Path]]) -> np.ndarray:
    """Decode ``(shown name, bytes or path)`` images of one size into ``(N, H, W, 3)``."""
    first_shown, first_item = items[0]
    first = _decode_image(first_item, first_shown)
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
    return train


def _decode_image(item: bytes | Path, shown: str) -> np.ndarray:
    """One image as uint8 ``(H, W, 3)``."""
    try:
        data = item.read_bytes() if isinstance(item, Path) else item
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    except Exception as error:  # Pillow raises many types for bad files
        raise DataError(f"{shown}: unreadable image ({type(error).__name__}: "
                        f"{_reason(error)}); replace or delete the file") from None


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

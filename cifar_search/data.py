"""Data: find CIFAR-10, decode it once into a cache of ``.npy`` arrays, split it per seed.

Accepted sources (``--data PATH`` or ``$CIFAR_SEARCH_DATA``; none means a Keras download):

* the official ``cifar-10-python.tar.gz``, or its extracted ``cifar-10-batches-py/`` folder;
* an image folder ``train/<class>/*``, ``test/<class>/*`` as a directory or ``.tar.gz``.

Decoded images are cached as uint8 arrays under the workspace (written atomically), so every
later trial and worker maps them from disk in well under a second. Pixels are scaled to [0, 1]
when a split is loaded; the test set is loaded only to evaluate the best trial.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import pickle
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

import numpy as np

from cifar_search.errors import DataError

ENV_VAR = "CIFAR_SEARCH_DATA"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".ppm"}
ACCEPTED = ("cifar-10-python.tar.gz, its extracted cifar-10-batches-py/ folder, or an image "
            "folder train/<class>/*, test/<class>/* (a directory or .tar.gz)")


@dataclass(frozen=True)
class Split:
    """Training and validation arrays (float32 pixels in [0, 1], int32 labels)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    classes: tuple[str, ...]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of one image."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)


def resolve_source(path: str | os.PathLike | None) -> Path | None:
    """``path`` if given, else ``$CIFAR_SEARCH_DATA`` if set, else None (download)."""
    chosen = path if path else os.environ.get(ENV_VAR) or None
    return Path(chosen).expanduser() if chosen else None


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]


def _unpickle(data: bytes, where: str) -> dict:
    try:
        return pickle.loads(data, encoding="bytes")
    except Exception as error:
        raise DataError(f"{where}: not a CIFAR-10 batch ({error})") from None


def _batches(batches: dict[str, bytes], where: str) -> Arrays:
    """Arrays from the pickled batches of cifar-10-python (name -> bytes)."""
    def load(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        images, labels = [], []
        for name in names:
            if name not in batches:
                raise DataError(f"{where}: {name} is missing; expected data_batch_1..5, "
                                "test_batch and batches.meta")
            batch = _unpickle(batches[name], f"{where}: {name}")
            images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.append(np.asarray(batch[b"labels"], dtype=np.int32))
        return np.concatenate(images).transpose(0, 2, 3, 1), np.concatenate(labels)

    x_train, y_train = load([f"data_batch_{i}" for i in range(1, 6)])
    x_test, y_test = load(["test_batch"])
    meta = _unpickle(batches["batches.meta"], f"{where}: batches.meta") \
        if "batches.meta" in batches else {}
    names = [n.decode() for n in meta.get(b"label_names", [])] or \
        [str(i) for i in range(int(y_train.max()) + 1)]
    return x_train, y_train, x_test, y_test, names


def _decode_image(data: bytes, where: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception as error:
        raise DataError(f"{where}: unreadable image ({type(error).__name__}: {error})") from None


def _image_folder(files: dict[tuple[str, str, str], bytes | Path], where: str) -> Arrays:
    """Arrays from {(split, class, name): bytes or path} of an image-folder tree."""
    classes = sorted({c for s, c, _ in files if s == "train"})
    test_classes = sorted({c for s, c, _ in files if s == "test"})
    if not classes or not test_classes:
        raise DataError(f"{where}: no images under {'train' if not classes else 'test'}/<class>/;"
                        f" accepted: {ACCEPTED}")
    if test_classes != classes:
        raise DataError(f"{where}: test/ classes {test_classes} differ from train/ classes "
                        f"{classes}")
    index = {c: i for i, c in enumerate(classes)}
    shape = None
    out = {}
    for split in ("train", "test"):
        keys = sorted(k for k in files if k[0] == split)
        images = np.empty((len(keys),) + (shape or (0,)), dtype=np.uint8) if shape else None
        decoded = []
        for key in keys:
            item = files[key]
            name = "/".join(key)
            data = item.read_bytes() if isinstance(item, Path) else item
            image = _decode_image(data, f"{where}: {name}")
            if shape is None:
                shape = image.shape
            elif image.shape != shape:
                raise DataError(f"{where}: {name} is {image.shape[1]}x{image.shape[0]}, but the "
                                f"images before it are {shape[1]}x{shape[0]}; all images must "
                                "have one size")
            decoded.append(image)
        del images
        out[split] = (np.stack(decoded), np.array([index[k[1]] for k in keys], dtype=np.int32))
    return out["train"][0], out["train"][1], out["test"][0], out["test"][1], classes


def _split_parts(name: str) -> tuple[str, str, str] | None:
    """(split, class, file) of a member path ending in train|test/<class>/<file>, else None."""
    parts = PurePosixPath(name).parts
    if len(parts) < 3 or parts[-3] not in ("train", "test"):
        return None
    if PurePosixPath(name).suffix.lower() not in IMAGE_SUFFIXES:
        return None
    return parts[-3], parts[-2], parts[-1]


def _tar_members(path: Path) -> Iterator[tuple[str, bytes]]:
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                if member.isfile():
                    yield member.name, archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read the archive; it is truncated or corrupt "
                        f"({type(error).__name__}: {error})") from None


def _from_tar(path: Path) -> Arrays:
    batches: dict[str, bytes] = {}
    images: dict[tuple[str, str, str], bytes] = {}
    for name, data in _tar_members(path):
        base = PurePosixPath(name).name
        if base.startswith(("data_batch_", "test_batch", "batches.meta")):
            batches[base] = data
        elif (key := _split_parts(name)) is not None:
            images[key] = data
    if batches:
        return _batches(batches, str(path))
    if images:
        return _image_folder(images, str(path))
    raise DataError(f"{path}: no CIFAR-10 batches and no train/<class>/ images inside; "
                    f"accepted: {ACCEPTED}")


def _from_dir(path: Path) -> Arrays:
    for folder in (path, path / "cifar-10-batches-py"):
        if (folder / "data_batch_1").is_file():
            names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
            return _batches({n: (folder / n).read_bytes() for n in names
                             if (folder / n).is_file()}, str(folder))
    roots = [path] + [p for p in sorted(path.iterdir()) if p.is_dir()]
    for root in roots:
        if (root / "train").is_dir() and (root / "test").is_dir():
            files = {}
            for file in sorted(root.glob("*/*/*")):
                key = _split_parts(str(file.relative_to(root)))
                if key is not None and file.is_file():
                    files[key] = file
            return _image_folder(files, str(root))
    raise DataError(f"{path}: neither cifar-10-batches-py files nor train/ and test/ folders "
                    f"found; accepted: {ACCEPTED}")


def _download() -> Arrays:
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as error:
        raise DataError(
            f"CIFAR-10 could not be downloaded ({type(error).__name__}); give a local copy with "
            f"--data PATH or {ENV_VAR}=PATH: {ACCEPTED}"
        ) from None
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
             "truck"]
    return x_train, y_train.ravel().astype(np.int32), x_test, y_test.ravel().astype(np.int32), \
        names


def decode(source: Path | None) -> Arrays:
    """Decode a source into (x_train, y_train, x_test, y_test, classes), uint8 images."""
    if source is None:
        return _download()
    if not source.exists():
        raise DataError(f"{source}: no such file or folder; give {ACCEPTED}")
    return _from_dir(source) if source.is_dir() else _from_tar(source)


# --------------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------------


def cache_key(source: Path | None) -> str:
    """A folder name that changes when the source changes."""
    if source is None:
        return "keras-cifar10"
    path = source.resolve()
    if path.is_dir():
        files = [p.stat() for p in path.rglob("*") if p.is_file()]
        signature = (len(files), sum(s.st_size for s in files),
                     max((s.st_mtime_ns for s in files), default=0))
    else:
        stat = path.stat()
        signature = (stat.st_size, stat.st_mtime_ns)
    digest = hashlib.sha256(f"{path}|{signature}".encode()).hexdigest()[:12]
    stem = path.name.split(".")[0] or "data"
    return f"{stem}-{digest}"


def prepare(source: Path | None, cache_root: Path) -> Path:
    """Decode ``source`` once into ``cache_root/<key>/`` and return that folder.

    Raises:
        DataError: the source is missing, unreadable or not in an accepted layout.
    """
    if source is not None and not source.exists():
        raise DataError(f"{source}: no such file or folder; give {ACCEPTED}")
    target = Path(cache_root) / cache_key(source)
    if (target / "meta.json").is_file():
        return target
    x_train, y_train, x_test, y_test, classes = decode(source)
    Path(cache_root).mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".partial-", dir=cache_root))
    try:
        for name, array in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test),
                            ("y_test", y_test)):
            np.save(scratch / f"{name}.npy", array)
        meta = {"source": str(source) if source else "keras.datasets.cifar10",
                "classes": list(classes), "train": len(x_train), "test": len(x_test),
                "image_shape": list(x_train.shape[1:])}
        (scratch / "meta.json").write_text(json.dumps(meta, indent=2))
        os.replace(scratch, target)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        if not (target / "meta.json").is_file():
            raise
    return target


def read_meta(cache_dir: Path) -> dict:
    """The cache folder's description: source, classes, counts, image shape."""
    return json.loads((Path(cache_dir) / "meta.json").read_text())


def _scaled(array: np.ndarray) -> np.ndarray:
    return np.multiply(array, 1 / 255, dtype=np.float32)


@functools.lru_cache(maxsize=4)
def load_split(cache_dir: Path, validation: float = 0.2, subset: int | None = None,
               seed: int = 0) -> Split:
    """A seeded train/validation split (memoised per process).

    The training set is permuted with ``seed``; ``subset`` keeps its first images; the last
    ``validation`` fraction of those is the validation set.
    """
    x = np.load(Path(cache_dir) / "x_train.npy", mmap_mode="r")
    y = np.load(Path(cache_dir) / "y_train.npy")
    order = np.random.default_rng(seed).permutation(len(x))
    if subset is not None:
        if subset > len(x):
            raise DataError(f"{cache_dir}: subset {subset} is more than the {len(x)} training "
                            "images")
        order = order[:subset]
    n_val = max(1, round(validation * len(order)))
    if n_val >= len(order):
        raise DataError(f"{cache_dir}: validation {validation} of {len(order)} images leaves "
                        "no training image")
    train, val = np.sort(order[:-n_val]), np.sort(order[-n_val:])
    classes = tuple(read_meta(cache_dir)["classes"])
    return Split(_scaled(x[train]), y[train], _scaled(x[val]), y[val], classes)


@functools.lru_cache(maxsize=2)
def load_test(cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Test images (float32 in [0, 1]) and labels."""
    x = np.load(Path(cache_dir) / "x_test.npy", mmap_mode="r")
    return _scaled(x), np.load(Path(cache_dir) / "y_test.npy")

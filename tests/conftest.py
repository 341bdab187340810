"""Shared data fixtures: tiny, learnable generated images (never the real CIFAR-10).

Each class has its own base colour plus a little seeded noise, so a tiny CNN beats chance
within a few epochs and any mix-up of labels, channels or pixel order is visible in tests.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cifar_search.user_cache import CACHE_ENV

# One clearly different RGB colour per class.
PALETTE = np.array([
    (220, 40, 40), (40, 180, 40), (40, 60, 220), (230, 210, 40), (200, 50, 200),
    (40, 200, 210), (245, 245, 245), (20, 20, 20), (240, 140, 30), (120, 120, 120),
], dtype=np.int16)
NOISE = 16


def class_name(label: int) -> str:
    """Folder name of class ``label``: c0, c1, ..."""
    return f"c{label}"


def class_images(label: int, count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` uint8 images (count, size, size, 3) of one class: its colour plus noise."""
    noise = rng.integers(-NOISE, NOISE + 1, size=(count, size, size, 3))
    return np.clip(PALETTE[label] + noise, 0, 255).astype(np.uint8)


def make_image_folder(root: Path, classes: int = 10, train_per_class: int = 6,
                      test_per_class: int = 2, size: int = 32, fmt: str = "png") -> Path:
    """Write ``root/train/<class>/NNNN.<fmt>`` and ``root/test/<class>/NNNN.<fmt>``.

    Returns:
        ``root``.
    """
    if not 1 <= classes <= len(PALETTE):
        raise ValueError(f"classes={classes}; give 1..{len(PALETTE)}")
    rng = np.random.default_rng(size * 1000 + classes)
    for split, count in (("train", train_per_class), ("test", test_per_class)):
        for label in range(classes):
            folder = Path(root) / split / class_name(label)
            folder.mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(class_images(label, count, size, rng)):
                Image.fromarray(image).save(folder / f"{i:04d}.{fmt}")
    return Path(root)


def make_cifar_python_tarball(path: Path, n_per_batch: int = 10, n_test: int = 10, *,
                              arrays: tuple | None = None) -> Path:
    """Write a small file in the official ``cifar-10-python.tar.gz`` format.

    Five ``data_batch_*`` files, ``test_batch`` and ``batches.meta`` under
    ``cifar-10-batches-py/``, pickled like the original: dicts with bytes keys ``b"data"``
    (uint8 rows of 3072 pixels, channel-first), ``b"labels"``, ``b"batch_label"`` and
    ``b"filenames"``; the meta holds ``b"label_names"``.

    Args:
        path: the file to write.
        n_per_batch: images per data batch (labels cycle through the 10 classes).
        n_test: images in the test batch.
        arrays: optional ``(x_train, y_train, x_test, y_test, classes)`` (uint8 images of
            32x32) to write instead of generated ones; the training set must split into five
            equal batches.

    Returns:
        ``path``.
    """
    if arrays is None:
        arrays = _generated_cifar(n_per_batch, n_test)
    x_train, y_train, x_test, y_test, classes = arrays
    members = {}
    batches = zip(np.split(x_train, 5), np.split(y_train, 5), strict=True)
    for i, (x, y) in enumerate(batches, start=1):
        members[f"data_batch_{i}"] = _batch(x, y, f"training batch {i} of 5")
    members["test_batch"] = _batch(x_test, y_test, "testing batch 1 of 1")
    members["batches.meta"] = pickle.dumps(
        {b"label_names": [c.encode() for c in classes], b"num_cases_per_batch": len(y_train) // 5,
         b"num_vis": 3072}, protocol=2)
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return Path(path)


def _generated_cifar(n_per_batch: int, n_test: int) -> tuple:
    """Learnable generated arrays for a cifar-10-python file."""
    rng = np.random.default_rng(1)

    def images(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.arange(n) % 10
        return np.concatenate([class_images(int(k), 1, 32, rng) for k in labels]), labels

    x_train, y_train = images(5 * n_per_batch)
    x_test, y_test = images(n_test)
    return x_train, y_train, x_test, y_test, [class_name(k) for k in range(10)]


def _batch(images: np.ndarray, labels: np.ndarray, name: str) -> bytes:
    """One batch pickled like the original files."""
    data = np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(len(images), 3072)
    return pickle.dumps({
        b"batch_label": name.encode(),
        b"labels": [int(k) for k in labels],
        b"data": data,
        b"filenames": [f"image_{i:05d}.png".encode() for i in range(len(images))],
    }, protocol=2)


def make_cifar100_tarball(path: Path, n_train: int = 20, n_test: int = 10) -> Path:
    """Write a small file in the official ``cifar-100-python.tar.gz`` format.

    ``train``, ``test`` and ``meta`` under ``cifar-100-python/``, pickled like the original:
    batches are dicts with bytes keys ``b"data"`` (uint8 rows of 3072 pixels, channel-first),
    ``b"fine_labels"``, ``b"coarse_labels"``, ``b"filenames"`` and ``b"batch_label"``; the meta
    holds ``b"fine_label_names"`` (here 10: f0..f9) and ``b"coarse_label_names"`` (5: k0..k4,
    fine class k being in coarse class k // 2). Images have their fine class's colour.

    Returns:
        ``path``.
    """
    rng = np.random.default_rng(100)
    members = {}
    for name, count in (("train", n_train), ("test", n_test)):
        fine = np.arange(count) % 10
        images = np.concatenate([class_images(int(k), 1, 32, rng) for k in fine])
        rows = np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(count, 3072)
        members[name] = pickle.dumps({
            b"filenames": [f"image_{i:05d}.png".encode() for i in range(count)],
            b"batch_label": f"{name}ing batch 1 of 1".encode(),
            b"fine_labels": [int(k) for k in fine],
            b"coarse_labels": [int(k) // 2 for k in fine],
            b"data": rows,
        }, protocol=2)
    members["meta"] = pickle.dumps({
        b"fine_label_names": [f"f{k}".encode() for k in range(10)],
        b"coarse_label_names": [f"k{k}".encode() for k in range(5)],
    }, protocol=2)
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return Path(path)


def gray_arrays(classes: int = 3, size: int = 28, train_per_class: int = 8,
                test_per_class: int = 3) -> dict[str, np.ndarray]:
    """Learnable 1-channel images ``(N, size, size)`` uint8 (each class its own grey level
    plus noise) and labels ``(N,)``: ``{x_train, y_train, x_test, y_test}``."""
    rng = np.random.default_rng(classes * 100 + size)
    levels = np.linspace(30, 225, classes)

    def split(per_class: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.arange(classes * per_class) % classes
        noise = rng.integers(-NOISE, NOISE + 1, size=(len(labels), size, size))
        return np.clip(levels[labels, None, None] + noise, 0, 255).astype(np.uint8), labels

    x_train, y_train = split(train_per_class)
    x_test, y_test = split(test_per_class)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def make_npz(path: Path, **arrays: np.ndarray) -> Path:
    """Write ``arrays`` (by default :func:`gray_arrays`) with ``numpy.savez``; returns ``path``."""
    np.savez(path, **(arrays or gray_arrays()))
    return Path(path)


@pytest.fixture
def image_folder_factory():
    """The function :func:`make_image_folder`."""
    return make_image_folder


@pytest.fixture
def cifar_python_factory():
    """The function :func:`make_cifar_python_tarball`."""
    return make_cifar_python_tarball


@pytest.fixture(scope="session", autouse=True)
def user_cache(tmp_path_factory) -> Iterator[Path]:
    """The user cache (MLflow's store template, decoded data) in a folder of this test run,
    shared by its test processes, never the user's own: set for the CLI and the workers too."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "user-cache"
    saved = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(folder)
    yield folder
    if saved is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = saved


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """10 classes x 6 training and 2 test images, 32x32 PNG, as an image folder."""
    return make_image_folder(tmp_path_factory.mktemp("tiny-data"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files with process tests first, each file's tests kept together and in order: the
    test processes take the long files first and end together on the quick ones, instead of
    one process still running a long file that it was handed last."""
    slow = {item.path for item in items if item.get_closest_marker("processes")}
    items.sort(key=lambda item: item.path not in slow)


"""Shared fixtures: tiny, learnable generated images (never the real CIFAR-10)."""

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CLASSES = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"]


def class_images(label: int, count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` images of one class: its own base colour plus a little noise."""
    base = np.array([(label * 67) % 256, (label * 131 + 40) % 256, (label * 29 + 90) % 256])
    noise = rng.integers(-20, 21, size=(count, size, size, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def make_image_folder(root: Path, classes: int = 10, train_per_class: int = 6,
                      test_per_class: int = 2, size: int = 32, fmt: str = "png") -> Path:
    """Write ``root/train/<class>/NNNN.<fmt>`` and ``root/test/<class>/…``; return ``root``."""
    rng = np.random.default_rng(0)
    for split, count in (("train", train_per_class), ("test", test_per_class)):
        for label in range(classes):
            folder = root / split / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(class_images(label, count, size, rng)):
                Image.fromarray(image).save(folder / f"{i:04d}.{fmt}")
    return root


def make_cifar_python_tarball(path: Path, n_per_batch: int = 10, n_test: int = 10) -> Path:
    """Write a small file in the official cifar-10-python.tar.gz format."""
    rng = np.random.default_rng(1)

    def batch(n: int, name: str) -> bytes:
        labels = [int(i % 10) for i in range(n)]
        images = np.stack([class_images(label, 1, 32, rng)[0] for label in labels])
        data = images.transpose(0, 3, 1, 2).reshape(n, 3072)
        return pickle.dumps({b"batch_label": name.encode(), b"labels": labels, b"data": data,
                             b"filenames": [f"{i}.png".encode() for i in range(n)]})

    members = {f"data_batch_{i}": batch(n_per_batch, f"batch {i}") for i in range(1, 6)}
    members["test_batch"] = batch(n_test, "test")
    members["batches.meta"] = pickle.dumps({b"label_names": [c.encode() for c in CLASSES]})
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def image_folder_factory():
    return make_image_folder


@pytest.fixture
def cifar_python_factory():
    return make_cifar_python_tarball


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """10 classes x 6 training and 2 test images, 32x32 PNG, as an image folder."""
    return make_image_folder(tmp_path_factory.mktemp("tiny-data"))

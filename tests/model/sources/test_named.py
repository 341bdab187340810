"""Keras names as sources: resolved without a download, a failed download is one line saying
how to give a local copy (never a real download in tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cifar_search.errors import DataError
from cifar_search.model import data
from cifar_search.model.sources import FunctionSource, KerasDataset


@pytest.mark.parametrize("text, expected", [
    ("mnist", KerasDataset("mnist")),
    ("fashion_mnist", KerasDataset("fashion_mnist")),
    ("cifar100", KerasDataset("cifar100")),
    ("cifar10", KerasDataset("cifar10")),
    ("./mnist", Path("mnist")),
    ("mnist.npz", Path("mnist.npz")),
    ("mypackage.data:load", FunctionSource("mypackage.data", "load")),
    ("/sweeps/mine.py:load", FunctionSource("/sweeps/mine.py", "load")),
    ("data/x.tar.gz", Path("data/x.tar.gz")),
])
def test_names_resolve(text, expected):
    assert data.resolve_source(text) == expected


def test_none_stays_cifar10_by_keras(monkeypatch):
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    assert data.resolve_source(None) is None
    monkeypatch.setenv(data.ENV_VAR, "mnist")
    assert data.resolve_source(None) == KerasDataset("mnist")


def offline(*args, **kwargs):
    raise OSError("network unreachable")


@pytest.mark.parametrize("name, advice", [
    ("mnist", "download mnist.npz (https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
              "mnist.npz) on a machine with internet and give --data /path/to/mnist.npz"),
    ("fashion_mnist", "on a machine with internet, save keras.datasets.fashion_mnist.load_data()"
                      " with numpy.savez("),
    ("cifar100", "download cifar-100-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar.html)"
                 " on a machine with internet and give --data /path/to/cifar-100-python.tar.gz"),
])
def test_no_internet_says_how_to_give_a_local_copy(monkeypatch, tmp_path, name, advice):
    import keras

    monkeypatch.setattr(getattr(keras.datasets, name), "load_data", offline)
    with pytest.raises(DataError) as caught:
        data.prepared(name, tmp_path / "cache")
    message = str(caught.value)
    assert message.startswith(f"cannot download {name} (OSError: network unreachable); {advice}")
    assert "\n" not in message
    assert not list((tmp_path / "cache").glob("keras-*/meta.json"))


def test_a_named_download_is_cached_with_its_class_names(monkeypatch, tmp_path):
    import keras

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    y = np.arange(12, dtype=np.uint8) % 10
    calls = []

    def load_data():
        calls.append(1)
        return (x, y), (x[:4], y[:4])

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", load_data)
    cache = data.prepared("fashion_mnist", tmp_path / "cache")
    assert cache.name == "keras-fashion_mnist"
    meta = data.read_meta(cache)
    assert meta["classes"][:2] == ["T-shirt/top", "Trouser"]
    assert meta["source"] == "keras.datasets.fashion_mnist"
    assert meta["image_shape"] == [28, 28, 1]
    assert data.prepared("fashion_mnist", tmp_path / "cache") == cache and calls == [1]


def test_cifar100_coarse_by_keras(monkeypatch, tmp_path):
    import keras

    x = np.zeros((4, 32, 32, 3), np.uint8)
    modes = []

    def load_data(label_mode="fine"):
        modes.append(label_mode)
        return (x, np.array([[0], [19], [3], [4]])), (x[:2], np.array([[1], [2]]))

    monkeypatch.setattr(keras.datasets.cifar100, "load_data", load_data)
    cache = data.prepared("cifar100", tmp_path / "cache", labels="coarse")
    assert modes == ["coarse"] and cache.name == "keras-cifar100-coarse"
    classes = data.read_meta(cache)["classes"]
    assert len(classes) == 20 and classes[0] == "aquatic_mammals"
    assert len(data.sources.named.CIFAR100_FINE) == 100


def test_coarse_labels_of_mnist_are_refused(tmp_path):
    with pytest.raises(DataError, match=r"^keras.datasets.mnist: data.labels 'coarse' is not "
                                        r"allowed"):
        data.prepared("mnist", tmp_path / "cache", labels="coarse")

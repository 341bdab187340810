"""The official cifar-100-python layout, as an archive and as its extracted folder, with its
fine or coarse labels."""

from __future__ import annotations

import tarfile

import numpy as np
import pytest

from cifar_search.errors import DataError
from cifar_search.model import data
from tests.conftest import make_cifar100_tarball


@pytest.fixture
def archive(tmp_path):
    return make_cifar100_tarball(tmp_path / "cifar-100-python.tar.gz")


def test_fine_labels_by_default(archive, tmp_path):
    cache = data.prepared(str(archive), tmp_path / "cache")
    meta = data.read_meta(cache)
    assert meta["classes"] == [f"f{k}" for k in range(10)]
    assert (meta["train"], meta["test"], meta["image_shape"]) == (20, 10, [32, 32, 3])
    assert np.load(cache / "y_train.npy").tolist() == [k % 10 for k in range(20)]


def test_coarse_labels_are_another_cache_and_identity(archive, tmp_path):
    fine = data.prepared(str(archive), tmp_path / "cache")
    coarse = data.prepared(str(archive), tmp_path / "cache", labels="coarse")
    assert coarse != fine
    assert data.read_meta(coarse)["classes"] == [f"k{k}" for k in range(5)]
    assert np.load(coarse / "y_train.npy").tolist() == [(k % 10) // 2 for k in range(20)]
    np.testing.assert_array_equal(np.load(coarse / "x_train.npy"),
                                  np.load(fine / "x_train.npy"))
    assert data.identity(coarse) != data.identity(fine)
    assert data.prepared(str(archive), tmp_path / "cache", labels="coarse") == coarse


def test_the_extracted_folder_gives_the_same_data(archive, tmp_path):
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "extracted", filter="data")
    for folder in (tmp_path / "extracted", tmp_path / "extracted/cifar-100-python"):
        cache = data.prepared(str(folder), tmp_path / "cache2", labels="coarse")
        assert data.identity(cache) == data.identity(
            data.prepared(str(archive), tmp_path / "cache", labels="coarse"))


def test_a_missing_file_or_labelling_is_named(archive, tmp_path):
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    (tmp_path / "x/cifar-100-python/test").unlink()
    with pytest.raises(DataError, match=r"cifar-100-python/test missing; cifar-100-python "
                                        r"needs train, test, meta$"):
        data.prepared(str(tmp_path / "x"), tmp_path / "cache")


def test_cifar10_refuses_coarse_labels(tmp_path, cifar_python_factory):
    source = cifar_python_factory(tmp_path / "cifar-10-python.tar.gz")
    with pytest.raises(DataError, match=r"cifar-10-python.tar.gz: data.labels 'coarse' is not "
                                        r"allowed; only CIFAR-100 has coarse labels"):
        data.prepared(str(source), tmp_path / "cache", labels="coarse")

"""Data sources, the decode-once cache and the seeded split, on generated images."""

import shutil
import tarfile

import numpy as np
import pytest

from cifar_search import data
from cifar_search.errors import DataError


def arrays(cache_dir):
    return [np.load(cache_dir / f"{n}.npy") for n in ("x_train", "y_train", "x_test", "y_test")]


def test_image_folder_directory_and_tarball_decode_alike(tmp_path, image_folder_factory):
    root = image_folder_factory(tmp_path / "images", classes=3, train_per_class=4,
                                test_per_class=2)
    tarball = tmp_path / "images.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(root, arcname="cifar10")
    from_dir = data.prepare(root, tmp_path / "cache")
    from_tar = data.prepare(tarball, tmp_path / "cache")
    assert from_dir != from_tar
    for a, b in zip(arrays(from_dir), arrays(from_tar)):
        np.testing.assert_array_equal(a, b)
    x_train, y_train, x_test, y_test = arrays(from_dir)
    assert x_train.shape == (12, 32, 32, 3) and x_train.dtype == np.uint8
    assert sorted(y_train.tolist()) == [0] * 4 + [1] * 4 + [2] * 4
    assert x_test.shape == (6, 32, 32, 3)
    assert data.read_meta(from_dir)["classes"] == ["c0", "c1", "c2"]


def test_cifar_python_tarball_and_extracted_folder(tmp_path, cifar_python_factory):
    tarball = cifar_python_factory(tmp_path / "cifar-10-python.tar.gz", n_per_batch=4, n_test=6)
    cache = data.prepare(tarball, tmp_path / "cache")
    x_train, y_train, x_test, _ = arrays(cache)
    assert x_train.shape == (20, 32, 32, 3) and x_test.shape == (6, 32, 32, 3)
    assert data.read_meta(cache)["classes"][:2] == ["c0", "c1"]
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path / "extracted", filter="data")
    extracted = data.prepare(tmp_path / "extracted", tmp_path / "cache")
    np.testing.assert_array_equal(arrays(extracted)[0], x_train)
    np.testing.assert_array_equal(arrays(extracted)[1], y_train)


def test_cache_is_reused_and_renewed_when_the_source_changes(tmp_path, image_folder_factory,
                                                             monkeypatch):
    root = image_folder_factory(tmp_path / "images", classes=2, train_per_class=3)
    first = data.prepare(root, tmp_path / "cache")
    monkeypatch.setattr(data, "decode", lambda source: pytest.fail("decoded twice"))
    assert data.prepare(root, tmp_path / "cache") == first
    monkeypatch.undo()
    image_folder_factory(tmp_path / "images", classes=2, train_per_class=5)
    assert data.prepare(root, tmp_path / "cache") != first


def test_split_is_seeded_scaled_and_subsettable(tmp_path, image_folder_factory):
    cache = data.prepare(image_folder_factory(tmp_path / "images", train_per_class=6),
                         tmp_path / "cache")
    split = data.load_split(cache, 0.25, None, 0)
    assert (len(split.x_train), len(split.x_val)) == (45, 15)
    assert split.x_train.dtype == np.float32 and 0 <= split.x_train.min() <= split.x_train.max() <= 1
    assert split.input_shape == (32, 32, 3) and split.num_classes == 10
    same = data.load_split(cache, 0.25, None, 0)
    other = data.load_split(cache, 0.25, None, 1)
    np.testing.assert_array_equal(split.y_val, same.y_val)
    assert not np.array_equal(split.x_val, other.x_val)
    small = data.load_split(cache, 0.25, 20, 0)
    assert (len(small.x_train), len(small.x_val)) == (15, 5)
    with pytest.raises(DataError, match="subset 100 is more than the 60 training images"):
        data.load_split(cache, 0.25, 100, 0)
    x_test, y_test = data.load_test(cache)
    assert x_test.shape == (20, 32, 32, 3) and x_test.max() <= 1


def test_source_from_argument_or_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    assert data.resolve_source(None) == tmp_path / "env"
    assert data.resolve_source(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv(data.ENV_VAR)
    assert data.resolve_source(None) is None


def test_bad_sources_are_clear_errors(tmp_path, image_folder_factory, cifar_python_factory):
    with pytest.raises(DataError, match=r"missing.tar.gz: no such file or folder; give"):
        data.prepare(tmp_path / "missing.tar.gz", tmp_path / "cache")
    whole = cifar_python_factory(tmp_path / "whole.tar.gz").read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"truncated.tar.gz: cannot read the archive; it is "
                                        r"truncated or corrupt"):
        data.prepare(truncated, tmp_path / "cache")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: neither cifar-10-batches-py files nor train/"):
        data.prepare(tmp_path / "empty", tmp_path / "cache")
    root = image_folder_factory(tmp_path / "corrupt", classes=2, train_per_class=2)
    (root / "train" / "c1" / "0001.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"train/c1/0001.png: unreadable image"):
        data.prepare(root, tmp_path / "cache")
    root = image_folder_factory(tmp_path / "sizes", classes=2, train_per_class=2)
    shutil.copy(image_folder_factory(tmp_path / "big", classes=1, train_per_class=1, size=40)
                / "train" / "c0" / "0000.png", root / "train" / "c1" / "0001.png")
    with pytest.raises(DataError, match=r"train/c1/0001.png is 40x40, but the images before it "
                                        r"are 32x32"):
        data.prepare(root, tmp_path / "cache")


def test_failed_download_says_how_to_supply_data(monkeypatch, tmp_path):
    import keras

    def offline():
        raise OSError("network unreachable")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(DataError, match=r"could not be downloaded \(OSError\); give a local copy "
                                        r"with --data PATH or CIFAR_SEARCH_DATA=PATH"):
        data.prepare(None, tmp_path / "cache")

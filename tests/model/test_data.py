"""Data sources, the decode-once cache and the seeded split, on generated images."""

from __future__ import annotations

import os
import re
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cifar_search.model import data
from cifar_search.errors import DataError


def arrays(cache_dir: Path) -> list[np.ndarray]:
    """The four cached arrays of a prepared folder."""
    return [np.load(cache_dir / f"{name}.npy") for name in data.ARRAY_NAMES]


def cached(cache_root: Path) -> list[str]:
    """The names in a cache root, but for the lock files that let one process decode."""
    return sorted(p.name for p in cache_root.iterdir() if not p.name.endswith(".lock"))


def tar_folder(folder: Path, archive: Path, arcname: str, mode: str = "w:gz") -> Path:
    """Pack ``folder`` into ``archive`` under ``arcname`` ("" packs its contents at the root)."""
    with tarfile.open(archive, mode) as tar:
        if arcname:
            tar.add(folder, arcname=arcname)
        else:
            for child in sorted(folder.iterdir()):
                tar.add(child, arcname=child.name)
    return archive


def assert_class_colours(x: np.ndarray, y: np.ndarray) -> None:
    """Each image is one flat colour (plus noise) shared by its class and no other class."""
    per_image = x.reshape(len(x), -1, 3).astype(float)
    assert per_image.std(axis=1).max() < 15  # channels in the right place
    means = per_image.mean(axis=1)
    centres = {k: means[y == k].mean(axis=0) for k in np.unique(y)}
    for k, centre in centres.items():
        assert np.abs(means[y == k] - centre).max() < 5
        others = [c for j, c in centres.items() if j != k]
        assert all(np.abs(centre - c).max() > 30 for c in others)


@pytest.fixture
def images(tmp_path, image_folder_factory) -> Path:
    """3 classes x 4 training and 2 test images."""
    return image_folder_factory(tmp_path / "images", classes=3, train_per_class=4,
                                test_per_class=2)


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


def test_image_folder_decodes_sorted_by_class_then_name(tmp_path, images):
    cache = data.prepare(images, tmp_path / "cache")
    x_train, y_train, x_test, y_test = arrays(cache)
    assert x_train.shape == (12, 32, 32, 3) and x_train.dtype == np.uint8
    assert x_test.shape == (6, 32, 32, 3) and x_test.dtype == np.uint8
    assert y_train.tolist() == [0] * 4 + [1] * 4 + [2] * 4 and y_train.dtype == np.int32
    assert y_test.tolist() == [0, 0, 1, 1, 2, 2] and y_test.dtype == np.int32
    np.testing.assert_array_equal(x_train[5], np.asarray(Image.open(images / "train/c1/0001.png")))
    np.testing.assert_array_equal(x_test[4], np.asarray(Image.open(images / "test/c2/0000.png")))
    assert_class_colours(x_train, y_train)
    meta = data.read_meta(cache)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", meta.pop("digest"))
    assert meta == {"source": str(images.resolve()), "classes": ["c0", "c1", "c2"], "train": 12,
                    "test": 6, "image_shape": [32, 32, 3]}


@pytest.mark.parametrize("layout", ["tar.gz with a top folder", "tar.gz at the root",
                                    "plain .tar", ".tgz", "folder inside a folder"])
def test_every_image_folder_form_gives_the_same_arrays(tmp_path, images, layout):
    expected = arrays(data.prepare(images, tmp_path / "cache"))
    if layout == "tar.gz with a top folder":
        source = tar_folder(images, tmp_path / "images.tar.gz", "cifar10")
    elif layout == "tar.gz at the root":
        source = tar_folder(images, tmp_path / "flat.tar.gz", "")
    elif layout == "plain .tar":
        source = tar_folder(images, tmp_path / "images.tar", "cifar10", mode="w")
    elif layout == ".tgz":
        source = tar_folder(images, tmp_path / "images.tgz", "cifar10")
    else:
        source = tmp_path / "outer"
        shutil.copytree(images, source / "cifar10")
    cache = data.prepare(source, tmp_path / "cache")
    for got, want in zip(arrays(cache), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert data.read_meta(cache)["classes"] == ["c0", "c1", "c2"]


def test_cifar_python_tarball_and_extracted_folders_give_the_same_arrays(
        tmp_path, image_folder_factory, cifar_python_factory):
    folder = image_folder_factory(tmp_path / "images", classes=10, train_per_class=2,
                                  test_per_class=1)
    prepared = data.prepare(folder, tmp_path / "cache")
    expected, classes = arrays(prepared), data.read_meta(prepared)["classes"]
    tarball = cifar_python_factory(tmp_path / "cifar-10-python.tar.gz",
                                   arrays=(*expected, classes))
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path / "extracted", filter="data")
    for source in (tarball, tmp_path / "extracted", tmp_path / "extracted/cifar-10-batches-py"):
        cache = data.prepare(source, tmp_path / "cache")
        for got, want in zip(arrays(cache), expected, strict=True):
            np.testing.assert_array_equal(got, want)
        assert data.read_meta(cache)["classes"] == classes


def test_cifar_python_channels_labels_and_names(tmp_path, cifar_python_factory):
    tarball = cifar_python_factory(tmp_path / "cifar-10-python.tar.gz", n_per_batch=10,
                                   n_test=10)
    cache = data.prepare(tarball, tmp_path / "cache")
    x_train, y_train, x_test, y_test = arrays(cache)
    assert x_train.shape == (50, 32, 32, 3) and x_test.shape == (10, 32, 32, 3)
    assert y_train.tolist() == list(range(10)) * 5 and y_test.tolist() == list(range(10))
    assert_class_colours(np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]))
    assert data.read_meta(cache)["classes"] == [f"c{k}" for k in range(10)]


def test_jpeg_grey_and_rgba_images_become_rgb(tmp_path, image_folder_factory):
    root = image_folder_factory(tmp_path / "jpeg", classes=2, train_per_class=2,
                                test_per_class=1, size=16, fmt="jpg")
    Image.new("L", (16, 16), 128).save(root / "train/c0/0002.png")
    Image.new("RGBA", (16, 16), (10, 20, 30, 0)).save(root / "train/c1/0002.png")
    (root / "train/c1/notes.txt").write_text("not an image, ignored")
    (root / "train/c1/.hidden.jpg").write_bytes(b"ignored")
    x_train, y_train, _, _ = arrays(data.prepare(root, tmp_path / "cache"))
    assert x_train.shape == (6, 16, 16, 3) and y_train.tolist() == [0, 0, 0, 1, 1, 1]
    assert (x_train[2] == 128).all() and (x_train[5] == (10, 20, 30)).all()


# --------------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------------


def test_cache_is_reused_without_decoding(tmp_path, images, monkeypatch):
    first = data.prepare(images, tmp_path / "cache")
    assert re.fullmatch(r"images-[0-9a-f]{12}", first.name)
    monkeypatch.setattr(data, "_decode", lambda *args: pytest.fail("decoded twice"))
    assert data.prepare(images, tmp_path / "cache") == first
    assert data.prepare(str(images), tmp_path / "cache") == first
    assert cached(tmp_path / "cache") == [first.name]


def test_cache_is_renewed_when_a_folder_changes(tmp_path, images):
    first = data.prepare(images, tmp_path / "cache")
    (images / "train/c0/0003.png").unlink()
    second = data.prepare(images, tmp_path / "cache")
    assert second != first and data.read_meta(second)["train"] == 11
    os.rename(images / "train/c1/0000.png", images / "train/c0/0003.png")  # same files, moved
    third = data.prepare(images, tmp_path / "cache")
    assert third not in (first, second)
    assert arrays(third)[1].tolist() == [0] * 4 + [1] * 3 + [2] * 4


def test_cache_is_renewed_when_an_archive_changes(tmp_path, cifar_python_factory):
    tarball = cifar_python_factory(tmp_path / "cifar.tar.gz", n_per_batch=2, n_test=2)
    first = data.prepare(tarball, tmp_path / "cache")
    cifar_python_factory(tarball, n_per_batch=3, n_test=2)
    os.utime(tarball, ns=(1, 1))
    second = data.prepare(tarball, tmp_path / "cache")
    assert second != first and data.read_meta(second)["train"] == 15


def test_cache_write_is_atomic_and_a_lost_race_uses_the_winner(tmp_path, images, monkeypatch):
    cache_root = tmp_path / "cache"

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(data, "_write_cache", killed)
    with pytest.raises(KeyboardInterrupt):
        data.prepare(images, cache_root)
    assert list(cache_root.iterdir()) == []
    monkeypatch.undo()
    winner = data.prepare(images, cache_root)
    written = (winner / "x_train.npy").stat().st_mtime_ns
    # A second process that looked for the cache before the winner's folder appeared: it
    # decodes too, loses the rename, discards its own folder and uses the winner's.
    real = data._is_complete
    checks = []

    def not_there_yet(folder):
        checks.append(folder)
        return len(checks) > 1 and real(folder)

    monkeypatch.setattr(data, "_is_complete", not_there_yet)
    assert data.prepare(images, cache_root) == winner
    assert checks == [winner, winner]
    assert cached(cache_root) == [winner.name]
    assert (winner / "x_train.npy").stat().st_mtime_ns == written


def test_stale_partial_folders_are_removed(tmp_path, images):
    stale = tmp_path / "cache" / ".images-x.abc.partial"
    stale.mkdir(parents=True)
    os.utime(stale, (0, 0))
    fresh = tmp_path / "cache" / ".images-y.abc.partial"
    fresh.mkdir()
    data.prepare(images, tmp_path / "cache")
    assert not stale.exists() and fresh.exists()


# --------------------------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------------------------


@pytest.fixture
def cache(tmp_path, image_folder_factory) -> Path:
    """Prepared 10 classes x 6 training (60) and 2 test (20) images."""
    return data.prepare(image_folder_factory(tmp_path / "images"), tmp_path / "cache")


def rows(x: np.ndarray) -> set[bytes]:
    """The images of an array as a set of byte strings."""
    return {image.tobytes() for image in x}


def test_split_sizes_scaling_and_shape(cache):
    split = data.load_split(cache, 0.25, None, 0)
    assert (len(split.x_train), len(split.x_val)) == (45, 15)
    assert (len(split.y_train), len(split.y_val)) == (45, 15)
    for x in (split.x_train, split.x_val):
        assert x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert split.y_train.dtype == np.int32
    assert split.input_shape == (32, 32, 3) and split.num_classes == 10
    assert split.classes == tuple(f"c{k}" for k in range(10))
    raw = np.load(cache / "x_train.npy")
    whole = rows((raw / np.float32(255)).astype(np.float32))
    assert rows(split.x_train) | rows(split.x_val) == whole
    assert not rows(split.x_train) & rows(split.x_val)


def test_unscaled_split_keeps_the_cached_pixels(cache):
    scaled = data.load_split(cache, 0.25, None, 0)
    raw = data.load_split(cache, 0.25, None, 0, scaled=False)
    assert raw.x_train.dtype == np.uint8 and not raw.x_train.flags.writeable
    np.testing.assert_array_equal(np.divide(raw.x_train, 255, dtype=np.float32), scaled.x_train)
    np.testing.assert_array_equal(raw.y_val, scaled.y_val)


def test_split_follows_the_seeded_permutation(cache):
    split = data.load_split(cache, 0.2, 20, 3)
    order = np.random.default_rng(3).permutation(60)[:20]
    y = np.load(cache / "y_train.npy")
    np.testing.assert_array_equal(split.y_train, y[order[:16]])
    np.testing.assert_array_equal(split.y_val, y[order[16:]])


def test_split_is_deterministic_per_seed_and_memoised(cache):
    first = data.load_split(cache, 0.25, None, 0)
    assert data.load_split(cache, 0.25, None, 0) is first
    data.load_split.cache_clear()
    again = data.load_split(cache, 0.25, None, 0)
    assert again is not first
    np.testing.assert_array_equal(again.x_val, first.x_val)
    np.testing.assert_array_equal(again.y_train, first.y_train)
    other = data.load_split(cache, 0.25, None, 1)
    assert rows(other.x_val) != rows(first.x_val)
    assert not first.x_train.flags.writeable


@pytest.mark.parametrize("validation, subset, sizes", [
    (0.25, 20, (15, 5)), (0.2, None, (48, 12)), (0.01, None, (59, 1)), (0.0, None, (60, 0)),
    (0.5, 2, (1, 1)), (0.2, 60, (48, 12)),
])
def test_split_sizes_with_subset_and_validation(cache, validation, subset, sizes):
    split = data.load_split(cache, validation, subset, 0)
    assert (len(split.x_train), len(split.x_val)) == sizes


@pytest.mark.parametrize("subset, validation, message", [
    (61, 0.2, r"subset 61 is more than the 60 training images"),
    (1, 0.2, r"validation 0.2 of 1 images leaves no training image"),
    (0, 0.0, r"validation 0.0 of 0 images leaves no training image"),
])
def test_split_errors(cache, subset, validation, message):
    with pytest.raises(DataError, match=re.escape(str(cache)) + ": " + message):
        data.load_split(cache, validation, subset, 0)


def test_test_set_is_scaled_and_memoised(cache):
    x_test, y_test = data.load_test(cache)
    assert x_test.shape == (20, 32, 32, 3) and x_test.dtype == np.float32
    assert 0 <= x_test.min() and x_test.max() <= 1
    assert y_test.dtype == np.int32 and y_test.tolist() == sorted(list(range(10)) * 2)
    assert data.load_test(cache)[0] is x_test


def test_a_class_subset_keeps_those_classes_relabelled_in_their_order(cache):
    split = data.load_split(cache, 0.25, None, 0, classes=("c7", "c2", "c4"))
    assert split.classes == ("c7", "c2", "c4") and split.num_classes == 3
    assert (len(split.x_train), len(split.x_val)) == (14, 4)  # 18 images, a quarter held out
    raw = np.load(cache / "x_train.npy")
    y = np.load(cache / "y_train.npy")
    for new, old in enumerate((7, 2, 4)):  # each image keeps its class under its new label
        images = rows((raw[y == old] / np.float32(255)).astype(np.float32))
        got = rows(split.x_train[split.y_train == new]) | rows(split.x_val[split.y_val == new])
        assert got == images
    x_test, y_test = data.load_test(cache, ("c7", "c2", "c4"))
    assert y_test.tolist() == [1, 1, 2, 2, 0, 0]  # test images in file order, relabelled
    assert data.class_names(cache, ("c7", "c2", "c4")) == ("c7", "c2", "c4")


def test_validation_on_the_test_set_or_a_seeded_half_of_it(cache):
    whole = data.load_split(cache, "test", None, 0)
    assert (len(whole.x_train), len(whole.x_val)) == (60, 20)
    np.testing.assert_array_equal(whole.x_val, data.load_test(cache, None, "test")[0])
    half = data.load_split(cache, "test_half", None, 3)
    x_test, _ = data.load_test(cache, None, "test_half", 3)
    assert (len(half.x_train), len(half.x_val), len(x_test)) == (60, 10, 10)
    assert not rows(half.x_val) & rows(x_test)
    assert rows(half.x_val) | rows(x_test) == rows(whole.x_val)
    subset = data.load_split(cache, "test_half", None, 3, classes=("c0", "c1"))
    assert (len(subset.x_train), len(subset.x_val)) == (12, 2)


def test_an_unknown_class_is_refused_naming_the_classes(cache):
    with pytest.raises(DataError, match=re.escape(str(cache)) + r": data.classes: 'cat' is not "
                       r"a class of the data; its classes are c0, c1, .*, c9$"):
        data.load_split(cache, 0.2, None, 0, classes=("c0", "cat"))


# --------------------------------------------------------------------------------------------
# Source resolution and download
# --------------------------------------------------------------------------------------------


def test_source_from_argument_or_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    assert data.resolve_source(None) == tmp_path / "env"
    assert data.resolve_source(tmp_path / "arg") == tmp_path / "arg"
    assert data.resolve_source(str(tmp_path / "arg")) == tmp_path / "arg"
    with pytest.raises(DataError, match=r"^data source: '' is an empty path"):
        data.resolve_source("")  # not a fallback to the environment or a download
    monkeypatch.setenv(data.ENV_VAR, "")
    assert data.resolve_source(None) is None
    monkeypatch.delenv(data.ENV_VAR)
    assert data.resolve_source(None) is None
    assert data.resolve_source("does/not/exist") == Path("does/not/exist")


def test_prepared_resolves_the_source_then_prepares_it(monkeypatch, tmp_path, images):
    monkeypatch.setenv(data.ENV_VAR, str(images))
    from_env = data.prepared(None, tmp_path / "cache")
    assert from_env == data.prepare(images, tmp_path / "cache")
    assert data.prepared(str(images), tmp_path / "cache") == from_env
    with pytest.raises(DataError, match="no such file or folder"):
        data.prepared(str(tmp_path / "missing"), tmp_path / "cache")


def test_failed_download_says_how_to_supply_data(monkeypatch, tmp_path):
    import keras

    def offline():
        raise OSError("network\nunreachable")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(DataError) as caught:
        data.prepare(None, tmp_path / "cache")
    message = str(caught.value)
    assert message.startswith("CIFAR-10 could not be downloaded (OSError: network unreachable)")
    assert "--data PATH" in message and "CIFAR_SEARCH_DATA" in message
    assert "cifar-10-python.tar.gz" in message and "train/<class>/*" in message
    assert "\n" not in message


def test_download_is_cached_with_cifar_names(monkeypatch, tmp_path):
    import keras

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    y = (np.arange(8, dtype=np.uint8) % 10).reshape(-1, 1)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: ((x, y), (x[:4], y[:4])))
    cache = data.prepare(None, tmp_path / "cache")
    x_train, y_train, x_test, y_test = arrays(cache)
    np.testing.assert_array_equal(x_train, x)
    assert y_train.tolist() == list(range(8)) and y_train.dtype == np.int32
    assert y_test.shape == (4,)
    meta = data.read_meta(cache)
    assert meta["classes"][:3] == ["airplane", "automobile", "bird"]
    assert meta["source"] == "keras.datasets.cifar10"


# --------------------------------------------------------------------------------------------
# Errors: one line, naming the path
# --------------------------------------------------------------------------------------------


def prepare_fails(source: Path, cache_root: Path, pattern: str) -> str:
    """Assert prepare raises a one-line DataError matching ``pattern``; return the message."""
    with pytest.raises(DataError, match=pattern) as caught:
        data.prepare(source, cache_root)
    message = str(caught.value)
    assert "\n" not in message
    assert not cache_root.exists() or not any(p.name.endswith(".partial")
                                              for p in cache_root.iterdir())
    return message


def test_missing_path(tmp_path):
    message = prepare_fails(tmp_path / "missing.tar.gz", tmp_path / "cache",
                            r"missing.tar.gz: no such file or folder; give --data PATH or "
                            r"CIFAR_SEARCH_DATA")
    assert "cifar-10-python.tar.gz" in message


@pytest.mark.parametrize("fraction", [0.5, 0.05])
def test_truncated_tar_gz(tmp_path, cifar_python_factory, fraction):
    whole = cifar_python_factory(tmp_path / "whole.tar.gz").read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(whole[: int(len(whole) * fraction)])
    prepare_fails(truncated, tmp_path / "cache",
                  r"truncated.tar.gz: the archive is truncated or corrupt")


def test_truncated_image_tar_at_a_member_boundary(tmp_path, images):
    whole = tar_folder(images, tmp_path / "whole.tar", "top", mode="w").read_bytes()
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(whole[: len(whole) // 2 // 512 * 512])
    prepare_fails(truncated, tmp_path / "cache", r"truncated.tar: the archive is truncated")


def test_corrupt_header_in_a_plain_tar(tmp_path, images):
    archive = tar_folder(images, tmp_path / "corrupt.tar", "top", mode="w")
    with tarfile.open(archive) as tar:
        offset = tar.getmember("top/train/c1/0002.png").offset
    content = bytearray(archive.read_bytes())
    content[offset: offset + 512] = b"\x07" * 512
    archive.write_bytes(bytes(content))
    prepare_fails(archive, tmp_path / "cache", r"corrupt.tar: the archive is truncated or "
                                               r"corrupt \(it ends before the end-of-archive")


def test_corrupt_gzip(tmp_path, cifar_python_factory):
    whole = bytearray(cifar_python_factory(tmp_path / "whole.tar.gz").read_bytes())
    whole[len(whole) // 2: len(whole) // 2 + 64] = bytes(64)
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(bytes(whole))
    prepare_fails(corrupt, tmp_path / "cache", r"corrupt.tar.gz: the archive is truncated or "
                                               r"corrupt")


@pytest.mark.parametrize("name, content, pattern", [
    ("notes.txt", b"hello", r"notes.txt: not a tar or tar.gz archive and not a folder; "
                            r"accepted: cifar-10-python.tar.gz"),
    ("empty.tar.gz", b"", r"empty.tar.gz: the file is empty"),
    ("garbage.tar.gz", b"x" * 2000, r"garbage.tar.gz: the archive is truncated or corrupt"),
])
def test_files_that_are_not_archives(tmp_path, name, content, pattern):
    (tmp_path / name).write_bytes(content)
    prepare_fails(tmp_path / name, tmp_path / "cache", pattern)


def test_archive_without_an_accepted_layout(tmp_path):
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff/readme.txt").write_text("hi")
    archive = tar_folder(tmp_path / "stuff", tmp_path / "stuff.tar.gz", "stuff")
    prepare_fails(archive, tmp_path / "cache", r"stuff.tar.gz: an archive without "
                                               r"cifar-10-batches-py/data_batch_\* files or "
                                               r"train/<class>/ and test/<class>/ images")


def test_folder_with_wrong_layout(tmp_path):
    (tmp_path / "wrong/pictures/cats").mkdir(parents=True)
    (tmp_path / "wrong/other").mkdir()
    prepare_fails(tmp_path / "wrong", tmp_path / "cache",
                  r"wrong: a folder without cifar-10-batches-py/data_batch_\* files or "
                  r"train/<class>/ and test/<class>/ folders; accepted: cifar-10-python")


def test_corrupt_image_in_a_folder_and_in_an_archive(tmp_path, images):
    (images / "train/c1/0001.png").write_bytes(b"not an image")
    prepare_fails(images, tmp_path / "cache",
                  re.escape(str(images / "train/c1/0001.png")) + r": unreadable image")
    archive = tar_folder(images, tmp_path / "images.tar.gz", "top")
    prepare_fails(archive, tmp_path / "cache",
                  r"images.tar.gz: top/train/c1/0001.png: unreadable image")


def test_image_of_another_size(tmp_path, images, image_folder_factory):
    big = image_folder_factory(tmp_path / "big", classes=1, train_per_class=1, size=40)
    shutil.copy(big / "train/c0/0000.png", images / "test/c1/0001.png")
    prepare_fails(images, tmp_path / "cache",
                  re.escape(str(images / "test/c1/0001.png")) + r": image is 40x40 but the "
                  r"first image \(.*train/c0/0000.png\) is 32x32; all images must have one size")


def test_class_folder_without_images(tmp_path, images):
    (images / "train/c3").mkdir()
    (images / "train/c3/readme.txt").write_text("no pictures yet")
    prepare_fails(images, tmp_path / "cache", r"images: train/c3/ holds no images")
    archive = tar_folder(images, tmp_path / "images.tar.gz", "top")
    prepare_fails(archive, tmp_path / "cache", r"images.tar.gz: train/c3/ holds no images")


def test_mismatched_classes(tmp_path, images):
    shutil.rmtree(images / "test/c2")
    prepare_fails(images, tmp_path / "cache", r"images: test/ classes \['c0', 'c1'\] differ "
                                              r"from train/ classes \['c0', 'c1', 'c2'\]")


def test_empty_or_missing_split(tmp_path, images):
    shutil.rmtree(images / "test")
    (images / "test").mkdir()
    prepare_fails(images, tmp_path / "cache", r"images: test/ holds no class folders")
    shutil.rmtree(images / "test")
    prepare_fails(images, tmp_path / "cache", r"images: no test/ folder next to train/")
    archive = tar_folder(images, tmp_path / "images.tar.gz", "top")
    prepare_fails(archive, tmp_path / "cache", r"images.tar.gz: no top/test/ folder in the "
                                               r"archive")


def test_cifar_batches_folder_with_a_missing_batch(tmp_path, cifar_python_factory):
    tarball = cifar_python_factory(tmp_path / "cifar.tar.gz", n_per_batch=2, n_test=2)
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path, filter="data")
    (tmp_path / "cifar-10-batches-py/test_batch").unlink()
    prepare_fails(tmp_path / "cifar-10-batches-py", tmp_path / "cache",
                  r"cifar-10-batches-py/test_batch missing; cifar-10-batches-py needs")


def test_cifar_batch_that_runs_code_is_refused(tmp_path, cifar_python_factory):
    tarball = cifar_python_factory(tmp_path / "cifar.tar.gz", n_per_batch=2, n_test=2)
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path, filter="data")
    evil = tmp_path / "cifar-10-batches-py/data_batch_3"
    evil.write_bytes(b"cos\nsystem\n(S'echo owned'\ntR.")
    prepare_fails(tmp_path / "cifar-10-batches-py", tmp_path / "cache",
                  r"data_batch_3: not a CIFAR-10 batch \(os.system is not allowed")


def test_unwritable_cache_root(tmp_path, images):
    (tmp_path / "cache").write_text("a file, not a folder")
    prepare_fails(images, tmp_path / "cache" / "sub", r"cache/sub: cannot create the data cache")

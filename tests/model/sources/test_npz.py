"""An .npz of data arrays: parsed in every accepted form, each refusal pinned, cached once,
its identity following its content."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cifar_search.errors import DataError
from cifar_search.model import data
from tests.conftest import gray_arrays, make_npz


def refused(source: Path, cache_root: Path, pattern: str) -> str:
    """Assert ``prepared(source)`` raises a one-line DataError matching ``pattern`` (a
    regular expression searched for) and leaves no cache; the message."""
    with pytest.raises(DataError) as caught:
        data.prepared(str(source), cache_root)
    message = str(caught.value)
    assert "\n" not in message
    assert re.search(pattern, message), message
    assert not cache_root.exists() or not [p for p in cache_root.iterdir()
                                           if not p.name.endswith(".lock")]
    return message


def test_gray_images_get_a_channel_axis_and_classes_named_by_number(tmp_path):
    source = make_npz(tmp_path / "gray.npz")
    cache = data.prepared(str(source), tmp_path / "cache")
    meta = data.read_meta(cache)
    assert meta["classes"] == ["0", "1", "2"]
    assert meta["image_shape"] == [28, 28, 1]
    assert (meta["train"], meta["test"]) == (24, 9)
    x = np.load(cache / "x_train.npy")
    assert x.dtype == np.uint8 and x.shape == (24, 28, 28, 1)
    np.testing.assert_array_equal(x[..., 0], gray_arrays()["x_train"])
    split = data.load_split(cache, 0.25, seed=0)
    assert split.input_shape == (28, 28, 1) and split.num_classes == 3


@pytest.mark.parametrize("form", ["(n,h,w,1)", "(n,1) labels", "float", "float labels"])
def test_equivalent_forms_give_the_same_data(tmp_path, form):
    base = gray_arrays()
    changed = dict(base)
    if form == "(n,h,w,1)":
        changed["x_train"] = base["x_train"][..., None]
        changed["x_test"] = base["x_test"][..., None]
    elif form == "(n,1) labels":
        changed["y_train"] = base["y_train"].reshape(-1, 1).astype(np.uint8)
    elif form == "float":
        changed["x_train"] = base["x_train"].astype(np.float32) / 255
        changed["x_test"] = base["x_test"].astype(np.float64) / 255
    else:
        changed["y_test"] = base["y_test"].astype(np.float32)
    first = data.prepared(str(make_npz(tmp_path / "a.npz", **base)), tmp_path / "cache")
    second = data.prepared(str(make_npz(tmp_path / "b.npz", **changed)), tmp_path / "cache")
    assert first != second
    assert data.identity(first) == data.identity(second)


def test_rgb_images_and_class_names(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (6, 40, 24, 3), dtype=np.uint8)
    y = np.array([0, 1, 2, 3, 0, 1])
    names = np.array(["cat", "dog", "émeu", "fox"])
    source = make_npz(tmp_path / "rgb.npz", x_train=x, y_train=y, x_test=x[:2],
                      y_test=y[:2], class_names=names)
    cache = data.prepared(str(source), tmp_path / "cache")
    assert data.read_meta(cache)["classes"] == ["cat", "dog", "émeu", "fox"]
    assert data.read_meta(cache)["image_shape"] == [40, 24, 3]
    np.testing.assert_array_equal(np.load(cache / "x_train.npy"), x)


def test_compressed_npz_is_read(tmp_path):
    source = tmp_path / "small.npz"
    np.savez_compressed(source, **gray_arrays())
    cache = data.prepared(str(source), tmp_path / "cache")
    assert data.read_meta(cache)["train"] == 24


def test_the_cache_is_reused_and_follows_the_content(tmp_path, monkeypatch):
    source = make_npz(tmp_path / "gray.npz")
    first = data.prepared(str(source), tmp_path / "cache")
    calls = []
    monkeypatch.setattr(data.sources, "read", lambda *a, **k: calls.append(a))
    assert data.prepared(str(source), tmp_path / "cache") == first
    assert calls == []  # decoded once
    monkeypatch.undo()
    other = gray_arrays()
    other["y_train"] = other["y_train"][::-1].copy()
    make_npz(source, **other)
    second = data.prepared(str(source), tmp_path / "cache")
    assert second != first
    assert data.identity(second)["digest"] != data.identity(first)["digest"]


def arrays_with(**changes) -> dict[str, np.ndarray]:
    """Generated arrays with some replaced (a value of None removes the key)."""
    arrays = {**gray_arrays(), **changes}
    return {k: v for k, v in arrays.items() if v is not None}


@pytest.mark.parametrize("changes, pattern", [
    ({"y_test": None}, r"bad.npz: no 'y_test' array \(it holds x_test, x_train, y_train\); "
                       r"data arrays are x_train, y_train, x_test, y_test, and optionally "
                       r"class_names$"),
    ({"y_train": np.zeros(5, int)}, r"bad.npz: y_train holds 5 labels but x_train holds 24 "
                                    r"images; give one label per image$"),
    ({"y_train": np.full(24, 0.5)}, r"bad.npz: y_train is float64 with values that are not "
                                    r"whole numbers; labels are integers 0..K-1$"),
    ({"y_test": np.full(9, -1)}, r"bad.npz: y_test holds label -1; labels are integers 0..K-1"),
    ({"class_names": np.array(["a", "b"])},
     r"bad.npz: y_train holds label 2 but class_names names 2 classes; labels are integers "
     r"0..1$"),
    ({"x_test": np.zeros((9, 32, 32), np.uint8)},
     r"bad.npz: x_test images are 32x32x1 but x_train images are 28x28x1; training and test "
     r"images must have one shape$"),
    ({"x_train": np.zeros((24, 28, 28, 2), np.uint8)},
     r"bad.npz: x_train has shape \(24, 28, 28, 2\); images are \(N, height, width\), "),
    ({"x_train": np.full((24, 28, 28), 2.0)},
     r"bad.npz: x_train pixels are from 2 to 2; float images lie in \[0, 1\]"),
    ({"x_train": np.zeros((24, 28, 28), np.int64)},
     r"bad.npz: x_train is int64; images are uint8 \(0-255\) or float in \[0, 1\]$"),
    ({"y_train": np.zeros(24, int)},
     r"bad.npz: every training image is of class 0; a data set needs images of at least 2"),
    ({"class_names": np.array(["a", "a", "b"])},
     r"bad.npz: class_names \['a', 'a', 'b'\] is not allowed; class names are distinct"),
])
def test_bad_arrays_are_refused_in_one_line(tmp_path, changes, pattern):
    refused(make_npz(tmp_path / "bad.npz", **arrays_with(**changes)), tmp_path / "cache", pattern)


def test_pickled_object_arrays_are_never_loaded(tmp_path):
    names = np.array(["a", "b", "c"], dtype=object)
    source = make_npz(tmp_path / "bad.npz", **arrays_with(class_names=names))
    refused(source, tmp_path / "cache", r"bad.npz: class_names is an array of Python objects "
                                        r"\(pickled\), which is never loaded")


def test_sizes_are_bounded_by_the_limits_before_reading(tmp_path, monkeypatch):
    source = make_npz(tmp_path / "big.npz")
    monkeypatch.setattr(data, "MAX_IMAGE_SIDE", 20)
    refused(source, tmp_path / "cache", r"big.npz: x_train images are 28x28x1; an image may be "
                                        r"at most 20x20 pixels")
    monkeypatch.undo()
    monkeypatch.setattr(data, "MAX_DECODED_BYTES", 10_000)
    refused(source, tmp_path / "cache", r"big.npz: x_train is uint8 \(24, 28, 28\) \(18816 "
                                        r"bytes\); the arrays of a data set may be at most "
                                        r"9.8 KiB|at most 10000 bytes together")
    monkeypatch.undo()
    monkeypatch.setattr(data, "MAX_ARCHIVE_BYTES", 1000)
    refused(source, tmp_path / "cache", r"big.npz: .* a data file may be at most 1000 bytes")


def test_a_header_claiming_a_huge_array_is_refused_without_reading(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                                  "shape": (10**6, 4096, 4096)})
    source = tmp_path / "bomb.npz"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("x_train.npy", header.getvalue() + b"\0" * 16)
    refused(source, tmp_path / "cache", r"bomb.npz: x_train is uint8 \(1000000, 4096, 4096\) "
                                        r"\(16000000 MiB\); the arrays of a data set may be")


def test_a_truncated_or_corrupt_npz_is_refused(tmp_path):
    good = make_npz(tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(good[:len(good) // 2])
    refused(tmp_path / "cut.npz", tmp_path / "cache", r"cut.npz: not a readable .npz \(")


def test_labels_coarse_is_refused_for_an_npz(tmp_path):
    source = make_npz(tmp_path / "gray.npz")
    with pytest.raises(DataError, match=r"gray.npz: data.labels 'coarse' is not allowed; only "
                                        r"CIFAR-100 has coarse labels"):
        data.prepared(str(source), tmp_path / "cache", labels="coarse")

"""Bad data is refused with one line, quickly and in bounded memory, and leaves no cache.

Each refusal is a :class:`DataError` naming the file (or member), the value and what is
allowed, raised by :func:`data.prepare` before anything is written to the cache root. The
limits are monkeypatched small where real sizes would make a test slow; the huge sizes that
stay (3 GiB headers, multi-GiB gzip bombs) cost nothing because they are never read.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import tarfile
import threading
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cifar_search.errors import DataError
from cifar_search.model import data

GIB = 1 << 30


def refused(source, cache_root: Path, pattern: str, *, within: float = 10.0) -> str:
    """Assert ``prepared(source)`` raises a one-line DataError matching ``pattern`` within
    ``within`` seconds (a hang fails instead of blocking) and leaves no cache; the message."""
    outcome: dict = {}

    def attempt():
        try:
            data.prepared(source, cache_root)
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            outcome["error"] = error

    started = time.monotonic()
    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), f"prepare({source!r}) still running after {within} s"
    error = outcome.get("error")
    assert isinstance(error, DataError), f"expected a DataError, got {error!r}"
    message = str(error)
    assert re.search(pattern, message), f"{pattern!r} not in {message!r}"
    assert "\n" not in message
    assert not cache_root.exists() or not any(cache_root.iterdir()), "a cache was left"
    assert time.monotonic() - started < within
    return message


@pytest.fixture
def images(tmp_path, image_folder_factory) -> Path:
    """3 classes x 4 training and 2 test images, 32x32."""
    return image_folder_factory(tmp_path / "images", classes=3, train_per_class=4,
                                test_per_class=2)


def tar_of(folder: Path, archive: Path, arcname: str = "top", mode: str = "w:gz") -> Path:
    """``folder`` packed into ``archive`` under ``arcname``."""
    with tarfile.open(archive, mode) as tar:
        tar.add(folder, arcname=arcname)
    return archive


def gzip_zeros(size: int, chunk: int = 64 << 20) -> bytes:
    """Gzip members that expand to ``size`` zero bytes, cheaply (one chunk compressed once)."""
    member = gzip.compress(bytes(chunk), compresslevel=9, mtime=0)
    whole, rest = divmod(size, chunk)
    return member * whole + (gzip.compress(bytes(rest), mtime=0) if rest else b"")


def raw_member(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> bytes:
    """The 512-byte header of a member of ``size`` bytes (no data written)."""
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=tarfile.GNU_FORMAT)


# --------------------------------------------------------------------------------------------
# The source itself: empty, not a path, not a regular file or folder
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, pattern", [
    ("", r"^data source: '' is an empty path; give the path of cifar-10-python.tar.gz.*, or "
         r"no data source to download CIFAR-10$"),
    ("   ", r"^data source: '   ' is an empty path"),
    ("a\0b", r"^data source 'a\\x00b': a path cannot hold a NUL character"),
])
def test_empty_or_impossible_source_values(tmp_path, value, pattern):
    refused(value, tmp_path / "cache", pattern)


def test_blank_environment_variable_is_refused_but_an_empty_one_means_unset(monkeypatch,
                                                                             tmp_path):
    monkeypatch.setenv(data.ENV_VAR, "  ")
    refused(None, tmp_path / "cache", r"^CIFAR_SEARCH_DATA: '  ' is an empty path")
    monkeypatch.setenv(data.ENV_VAR, "")
    assert data.resolve_source(None) is None


def _fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "pipe.tar.gz")
    return tmp_path / "pipe.tar.gz"


def _socket(tmp_path: Path) -> Path:
    path = tmp_path / "s.sock"
    if len(str(path)) > 100:
        pytest.skip("the temporary path is too long for a Unix socket")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()
    return path


def _link_to_dev_zero(tmp_path: Path) -> Path:
    (tmp_path / "data.tar.gz").symlink_to("/dev/zero")
    return tmp_path / "data.tar.gz"


def _broken_link(tmp_path: Path) -> Path:
    (tmp_path / "data.tar.gz").symlink_to(tmp_path / "gone.tar.gz")
    return tmp_path / "data.tar.gz"


@pytest.mark.parametrize("make, pattern", [
    (lambda tmp: Path("/dev/zero"), r"^/dev/zero: a character device, not a file or folder; "
                                    r"accepted: cifar-10-python.tar.gz"),
    (_fifo, r"pipe.tar.gz: a FIFO \(named pipe\), not a file or folder"),
    (_socket, r"s.sock: a socket, not a file or folder"),
    (_link_to_dev_zero, r"data.tar.gz: a character device \(a link to /dev/zero\), not a file"),
    (_broken_link, r"data.tar.gz: a broken symbolic link \(to .*gone.tar.gz\); give --data"),
], ids=["dev-zero", "fifo", "socket", "link-to-dev-zero", "broken-link"])
def test_sources_that_are_not_files_or_folders_are_refused_at_once(tmp_path, make, pattern):
    refused(make(tmp_path), tmp_path / "cache", pattern, within=2.0)


# --------------------------------------------------------------------------------------------
# Files inside a folder: regular files only, never opened otherwise
# --------------------------------------------------------------------------------------------


def _replace(path: Path, make) -> Path:
    path.unlink()
    make(path)
    return path


@pytest.mark.parametrize("make, pattern", [
    (lambda path: os.mkfifo(path), r"a FIFO \(named pipe\), not a regular file; data files "
                                   r"must be regular files"),
    (lambda path: path.symlink_to("/dev/zero"), r"a character device \(a link to /dev/zero\), "
                                                r"not a regular file"),
    (lambda path: path.symlink_to(path.parent / "gone.png"), r"a broken symbolic link \(to "),
    (lambda path: path.mkdir(), r"a folder, not a regular file"),
], ids=["fifo", "link-to-dev-zero", "broken-link", "folder"])
def test_an_image_that_is_not_a_regular_file(tmp_path, images, make, pattern):
    image = _replace(images / "train/c1/0002.png", make)
    refused(images, tmp_path / "cache", "^" + re.escape(str(image)) + ": " + pattern,
            within=5.0)


def test_a_batch_that_is_a_fifo(tmp_path, cifar_python_factory):
    tarball = cifar_python_factory(tmp_path / "cifar.tar.gz", n_per_batch=2, n_test=2)
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path, filter="data")
    batch = _replace(tmp_path / "cifar-10-batches-py/data_batch_3", os.mkfifo)
    refused(tmp_path / "cifar-10-batches-py", tmp_path / "cache",
            "^" + re.escape(str(batch)) + r": a FIFO \(named pipe\), not a regular file",
            within=5.0)


def test_a_link_to_a_regular_file_is_followed(tmp_path, images):
    target = tmp_path / "elsewhere.png"
    shutil.move(images / "train/c0/0001.png", target)
    (images / "train/c0/0001.png").symlink_to(target)
    linked = data.prepare(images, tmp_path / "cache")
    assert data.read_meta(linked)["train"] == 12


# --------------------------------------------------------------------------------------------
# Classes
# --------------------------------------------------------------------------------------------


def test_one_class_folder_and_archive(tmp_path, image_folder_factory):
    one = image_folder_factory(tmp_path / "one", classes=1)
    refused(one, tmp_path / "cache", r"one: 1 class \(c0\); a data set needs 2 to 1000 "
                                     r"classes \(class folders in train/ and test/\)$")
    refused(tar_of(one, tmp_path / "one.tar.gz"), tmp_path / "cache",
            r"one.tar.gz: 1 class \(c0\); a data set needs 2 to 1000 classes")


def test_too_many_classes(tmp_path, images, monkeypatch):
    monkeypatch.setattr(data, "MAX_CLASSES", 2)
    refused(images, tmp_path / "cache", r"images: train/ holds more than 2 class folders; a "
                                        r"data set has 2 to 2 classes, one folder each$")
    refused(tar_of(images, tmp_path / "images.tar.gz"), tmp_path / "cache",
            r"images.tar.gz: 3 classes; a data set needs 2 to 2 classes")


def _cifar_arrays(labels: list[int], classes: list[str]) -> tuple:
    """Arrays for make_cifar_python_tarball: 10 training, 2 test images of 32x32."""
    x = np.zeros((12, 32, 32, 3), np.uint8)
    y = np.array(labels + [0, 0])
    return x[:10], y[:10], x[10:], y[10:], classes


@pytest.mark.parametrize("labels, classes, pattern", [
    ([0] * 10, ["only"], r"cifar.tar.gz: batches.meta: 1 class \(only\); a data set needs 2 to "
                         r"1000 classes \(label_names\)$"),
    ([0] * 10, ["a", "b"], r"cifar.tar.gz: every training image is of class 'a'; a data set "
                           r"needs images of at least 2 classes$"),
], ids=["one-label-name", "one-label-used"])
def test_cifar_batches_of_one_class(tmp_path, cifar_python_factory, labels, classes, pattern):
    tarball = cifar_python_factory(tmp_path / "cifar.tar.gz",
                                   arrays=_cifar_arrays(labels, classes))
    refused(tarball, tmp_path / "cache", pattern)


def test_a_one_class_cache_from_an_earlier_version_is_refused(tmp_path, images):
    cache = data.prepare(images, tmp_path / "cache")
    meta = json.loads((cache / "meta.json").read_text())
    (cache / "meta.json").write_text(json.dumps({**meta, "classes": ["c0"]}))
    with pytest.raises(DataError, match=r"images: 1 class \(c0\); a data set needs 2"):
        data.prepare(images, tmp_path / "cache")


# --------------------------------------------------------------------------------------------
# Archives: members checked by their headers, expansion bounded while reading
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True], ids=["tar", "tar.gz"])
@pytest.mark.parametrize("name, pattern", [
    ("top/train/c0/0000.png", r"top/train/c0/0000.png: a member of 3072 MiB; an archive member "
                              r"may be at most 256 MiB \(a CIFAR-10 batch is about 30 MiB\)$"),
    ("cifar-10-batches-py/data_batch_1", r"cifar-10-batches-py/data_batch_1: a member of 3072 "
                                         r"MiB; an archive member may be at most 256 MiB"),
    ("top/video.bin", r"top/video.bin: the archive expands to 3072 MiB up to this member; an "
                      r"archive may expand to at most 1024 MiB"),
], ids=["image", "batch", "other-file"])
def test_a_member_whose_header_claims_3_gib_is_refused_unread(tmp_path, name, pattern,
                                                               compress):
    content = raw_member(name, 3 * GIB) + bytes(4096)  # the data is never there
    path = tmp_path / ("big.tar.gz" if compress else "big.tar")
    path.write_bytes(gzip.compress(content) if compress else content)
    refused(path, tmp_path / "cache", "^" + re.escape(str(path)) + ": " + pattern, within=5.0)


def test_a_gzip_bomb_member_is_refused_before_it_is_decompressed(tmp_path):
    # 3 GiB of zeros in a file of about 3 MB: the header is checked before any of it is read.
    header = gzip.compress(raw_member("cifar-10-batches-py/data_batch_1", 3 * GIB), mtime=0)
    bomb = tmp_path / "bomb.tar.gz"
    bomb.write_bytes(header + gzip_zeros(3 * GIB))
    assert bomb.stat().st_size < 8_000_000
    refused(bomb, tmp_path / "cache", r"data_batch_1: a member of 3072 MiB", within=5.0)


def test_a_gzip_bomb_after_the_end_of_the_archive_is_bounded(tmp_path, images, monkeypatch):
    # The headers are fine; the expansion hides after the end-of-archive marker, so only the
    # bound on what is decompressed catches it (lowered here to keep the test fast).
    monkeypatch.setattr(data, "MAX_ARCHIVE_BYTES", 4 << 20)
    archive = tar_of(images, tmp_path / "plain.tar", mode="w")
    bomb = tmp_path / "tail.tar.gz"
    bomb.write_bytes(gzip.compress(archive.read_bytes(), mtime=0) + gzip_zeros(4 * GIB))
    started = time.monotonic()
    refused(bomb, tmp_path / "cache", r"tail.tar.gz: the archive expands to more than 4 MiB; "
                                      r"an archive may expand to at most 4 MiB \(the official "
                                      r"cifar-10-python.tar.gz: about 178 MiB\)$", within=5.0)
    assert time.monotonic() - started < 3  # 4 GiB of zeros would take far longer


def test_a_huge_pax_header_is_refused_before_it_is_read(tmp_path):
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type, pax.size = tarfile.XHDTYPE, 3 * GIB
    path = tmp_path / "pax.tar.gz"
    path.write_bytes(gzip.compress(pax.tobuf(format=tarfile.USTAR_FORMAT), mtime=0)
                     + gzip_zeros(512 << 20))
    refused(path, tmp_path / "cache", r"pax.tar.gz: an entry of 3072 MiB at byte 512; an "
                                      r"archive member may be at most 256 MiB$", within=5.0)


def test_the_archive_bound_counts_every_member(tmp_path, images, monkeypatch):
    monkeypatch.setattr(data, "MAX_ARCHIVE_BYTES", 20_000)
    archive = tar_of(images, tmp_path / "images.tar.gz")
    refused(archive, tmp_path / "cache", r"images.tar.gz: top/\S+: the archive expands to "
                                         r"\d+ bytes up to this member; an archive may expand "
                                         r"to at most 20000 bytes")


def test_the_bounds_leave_an_ordinary_archive_alone(tmp_path, images):
    plain = data.prepare(images, tmp_path / "cache")
    for mode, name, top in (("w:gz", "a.tar.gz", "top"), ("w:bz2", "a.tar.bz2", "top"),
                            ("w:xz", "a.tar.xz", "top"), ("w", "a.tar", "top"),
                            ("w", "b.tar", "BZh91AY")):  # a plain tar that starts like bzip2
        packed = data.prepare(tar_of(images, tmp_path / name, top, mode), tmp_path / "cache")
        assert data.identity(packed) == data.identity(plain)


@pytest.mark.parametrize("kind, shown", [
    (tarfile.SYMTYPE, "a symbolic link"), (tarfile.LNKTYPE, "a hard link"),
    (tarfile.FIFOTYPE, "a FIFO \\(named pipe\\)"), (tarfile.CHRTYPE, "a character device"),
])
def test_an_archive_image_that_is_not_a_regular_file(tmp_path, images, kind, shown):
    path = tar_of(images, tmp_path / "images.tar", mode="w")
    with tarfile.open(path, "a") as archive:
        info = tarfile.TarInfo("top/train/c0/0009.png")
        info.type, info.linkname = kind, "top/train/c0/0000.png"
        archive.addfile(info)
    refused(path, tmp_path / "cache", r"images.tar: top/train/c0/0009.png: " + shown
            + r" in the archive, not a regular file; images and batches must be regular files$")


def test_too_many_members_or_images(tmp_path, images, monkeypatch):
    monkeypatch.setattr(data, "MAX_FILES", 10)
    refused(tar_of(images, tmp_path / "images.tar.gz"), tmp_path / "cache",
            r"images.tar.gz: more than 10 members; an archive may hold at most 10 files and "
            r"folders")
    refused(images, tmp_path / "cache", r"images: more than 10 images; an image folder may hold "
                                        r"at most 10 \(CIFAR-10 has 60000\)$")


# --------------------------------------------------------------------------------------------
# Files and images
# --------------------------------------------------------------------------------------------


def test_file_size_limit_in_a_folder_and_in_an_archive(tmp_path, images, monkeypatch):
    archive = tar_of(images, tmp_path / "images.tar.gz")
    monkeypatch.setattr(data, "MAX_FILE_BYTES", 100)
    refused(images, tmp_path / "cache", r"/images/train/c0/\d{4}.png: \d+ bytes; a data file "
                                        r"may be at most 100 bytes \(a CIFAR-10 batch is about "
                                        r"30 MiB\)$")
    refused(archive, tmp_path / "cache", r"images.tar.gz: top/test/c0/0000.png: a member of "
                                         r"\d+ bytes; an archive member may be at most 100 bytes")


def test_an_image_too_large_is_refused_from_its_header(tmp_path, images):
    wide = images / "train/c0/0000.png"
    Image.new("RGB", (5000, 1)).save(wide)
    refused(images, tmp_path / "cache", "^" + re.escape(str(wide)) + r": image is 5000x1; an "
            r"image may be at most 4096x4096 pixels \(CIFAR-10's are 32x32\)$")


def _png_header(side: int) -> bytes:
    """A PNG file of a few bytes that claims ``side`` x ``side`` RGB pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (len(body).to_bytes(4, "big") + kind + body
                + zlib.crc32(kind + body).to_bytes(4, "big"))

    header = side.to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side, pattern", [
    (10000, r"image is 10000x10000; an image may be at most 4096x4096 pixels"),
    (60000, r"image is too large \(Image size \(3600000000 pixels\) exceeds limit of \d+ "
            r"pixels, could be decompression bomb DOS attack.\); an image may be at most "
            r"4096x4096 pixels"),  # 10 GiB decoded: refused by Pillow's own, higher limit
])
def test_a_huge_image_is_refused_without_decoding_it(tmp_path, images, side, pattern):
    (images / "test/c2/0001.png").write_bytes(_png_header(side))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning either
        refused(images, tmp_path / "cache", r"test/c2/0001.png: " + pattern + r" \(CIFAR-10's "
                                            r"are 32x32\)$")


def test_decoded_size_limit(tmp_path, images, monkeypatch):
    monkeypatch.setattr(data, "MAX_DECODED_BYTES", 10_000)
    refused(images, tmp_path / "cache", r"images: 18 images of 32x32 decode to 55296 bytes; a "
                                        r"data set may decode to at most 10000 bytes")


# --------------------------------------------------------------------------------------------
# identity: the data without its path
# --------------------------------------------------------------------------------------------


def test_identity_is_plain_data_without_paths(tmp_path, images):
    cache = data.prepare(images, tmp_path / "cache")
    ident = data.identity(cache)
    assert set(ident) == {"classes", "train", "test", "digest"}
    assert ident["classes"] == ["c0", "c1", "c2"] and (ident["train"], ident["test"]) == (12, 6)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", ident["digest"])
    assert json.loads(json.dumps(ident)) == ident
    assert str(tmp_path) not in json.dumps(ident)


def test_identity_is_the_same_for_the_same_data_anywhere(tmp_path, images):
    ident = data.identity(data.prepare(images, tmp_path / "cache"))
    moved = shutil.copytree(images, tmp_path / "copy" / "other-name")
    elsewhere = data.prepare(moved, tmp_path / "other-workspace" / "cache")
    assert elsewhere.name != data.prepare(images, tmp_path / "cache").name
    assert data.identity(elsewhere) == ident
    copied_cache = shutil.copytree(elsewhere, tmp_path / "copied-workspace" / elsewhere.name)
    assert data.identity(copied_cache) == ident
    archive = data.prepare(tar_of(images, tmp_path / "images.tar.gz"), tmp_path / "cache")
    assert data.identity(archive) == ident


def _one_pixel(root: Path) -> None:
    path = root / "train/c1/0002.png"
    pixels = np.asarray(Image.open(path)).copy()
    pixels[0, 0, 0] ^= 1
    Image.fromarray(pixels).save(path)


@pytest.mark.parametrize("change, differs", [
    (_one_pixel, {"digest"}),
    (lambda root: (root / "test/c0/0001.png").unlink(), {"test", "digest"}),
    (lambda root: [(root / s / "c2").rename(root / s / "d2") for s in ("train", "test")],
     {"classes"}),
    (lambda root: [(root / s / "c0").rename(root / s / "z0") for s in ("train", "test")],
     {"classes", "digest"}),  # the labels move: z0 sorts last
], ids=["one-pixel", "one-image-fewer", "class-renamed", "classes-reordered"])
def test_identity_differs_for_other_data(tmp_path, images, change, differs):
    before = data.identity(data.prepare(images, tmp_path / "cache"))
    other = shutil.copytree(images, tmp_path / "other")
    change(other)
    after = data.identity(data.prepare(other, tmp_path / "cache"))
    assert {key for key in before if before[key] != after[key]} == differs


def test_identity_of_a_cache_without_a_digest_is_computed_once_and_stored(tmp_path, images,
                                                                          monkeypatch):
    cache = data.prepare(images, tmp_path / "cache")
    meta = json.loads((cache / "meta.json").read_text())
    written = meta.pop("digest")
    (cache / "meta.json").write_text(json.dumps(meta))  # as an earlier version wrote it
    files = sorted(p.name for p in cache.iterdir())
    ident = data.identity(cache)
    assert ident["digest"] == written  # the same digest whether computed early or late
    assert data.read_meta(cache) == {**meta, "digest": written}
    assert sorted(p.name for p in cache.iterdir()) == files  # no temporary file left
    monkeypatch.setattr(data, "_digest", lambda arrays: pytest.fail("hashed again"))
    assert data.identity(cache) == ident


def test_identity_of_an_unreadable_cache(tmp_path, images):
    cache = data.prepare(images, tmp_path / "cache")
    (cache / "meta.json").write_text(json.dumps({"source": "x"}))
    with pytest.raises(DataError, match=r"meta.json: the data cache description is incomplete "
                                        r"\(KeyError: 'classes'\); delete the folder"):
        data.identity(cache)


def test_cifar_batches_identity_matches_its_image_folder(tmp_path, image_folder_factory,
                                                         cifar_python_factory):
    folder = image_folder_factory(tmp_path / "images", classes=10, train_per_class=2,
                                  test_per_class=1)
    cache = data.prepare(folder, tmp_path / "cache")
    arrays = [np.load(cache / f"{name}.npy") for name in data.ARRAY_NAMES]
    tarball = cifar_python_factory(tmp_path / "cifar-10-python.tar.gz",
                                   arrays=(*arrays, data.read_meta(cache)["classes"]))
    assert data.identity(data.prepare(tarball, tmp_path / "cache")) == data.identity(cache)

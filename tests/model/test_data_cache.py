"""Decoded data in the user cache, shared by every workspace: checked before use, filled by
one process at a time, kept under a size cap, listed and cleared by ``cache list|clear``."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pytest

from cifar_search.config.load import load_sweep
from cifar_search.errors import ConfigError
from cifar_search.model import data, data_cache
from cifar_search.model.data_cache import Entry, Verdict, verdict
from cifar_search.session.data import prepare_data
from cifar_search.workspace import Workspace
from tests.helpers import cli_inline

SWEEP = """
from cifar_search import Budget, Data, Objective, Sweep

sweep = Sweep(
    name="shared",
    space={"parameters": {"learning_rate": {"grid": [0.01]}}},
    model="dropout",
    data=Data(source=%r),
    budget=Budget(epochs=1, batch_size=8),
    objective=Objective("val_accuracy"),
    sampler="grid",
    trials=1,
)
"""


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """This test's own user cache (empty), its folders let go after it."""
    monkeypatch.setenv("CIFAR_SEARCH_CACHE", str(tmp_path / "user-cache"))
    monkeypatch.delenv(data_cache.CAP_ENV, raising=False)
    yield tmp_path / "user-cache"
    data_cache.release()


@pytest.fixture
def images(tmp_path, image_folder_factory) -> Path:
    """3 classes x 4 training and 2 test images."""
    return image_folder_factory(tmp_path / "images", classes=3, train_per_class=4,
                                test_per_class=2)


def no_decoding(*args):
    pytest.fail("decoded although the shared cache holds the data")


# --------------------------------------------------------------------------------------------
# Pure decisions
# --------------------------------------------------------------------------------------------


RECORDED = {"x.npy": [100, 7], "y.npy": [10, 8]}


@pytest.mark.parametrize("recorded, found, expected, why", [
    (RECORDED, {"x.npy": (100, 7), "y.npy": (10, 8)}, Verdict.USE, ""),
    (RECORDED, {"x.npy": (60, 7), "y.npy": (10, 8)}, Verdict.BAD,
     "x.npy is 60 bytes, 100 when written"),
    (RECORDED, {"x.npy": (100, 7), "y.npy": None}, Verdict.BAD, "y.npy is missing"),
    (RECORDED, {"x.npy": (100, 9), "y.npy": (10, 8)}, Verdict.REHASH,
     "x.npy was modified since it was written"),
    (None, {"x.npy": (100, 7), "y.npy": (10, 8)}, Verdict.REHASH, "no valid files.json"),
    ({"x.npy": [100, 7]}, {"x.npy": (100, 7), "y.npy": (10, 8)}, Verdict.REHASH,
     "y.npy is not recorded"),
])
def test_a_folder_is_used_checked_by_its_digest_or_decoded_again(recorded, found, expected,
                                                                 why):
    assert verdict(recorded, found) == (expected, why)


def test_the_cap_and_what_goes_past_it():
    assert data_cache.cap_bytes({}) == 20 * 10**9
    assert data_cache.cap_bytes({data_cache.CAP_ENV: "1500"}) == 1500
    assert data_cache.cap_bytes({data_cache.CAP_ENV: "2G"}) == 2 * 10**9
    with pytest.raises(ConfigError, match=r"^CIFAR_SEARCH_DATA_CACHE_MAX: '2 lots' is not a "
                                          r"size; give bytes, e.g. 20000000000 or 20G"):
        data_cache.cap_bytes({data_cache.CAP_ENV: "2 lots"})
    a, b, c = (Entry(Path(name), "", 40, used) for name, used in (("a", 3), ("b", 1), ("c", 2)))
    assert [e.path.name for e in data_cache.to_evict([a, b, c], 80)] == ["b"]
    assert [e.path.name for e in data_cache.to_evict([a, b, c], 10, keep=Path("b"))] == [
        "c", "a"]
    assert data_cache.to_evict([a, b, c], 120) == []


# --------------------------------------------------------------------------------------------
# Shared by workspaces
# --------------------------------------------------------------------------------------------


@pytest.mark.processes
def test_a_second_workspace_runs_on_the_shared_data_without_decoding(tmp_path, cache,
                                                                     tiny_data, monkeypatch):
    (tmp_path / "sweep.py").write_text(SWEEP % str(tiny_data))
    first = prepare_data(load_sweep(tmp_path / "sweep.py"), Workspace.at(tmp_path / "ws-a"))
    assert first.parent == cache / "data"
    monkeypatch.setattr(data, "_decode", no_decoding)
    cli_inline("run", "sweep.py", "--workspace", "ws-b", cwd=tmp_path)
    assert not (tmp_path / "ws-b" / "data").exists()
    status = json.loads(cli_inline("status", "sweep.py", "--json", "--workspace", "ws-b",
                                   cwd=tmp_path).stdout)
    assert status["counts"] == {"complete": 1}
    assert [e.path for e in data_cache.entries(cache / "data")] == [first]


def test_a_changed_source_is_decoded_again(tmp_path, cache, images):
    sweep = load_sweep_of(tmp_path, images)
    first = prepare_data(sweep, Workspace.at(tmp_path / "ws-a"))
    picture = images / "train" / "c0" / "0000.png"
    picture.write_bytes(picture.read_bytes() + b"\0")  # another size and time
    second = prepare_data(sweep, Workspace.at(tmp_path / "ws-b"))
    assert second != first and second.parent == first.parent
    assert data.identity(second) == data.identity(first)  # same pixels: same data identity


def load_sweep_of(tmp_path: Path, source: Path):
    """The test sweep on ``source``."""
    (tmp_path / "sweep.py").write_text(SWEEP % str(source))
    return load_sweep(tmp_path / "sweep.py")


def test_a_damaged_folder_is_set_aside_and_decoded_again(tmp_path, cache, images, capsys,
                                                         monkeypatch):
    root = cache / "data"
    folder = data.prepare(images, root)
    digest = data.identity(folder)["digest"]
    x_train = folder / "x_train.npy"
    x_train.write_bytes(x_train.read_bytes()[:-100])  # cut short
    assert data.prepare(images, root) == folder
    assert capsys.readouterr().err == (f"{folder}: decoded data not as written (x_train.npy is "
                                       f"{x_train.stat().st_size - 100} bytes, "
                                       f"{x_train.stat().st_size} when written); decoding it "
                                       "again\n")
    pixels = np.load(x_train)
    pixels[0, 0, 0, 0] ^= 1  # edited, same size
    np.save(x_train, pixels)
    assert data.prepare(images, root) == folder
    assert "x_train.npy was modified since it was written, and their digest is not the " \
           "recorded one" in capsys.readouterr().err
    assert data.identity(folder)["digest"] == digest
    os.utime(x_train, ns=(1, 1))  # copied: other times, same content
    monkeypatch.setattr(data, "_decode", no_decoding)
    assert data.prepare(images, root) == folder and capsys.readouterr().err == ""
    assert data_cache.recorded_stats(folder)["x_train.npy"][1] == 1
    assert sorted(p.name for p in root.iterdir()) == [f".{folder.name}.lock", folder.name]


# --------------------------------------------------------------------------------------------
# Two processes at once
# --------------------------------------------------------------------------------------------


def prepare_in_process(source: str, workspace: str, start: float, log: str) -> str:
    """What a second ``run`` does (in a spawned process): prepare the data of its workspace,
    each decode noted in ``log`` and slowed so that the other process looks meanwhile."""
    decode = data._decode

    def noted(*args):
        with open(log, "a") as file:
            file.write("decoded\n")
        time.sleep(0.5)
        return decode(*args)

    data._decode = noted
    time.sleep(max(0.0, start - time.time()))
    return str(data.prepare(Path(source), Workspace.at(workspace).decoded_data))


@pytest.mark.processes
def test_two_processes_filling_the_shared_cache_at_once_decode_once(tmp_path, cache, images):
    log = tmp_path / "decodes.log"
    start = time.time() + 2.0  # both have started by then
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        found = pool.starmap(prepare_in_process, [
            (str(images), str(tmp_path / name), start, str(log)) for name in ("ws-a", "ws-b")])
    assert log.read_text().splitlines() == ["decoded"]
    assert found[0] == found[1] and Path(found[0]).parent == cache / "data"
    assert sorted(p.name for p in (cache / "data").iterdir()) == [
        f".{Path(found[0]).name}.lock", Path(found[0]).name]  # no partial folder left


# --------------------------------------------------------------------------------------------
# The cap, and the cache command
# --------------------------------------------------------------------------------------------


def fake_entry(root: Path, name: str, size: int, used: int) -> Path:
    """A complete folder of ``size`` bytes (its meta.json included) last used at ``used``."""
    folder = root / name
    folder.mkdir(parents=True)
    meta = json.dumps({"source": f"/data/{name}.tar.gz"})
    (folder / "meta.json").write_text(meta)
    (folder / "x_train.npy").write_bytes(b"\0" * (size - len(meta)))
    os.utime(folder, (used, used))
    return folder


def test_past_the_cap_the_least_recently_used_go_but_a_held_one(tmp_path, cache, images,
                                                                monkeypatch):
    root = cache / "data"
    old = fake_entry(root, "old-1", 3000, 1_000_000)
    held = fake_entry(root, "held-2", 3000, 1_500_000)
    recent = fake_entry(root, "recent-3", 3000, 2_000_000)
    assert data_cache.hold(held)
    os.utime(held, (1_500_000, 1_500_000))
    size = sum(p.stat().st_size for p in data.prepare(images, root).iterdir())
    assert {e.path.name for e in data_cache.entries(root)} == {
        "old-1", "held-2", "recent-3", data._cache_key(images.resolve())}
    data_cache.release()
    monkeypatch.setenv(data_cache.CAP_ENV, str(size + 3000 + 3000))
    assert data_cache.hold(held)
    (images / "train" / "c0" / "0000.png").unlink()  # another source: written, then evicted
    newest = data.prepare(images, root)
    assert sorted(e.path.name for e in data_cache.entries(root)) == sorted([
        "held-2", newest.name])
    assert old.exists() is False and recent.exists() is False


def test_cache_list_and_clear(tmp_path, cache):
    root = cache / "data"
    assert cli_inline("cache", "list", cwd=tmp_path).stdout == (
        f"no decoded data in {root} (cap 20.0 GB, CIFAR_SEARCH_DATA_CACHE_MAX)\n")
    fake_entry(root, "cifar10-images-0123456789ab", 184_320_000 // 1000, 1_700_000_000)
    kept = fake_entry(root, "mine-ba9876543210", 2500, 1_800_000_000)
    assert cli_inline("cache", "list", cwd=tmp_path).stdout == (
        f"decoded data in {root} (cap 20.0 GB, CIFAR_SEARCH_DATA_CACHE_MAX):\n"
        "  mine-ba9876543210  2.5 kB  last used 2027-01-15 08:00 UTC  "
        "/data/mine-ba9876543210.tar.gz\n"
        "  cifar10-images-0123456789ab  184.3 kB  last used 2023-11-14 22:13 UTC  "
        "/data/cifar10-images-0123456789ab.tar.gz\n"
        "2 folder(s), 186.8 kB\n")
    assert data_cache.hold(kept)
    assert cli_inline("cache", "clear", cwd=tmp_path).stdout == (
        f"removed 1 folder(s), 184.3 kB, from {root}\n"
        "kept mine-ba9876543210: in use by a running process\n")
    assert [e.path.name for e in data_cache.entries(root)] == [kept.name]
    data_cache.release()
    assert cli_inline("cache", "clear", cwd=tmp_path).stdout == (
        f"removed 1 folder(s), 2.5 kB, from {root}\n")
    assert list(root.iterdir()) == []


def test_an_unwritable_user_cache_decodes_into_the_workspace(tmp_path, images):
    (tmp_path / "file").write_text("not a folder")
    workspace = Workspace.at(tmp_path / "ws")
    folder = data.prepared(str(images), tmp_path / "file" / "data", fallback=workspace.data_cache)
    assert folder.parent == workspace.data_cache
    data_cache.release()

"""The decoded-data cache shared by several processes or machines: one decodes, the others
wait for it and use its folder (``--checkpoints DIR`` puts the cache in that shared folder)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cifar_search.model import data
from cifar_search.workspace import SHARED_DATA, Workspace
from tests.helpers import ROOT

#: A process that prepares ``source`` in ``cache_root``, noting each decode in ``log``.
PREPARE = """
import sys, time
from pathlib import Path
from cifar_search.model import data

source, cache_root, log, start = sys.argv[1:]
decode = data._decode

def noted(path, *rest):
    with open(log, "a") as file:
        file.write("decoded\\n")
    time.sleep(1.0)  # long enough for the other process to look for the cache meanwhile
    return decode(path, *rest)

data._decode = noted
time.sleep(max(0.0, float(start) - time.time()))
print(data.prepare(Path(source), Path(cache_root)))
"""


@pytest.fixture
def images(tmp_path, image_folder_factory) -> Path:
    """3 classes x 4 training and 2 test images."""
    return image_folder_factory(tmp_path / "images", classes=3, train_per_class=4,
                                test_per_class=2)


def test_checkpoints_folder_holds_the_data_cache_of_every_machine(tmp_path):
    shared = tmp_path / "shared"
    a = Workspace.at(tmp_path / "ws-a", checkpoints=str(shared))
    b = Workspace.at(tmp_path / "ws-b", checkpoints=str(shared))
    assert a.data_cache == b.data_cache == shared.resolve() / SHARED_DATA
    assert Workspace.at(tmp_path / "ws-c").data_cache == tmp_path / "ws-c" / "data"


def test_threads_preparing_at_once_decode_once(tmp_path, images, monkeypatch):
    decode, decodes = data._decode, []

    def slow(source, *rest):
        decodes.append(source)
        time.sleep(0.3)  # the others look for the cache meanwhile
        return decode(source, *rest)

    monkeypatch.setattr(data, "_decode", slow)
    found = []
    threads = [threading.Thread(target=lambda: found.append(
        data.prepare(images, tmp_path / "cache"))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(decodes) == 1 and len(set(found)) == 1 and len(found) == 3
    assert json.loads((found[0] / "meta.json").read_text())["train"] == 12


@pytest.mark.processes
def test_two_machines_sharing_a_folder_decode_once(tmp_path, images):
    """Two processes, as two machines given the same ``--checkpoints`` folder, start
    preparing the same source at the same instant: one decodes, the other waits and maps
    the first one's arrays."""
    log = tmp_path / "decodes.log"
    cache_root = Workspace.at(tmp_path / "ws", checkpoints=str(tmp_path / "shared")).data_cache
    start = time.time() + 1.5  # both have imported by then
    processes = [subprocess.Popen(
        [sys.executable, "-c", PREPARE, str(images), str(cache_root), str(log), str(start)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=60)[0].strip() for process in processes]
    assert [process.returncode for process in processes] == [0, 0]
    assert log.read_text().splitlines() == ["decoded"]
    assert outputs[0] == outputs[1] == str(cache_root / data._cache_key(images.resolve()))
    assert sorted(p.name for p in cache_root.iterdir() if not p.name.endswith(".lock")) == [
        Path(outputs[0]).name]

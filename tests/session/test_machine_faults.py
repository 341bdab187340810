"""A fault of the machine (a full disk) stops the sweep in one line with its trial interrupted,
not failed; once space is back, the same command finishes every point, evaluates the best model
and registers it."""

import contextlib
import json
import os
import subprocess

import pytest

from tests.engines.optuna.interrupted import assert_invariants, make_sweep, run
from tests.helpers import cli, cli_inline

pytestmark = pytest.mark.processes


#: The grids of the two tests: the fewest points each needs (a complete, an interrupted and a
#: waiting trial; a trial before the disk fills and one after).
THREE, TWO = (0.1, 0.2, 0.3), (0.1, 0.2)


@contextlib.contextmanager
def small_disk(folder, size="4m"):
    """A file system of ``size`` mounted at ``folder`` (a tmpfs: Linux, as root); skipped
    where none can be mounted, a failure under ``CI=true`` (CI runs as root)."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(folder)], capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"cannot mount a tmpfs: {mounted.stderr}")
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder, leave):
    """A file that leaves ``leave`` bytes of ``folder``'s file system free."""
    stats = os.statvfs(folder)
    filler = folder / "filler"
    with open(filler, "wb") as stream:
        stream.write(b"\0" * (stats.f_bavail * stats.f_frsize - leave))
    return filler


def test_a_full_checkpoints_disk_stops_the_sweep_and_the_next_run_finishes_it(tmp_path,
                                                                              tiny_data):
    folder = tmp_path / "sweep"
    make_sweep(folder, epochs=2, workers=1, points=THREE)
    with small_disk(tmp_path / "disk") as disk:
        args = ("run", "sweep.py", "--data", tiny_data, "--workspace", "ws",
                "--checkpoints", disk)
        cli_inline(*args, "--trials", "1", cwd=folder)  # the data cache and trial 0 on it
        filler = fill(disk, leave=16 * 1024)
        stopped = cli_inline(*args, cwd=folder, check=False)  # its worker hits the full disk
        assert stopped.returncode == 1, stopped.stdout + stopped.stderr
        last = stopped.stderr.strip().splitlines()[-1]
        assert last.startswith("error: trial 1: no space left on device"), stopped.stderr
        assert last.endswith("the sweep stopped with the trial interrupted: fix that and run "
                             "the same command again to finish it")
        status = json.loads(run(folder, "status", "sweep.py", "--json"))
        # its point queued again, to be trained when the sweep is run again
        assert [t["state"] for t in status["trials"]] == ["complete", "interrupted", "waiting"]

        filler.unlink()
        output = cli_inline(*args, cwd=folder).stdout
    assert "3/3 trials finished" in output
    assert "test set: trial" in output and "best model registered: models:/resumable/" in output
    assert_invariants(folder, epochs=2, points=THREE)


def test_a_full_workspace_disk_is_one_line_and_the_next_run_goes_on(tmp_path, tiny_data):
    """The stores themselves on the full disk: whichever write fails first (the lock, the
    Optuna or the MLflow database), the run ends with one line saying what is full."""
    folder = tmp_path / "sweep"
    make_sweep(folder, epochs=1, workers=1, points=TWO)
    with small_disk(tmp_path / "disk", size="64m") as disk:
        args = ("run", "sweep.py", "--data", tiny_data, "--workspace", disk / "ws")
        cli_inline(*args, "--trials", "1", cwd=folder)
        filler = fill(disk, leave=0)
        stopped = cli(*args, cwd=folder, check=False)  # a process: all it prints is seen
        assert stopped.returncode == 1, stopped.stdout + stopped.stderr
        assert "Traceback" not in stopped.stderr
        last = stopped.stderr.strip().splitlines()[-1]
        assert last.startswith("error: "), stopped.stderr
        assert "full" in last or "no space left on device" in last, last
        assert last.endswith("fix that and run the same command again to go on (run with "
                             "--debug for the traceback)"), last
        filler.unlink()
        output = cli_inline(*args, cwd=folder).stdout
    assert "2/2 trials finished" in output, output

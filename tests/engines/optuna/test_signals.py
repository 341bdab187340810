"""Stop sweeps with signals (kill -9 of the main process at random moments, SIGINT once and
twice) and resume them: nothing finished is lost or repeated, nothing is left RUNNING."""

import json
import random
import signal
import subprocess
import time

import pytest

from tests.engines.optuna.interrupted import (assert_invariants, checkpoints, make_sweep, run,
                                              start, wait_for)
from tests.helpers import assert_quiet

pytestmark = pytest.mark.processes

#: The grid of a test whose interrupted trials are all it needs.
TWO = (0.1, 0.2)


def test_kill_9_of_the_main_process_at_random_moments(tmp_path, tiny_data):
    rng = random.Random(7)
    folder = tmp_path / "sweep"
    make_sweep(folder, epochs=3)
    cycles = 0
    for _ in range(3):
        process = start(folder, tiny_data)
        time.sleep(rng.uniform(4.0, 7.0))  # start-up takes ~4 s: kill before, during, after
        if process.poll() is not None:
            break
        process.kill()
        process.wait()
        cycles += 1
    output = run(folder, "run", "sweep.py", "--data", str(tiny_data))
    assert cycles >= 2
    assert_invariants(folder, epochs=3)
    assert "0 left" in run(folder, "run", "sweep.py", "--data", str(tiny_data))
    assert output.count("complete") >= 1


def test_sigint_stops_gracefully_and_the_trial_continues_from_its_checkpoint(tmp_path,
                                                                            tiny_data):
    folder = tmp_path / "sweep"
    make_sweep(folder, epochs=4, points=TWO)
    process = start(folder, tiny_data)
    assert wait_for(lambda: checkpoints(folder))
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "stopping: running trials end after their current epoch" in output
    assert_quiet(subprocess.CompletedProcess(process.args, 130, output, ""))
    assert (f"run the same command again to resume\n  python -m cifar_search run sweep.py "
            f"--data {tiny_data} --workspace ws\n") in output  # as typed, every flag kept
    resumed = run(folder, "run", "sweep.py", "--data", str(tiny_data))
    assert "resuming study 'resumable':" in resumed and "1 interrupted (re-queued)" in resumed
    status = assert_invariants(folder, epochs=4, points=TWO)
    retry = next(t for t in status["trials"] if t["retry_of"] is not None)
    from optuna import load_study

    study = load_study(study_name="resumable", storage=f"sqlite:///{folder / 'ws' / 'optuna.db'}")
    assert study.trials[retry["number"]].user_attrs["resumed_at_epoch"] >= 1


def test_second_sigint_stops_at_once_and_state_stays_consistent(tmp_path, tiny_data):
    folder = tmp_path / "sweep"
    make_sweep(folder, epochs=8, workers=2, points=TWO)  # 7 epochs to go once both saved one
    process = start(folder, tiny_data)
    assert wait_for(lambda: len(checkpoints(folder)) >= 2)
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    status = json.loads(run(folder, "status", "sweep.py", "--json"))
    assert status["counts"].get("running", 0) == 0
    assert status["counts"]["interrupted"] >= 1
    assert "0 problem(s)" in run(folder, "check", "sweep.py")
    resumed = run(folder, "run", "sweep.py", "--data", str(tiny_data))
    assert "interrupted (re-queued)" in resumed
    assert_invariants(folder, epochs=8, points=TWO)

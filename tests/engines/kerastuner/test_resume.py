"""A Hyperband sweep of engine 'kerastuner' killed with kill -9 mid-trial and resumed: trials in
flight continue from their checkpoints, Hyperband's later rounds from the earlier trial's, and
the sweep ends with exactly its trials."""

import json
import signal
import subprocess
import sys
import time

import pytest

from cifar_search.engines.kerastuner.record import RecordStore
from cifar_search.model.checkpoint import read_state
from cifar_search.search.states import TrialOutcome
from tests.engines.kerastuner.sweeps import assert_recorded, records, write
from tests.helpers import cli_env, cli_inline

pytestmark = pytest.mark.processes


def running_with_checkpoint(folder, name):
    """A record being trained that has saved an epoch and has more to go."""
    store = RecordStore(folder / "ws" / "kerastuner" / name)
    try:
        found = store.records()
    except (OSError, ValueError):  # a record being replaced
        return False
    for record in found:
        state = store.trial_dir(record.number) / "state.json"
        if record.outcome == TrialOutcome.RUNNING and state.is_file():
            if json.loads(state.read_text() or "{}").get("epochs", 0) < record.epochs:
                return True
    return False


def saved_along_chain(folder, records, number):
    """The epochs a killed trial resumes from: its own checkpoint's, else that of the trial it
    continued, and so on (0: none)."""
    store = RecordStore(folder / "ws" / "kerastuner" / "hb")
    while number is not None:
        if (state := read_state(store.trial_dir(number))) is not None:
            return state["epochs"]
        record = records[number]
        number = record.retry_of if record.retry_of is not None else record.continues
    return 0


def test_hyperband_killed_with_kill_9_resumes_to_exactly_its_trials(tmp_path, tiny_data):
    sweep = write(tmp_path, "hb", oracle='Oracle("hyperband", {"factor": 2})', epochs=2,
                  batch=2)  # 5 trials: 2 of 1 epoch, 1 continuing one of them, 2 of 2
    command = [sys.executable, "-m", "cifar_search", "run", sweep, "--data", str(tiny_data),
               "--workspace", "ws"]
    process = subprocess.Popen(command, cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    while not running_with_checkpoint(tmp_path, "hb"):
        assert process.poll() is None and time.monotonic() < deadline, "never caught mid-trial"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    killed = [r for r in records(tmp_path, "hb") if r.outcome == TrialOutcome.RUNNING]
    at_kill = {r.number: r for r in records(tmp_path, "hb")}
    saved = {r.number: saved_along_chain(tmp_path, at_kill, r.number) for r in killed}
    assert max(saved.values(), default=0) >= 1  # another trial may be killed before its epoch

    output = cli_inline("run", sweep, "--data", tiny_data, "--workspace", "ws",
                        cwd=tmp_path).stdout
    assert "resuming 'hb' (kerastuner hyperband):" in output
    assert "5/5 trials finished" in output
    assert_recorded(tmp_path, "hb", sweep, epochs=2)
    final = {r.number: r for r in records(tmp_path, "hb")}
    complete = [r for r in final.values() if r.outcome == TrialOutcome.COMPLETE]
    assert sorted(r.kt_id for r in complete) == [f"{i:04d}" for i in range(5)]  # once each
    for record in killed:
        assert final[record.number].outcome == TrialOutcome.INTERRUPTED
        retry = next(r for r in final.values() if r.retry_of == record.number)
        assert retry.kt_id == record.kt_id and retry.resumed_at_epoch == saved[record.number]
        assert retry.epochs_trained == retry.epochs - retry.resumed_at_epoch
    continued = [r for r in final.values() if r.continues is not None and r.retry_of is None]
    assert continued  # Hyperband's second round went on from the first's checkpoint
    for record in continued:
        earlier = final[record.continues]
        assert record.params == earlier.params and record.seed == earlier.seed
        assert record.resumed_at_epoch == earlier.epochs > 0
    trials = [json.loads(p.read_text()) for p in
              (tmp_path / "ws" / "kerastuner" / "hb" / "oracle").glob("trial_*/trial.json")]
    assert sorted(t["status"] for t in trials) == ["COMPLETED"] * 5
    again = cli_inline("run", sweep, "--data", tiny_data, "--workspace", "ws", cwd=tmp_path)
    assert "nothing to do" in again.stdout

"""Interrupt sweeps for real (kill -9 of a worker, crashes between stores) and resume them:
nothing finished is lost or repeated, interrupted trials continue from their checkpoint."""

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.engines.optuna.interrupted import (assert_invariants, checkpoints, make_sweep, run,
                                              start, wait_for, workers_of)
from tests.helpers import cli_inline

pytestmark = pytest.mark.processes

#: The grid of a test that needs only the interrupted trial and one after it.
TWO = (0.1, 0.2)


def test_kill_9_of_a_worker_continues_its_trial_from_the_checkpoint(tmp_path, tiny_data):
    folder = tmp_path / "sweep"
    make_sweep(folder, epochs=4, workers=1, points=TWO)
    process = start(folder, tiny_data)
    assert wait_for(lambda: checkpoints(folder))
    workers = workers_of(process.pid)
    assert len(workers) == 1
    os.kill(workers[0], signal.SIGKILL)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    assert "interrupted: worker process died (exit code -9); it continues from its checkpoint" \
        in output
    status = assert_invariants(folder, epochs=4, points=TWO)
    assert sum(t["state"] == "interrupted" for t in status["trials"]) == 1


MANY = """
from cifar_search import Budget, Data, Sweep

sweep = Sweep(
    name="many",
    space={"parameters": {"dropout_rate": {"type": "float", "low": 0.0, "high": 0.5},
                          "filters": 2}},
    model="dropout",
    data=Data(subset=20),
    budget=Budget(epochs=1, batch_size=8),
    sampler="random",
    trials=8,
    workers=8,
)
"""


def test_eight_workers_on_the_embedded_stores(tmp_path, tiny_data):
    (tmp_path / "sweep.py").write_text(MANY)
    output = run(tmp_path, "run", "sweep.py", "--data", str(tiny_data))
    assert "locked" not in output
    status = json.loads(run(tmp_path, "status", "sweep.py", "--json"))
    assert status["counts"] == {"complete": 8}
    assert len({t["mlflow_run_id"] for t in status["trials"]}) == 8
    assert "0 problem(s)" in run(tmp_path, "check", "sweep.py")


@pytest.fixture(scope="module")
def two_trials(tmp_path_factory, tiny_data):
    """A sweep that finished 2 of its 4 one-epoch trials (copied by each test that uses it)."""
    folder = tmp_path_factory.mktemp("two-trials")
    make_sweep(folder, epochs=1)
    run(folder, "run", "sweep.py", "--data", str(tiny_data), "--trials", "2")
    return folder


def copy_of(folder, tmp_path):
    import shutil

    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    return tmp_path


def test_check_finds_and_repairs_what_a_crash_leaves(tmp_path, two_trials):
    from mlflow import MlflowClient

    copy_of(two_trials, tmp_path)
    status = json.loads(run(tmp_path, "status", "sweep.py", "--json"))
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'ws' / 'mlflow.db'}")
    left_running = status["trials"][0]["mlflow_run_id"]
    client.update_run(left_running, status="RUNNING")
    parent = client.get_run(left_running).data.tags["mlflow.parentRunId"]
    orphan = client.create_run(client.get_run(left_running).info.experiment_id,
                               tags={"mlflow.parentRunId": parent}).info.run_id
    client.update_run(parent, status="RUNNING")  # its coordinator killed before its end

    def check(*flags):
        return cli_inline("check", "sweep.py", "--workspace", "ws", *flags, cwd=tmp_path,
                          check=False)

    found = check()
    assert found.returncode == 1
    assert f"trial 0 is complete but its run {left_running} is RUNNING" in found.stdout
    assert f"run {orphan}" in found.stdout and "belongs to no trial" in found.stdout
    assert f"problem: the parent run {parent} is RUNNING but no sweep is running" in found.stdout
    repaired = check("--repair")
    assert repaired.returncode == 0, repaired.stdout
    assert f"repaired: set run {left_running} to FINISHED" in repaired.stdout
    assert f"repaired: set run {orphan} to KILLED" in repaired.stdout
    assert f"repaired: set run {parent} to FINISHED" in repaired.stdout  # the study had ended
    assert client.get_run(left_running).info.status == "FINISHED"
    assert check().returncode == 0


def test_a_crash_before_a_trial_recorded_its_run_loses_nothing(tmp_path, two_trials, tiny_data):
    """The two windows a kill -9 can hit while a trial starts: after Optuna handed it out but
    before its MLflow run existed, and after the run existed but before its id was stored."""
    import optuna
    from mlflow import MlflowClient

    copy_of(two_trials, tmp_path)
    study = optuna.load_study(study_name="resumable",
                              storage=f"sqlite:///{tmp_path / 'ws' / 'optuna.db'}")
    study.enqueue_trial({"dropout_rate": 0.3})
    no_run = study.ask()  # parameters given, not yet drawn, no run
    study.enqueue_trial({"dropout_rate": 0.4})
    unrecorded = study.ask()
    unrecorded.suggest_categorical("dropout_rate", [0.1, 0.2, 0.3, 0.4])
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'ws' / 'mlflow.db'}")
    parent = study.user_attrs["mlflow_parent_run_id"]
    orphan = client.create_run(client.get_run(parent).info.experiment_id, tags={
        "mlflow.parentRunId": parent, "optuna.trial_number": str(unrecorded.number)}).info.run_id

    output = run(tmp_path, "run", "sweep.py", "--data", str(tiny_data))
    assert "2 interrupted (re-queued)" in output
    status = assert_invariants(tmp_path, epochs=1)
    by_number = {t["number"]: t for t in status["trials"]}
    assert by_number[no_run.number]["state"] == "interrupted"
    assert by_number[unrecorded.number]["mlflow_run_id"] == orphan
    assert client.get_run(orphan).info.status == "KILLED"
    assert "0 problem(s)" in run(tmp_path, "check", "sweep.py")


def test_a_crash_before_the_study_recorded_its_parent_run_leaves_no_second_one(
        tmp_path, two_trials, tiny_data):
    import optuna
    from mlflow import MlflowClient

    copy_of(two_trials, tmp_path)
    study = optuna.load_study(study_name="resumable",
                              storage=f"sqlite:///{tmp_path / 'ws' / 'optuna.db'}")
    parent = study.user_attrs["mlflow_parent_run_id"]
    study.set_user_attr("mlflow_parent_run_id", None)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'ws' / 'mlflow.db'}")
    client.update_run(parent, status="RUNNING")  # as the dead process left it

    run(tmp_path, "run", "sweep.py", "--data", str(tiny_data))
    experiment = client.get_experiment_by_name("resumable")
    parents = [r for r in client.search_runs([experiment.experiment_id])
               if r.data.tags.get("cifar_search.kind") == "study"]
    assert [r.info.run_id for r in parents] == [parent]
    assert parents[0].info.status == "FINISHED"
    assert_invariants(tmp_path, epochs=1)


def test_resume_refuses_when_there_is_nothing_to_resume(tmp_path):
    import optuna

    from cifar_search import load_sweep

    make_sweep(tmp_path, epochs=1)
    missing = cli_inline("resume", "sweep.py", "--workspace", "ws", cwd=tmp_path, check=False)
    assert missing.returncode == 1
    assert "no study 'resumable' to resume; start it with" in missing.stderr
    (tmp_path / "ws").mkdir()  # a finished study, made without training
    study = optuna.create_study(study_name="resumable",
                                storage=f"sqlite:///{tmp_path / 'ws' / 'optuna.db'}")
    sweep = load_sweep(tmp_path / "sweep.py")
    study.set_user_attr("fingerprint", json.dumps(sweep.fingerprint(), sort_keys=True))
    for rate in (0.1, 0.2, 0.3, 0.4):
        study.add_trial(optuna.trial.create_trial(
            params={"dropout_rate": rate},
            distributions={"dropout_rate": optuna.distributions.CategoricalDistribution(
                [0.1, 0.2, 0.3, 0.4])}, value=1.0))
    done = cli_inline("resume", "sweep.py", "--workspace", "ws", cwd=tmp_path, check=False)
    assert done.returncode == 1
    assert "study 'resumable' is finished (4/4 trials); nothing to resume" in done.stderr


DRAWN = """
from cifar_search import Budget, Sweep

sweep = Sweep(
    name="drawn",
    space={"parameters": {"dropout_rate": {"type": "float", "low": 0.0, "high": 0.5},
                          "filters": 2}},
    model="dropout",
    budget=Budget(epochs=2, batch_size=8),
    sampler="tpe",
    trials=3,
    workers=1,
    seed=7,
)
"""


def drawn_alone(path, trials):
    """The points the sweep's sampler draws for its trials, asked for one after another."""
    import optuna

    from cifar_search import load_sweep
    from cifar_search.engines.optuna.parts import build_sampler
    from cifar_search.engines.optuna.seeding import DrawSeeded
    from cifar_search.engines.optuna.space import suggest

    sweep = load_sweep(path)
    study = optuna.create_study(sampler=DrawSeeded(
        lambda seed: build_sampler(sweep.sampler, seed), sweep.seed))
    return [suggest(sweep.space, study.ask())["dropout_rate"] for _ in range(trials)]


def gone(pids):
    """Whether none of ``pids`` runs (a zombie, dead but not yet reaped, runs no more)."""
    def check():
        for pid in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[0] != "Z":
                return False
        return True
    return check


def test_kill_9_then_a_cut_checkpoint_resumes_to_the_points_of_the_uninterrupted_search(
        tmp_path, tiny_data):
    """After a kill -9 of the coordinator its worker is gone within a second and its trial
    folder is left as it was; its ``state.json`` is then cut short: the rerun sets it aside in
    one line, trains that trial again from epoch 0 and draws exactly the points of the
    uninterrupted search (TPE's start-up trials); a later rerun adds nothing."""
    (tmp_path / "sweep.py").write_text(DRAWN)
    process = start(tmp_path, tiny_data)
    state = tmp_path / "ws" / "trials" / "drawn" / "00001" / "state.json"
    assert wait_for(state.exists, timeout=240), process.communicate(timeout=30)[0]
    workers = workers_of(process.pid)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert workers and wait_for(gone(workers), timeout=1.0)  # not the fork server's seconds
    files = sorted(state.parent.rglob("*"))
    written = [(p, p.stat().st_mtime_ns) for p in files]
    time.sleep(0.5)  # the workers are gone: nothing may write after them
    assert [(p, p.stat().st_mtime_ns) for p in sorted(state.parent.rglob("*"))] == written
    state.write_bytes(state.read_bytes()[:40])  # a cut model file: tests/model/test_checkpoint

    output = run(tmp_path, "run", "sweep.py", "--data", str(tiny_data))
    assert f"checkpoint {state} is damaged (JSONDecodeError: " in output, output
    assert "its trial starts again from epoch 0" in output
    assert (state.parent / "damaged-1" / "state.json").is_file()
    assert "3/3 trials finished" in output
    status = json.loads(run(tmp_path, "status", "sweep.py", "--json"))
    finished = [t["params"]["dropout_rate"] for t in status["trials"] if t["state"] == "complete"]
    assert finished == drawn_alone(tmp_path / "sweep.py", 3)
    assert "nothing to do" in run(tmp_path, "run", "sweep.py", "--data", str(tiny_data))
    assert json.loads(run(tmp_path, "status", "sweep.py", "--json")) == status
    assert "0 problem(s)" in run(tmp_path, "check", "sweep.py")

"""Optuna trials reconciled with MLflow runs: the rules on synthetic trials and runs, then
``check`` and ``check --repair`` on a sweep recorded before the redesign."""

import tarfile

import optuna
import pytest
from mlflow import MlflowClient

from cifar_search.cli import main
from cifar_search.tracking.integrity import Problem, disagreements
from cifar_search.tracking.reader import RunRecord
from tests.helpers import ROOT
from tests.tracking.studies import add_trial

optuna.logging.set_verbosity(optuna.logging.WARNING)

LEGACY = ROOT / "tests" / "data" / "legacy-14511ce.tar.gz"


def run(number, status, **tags):
    return RunRecord(f"run{number}", f"trial-{number:04d}", status, tags)


def trials(*specs):
    """Trials ``(state, attrs)`` numbered from 0, their runs ``run<number>``."""
    study = optuna.create_study()
    for number, (state, attrs) in enumerate(specs):
        add_trial(study, number, "relu", 1.0, state=state, **attrs)
    return study.get_trials(deepcopy=False)


@pytest.mark.parametrize("state, attrs, status", [
    ("complete", {}, "FINISHED"), ("pruned", {}, "FINISHED"), ("failed", {}, "FAILED"),
    ("failed", {"interrupted": True}, "KILLED"),
])
def test_agreeing_trial_and_run(state, attrs, status):
    assert disagreements(trials((state, attrs)), {"run0": run(0, status)}, live=False) == []


def test_run_left_running_is_fixed_to_its_trials_status():
    problems = disagreements(trials(("failed", {"interrupted": True})),
                             {"run0": run(0, "RUNNING")}, live=True)
    assert problems == [Problem("trial 0 is interrupted but its run run0 is RUNNING", "run0",
                                "KILLED", "interrupted")]


def test_wrong_status_is_fixed_only_when_no_sweep_runs():
    runs = {"run0": run(0, "FAILED")}
    (live,) = disagreements(trials(("complete", {})), runs, live=True)
    (idle,) = disagreements(trials(("complete", {})), runs, live=False)
    assert (live.fix, live.outcome) == (None, None)
    assert (idle.fix, idle.outcome) == ("FINISHED", "complete")
    assert idle.message == "trial 0 is complete but its run run0 is FAILED"


def test_running_trials_missing_runs_and_orphans():
    runs = {"run0": run(0, "RUNNING"), "run9": run(9, "RUNNING"),
            "run8": run(8, "RUNNING", repaired="true")}
    specs = (("running", {}), ("complete", {}), ("waiting", {}))
    assert disagreements(trials(*specs), runs, live=True) == [
        Problem("trial 1 has no MLflow run"),
        Problem("run run9 (trial-0009) belongs to no trial", "run9", None)]
    assert disagreements(trials(*specs), runs, live=False) == [
        Problem("trial 0 is RUNNING but no sweep is running (run the sweep again to resume it)"),
        Problem("trial 1 has no MLflow run"),
        Problem("run run9 (trial-0009) belongs to no trial", "run9", "KILLED")]


def test_several_machines_a_lost_trial_is_a_problem_a_live_one_is_not():
    """On a shared storage the study is live: a RUNNING trial whose machine is gone is one
    problem (with or without its run); a live one still making its run is fine."""
    specs = (("running", {}), ("running", {}), ("running", {}),
             ("running", {"mlflow_run_id": None}))
    runs = {"run0": run(0, "RUNNING"), "run1": run(1, "RUNNING")}  # trial 2's run: not yet
    lost = {1: "its machine b:2 sent no heartbeat for 30 s", 3: "it has no machine"}
    assert disagreements(trials(*specs), runs, live=True, lost=lost) == [
        Problem("trial 1 is RUNNING but its machine b:2 sent no heartbeat for 30 s; check "
                "--repair takes it over"),
        Problem("trial 3 is RUNNING but it has no machine; check --repair takes it over")]
    assert disagreements(trials(*specs), runs, live=True) == []


# --------------------------------------------------------------------------------------------
# check on a sweep recorded before the redesign (3 trials, the last one left RUNNING)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def legacy(tmp_path, monkeypatch):
    """The recorded sweep, unpacked: (its folder as the working directory, MLflow client)."""
    with tarfile.open(LEGACY) as archive:
        archive.extractall(tmp_path, filter="data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path, MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'ws' / 'mlflow.db'}")


def check(*args):
    return main(["check", "sweep.py", "--workspace", "ws", *args])


def test_check_and_repair_a_legacy_sweep(legacy, capsys):
    folder, client = legacy
    study = optuna.load_study(study_name="legacy", storage=f"sqlite:///{folder / 'ws/optuna.db'}")
    trial_run = study.trials[1].user_attrs["mlflow_run_id"]
    parent = study.user_attrs["mlflow_parent_run_id"]
    client.update_run(trial_run, status="RUNNING")  # as a crash would leave it:
    client.set_tag(trial_run, "state", "running")     # killed after the trial had ended
    orphan = client.create_run(client.get_run(parent).info.experiment_id, run_name="orphan",
                               tags={"mlflow.parentRunId": parent}).info.run_id
    running = ("problem: trial 2 is RUNNING but no sweep is running (run the sweep again to "
               "resume it)")

    parent_left = f"the parent run {parent} is RUNNING but no sweep is running"  # killed

    assert check() == 1
    assert capsys.readouterr().out.splitlines() == [
        f"problem: {parent_left}",
        f"problem: trial 1 is complete but its run {trial_run} is RUNNING", running,
        f"problem: run {orphan} (orphan) belongs to no trial",
        "check 'legacy': 3 trials, 4 problem(s)"]

    assert check("--repair") == 1
    assert capsys.readouterr().out.splitlines() == [
        f"repaired: set run {parent} to KILLED: {parent_left}",
        f"repaired: set run {trial_run} to FINISHED: trial 1 is complete but its run "
        f"{trial_run} is RUNNING",
        f"repaired: set run {orphan} to KILLED: run {orphan} (orphan) belongs to no trial",
        running, "check 'legacy': 3 trials, 1 problem(s)"]
    for run_id, status in ((parent, "KILLED"), (trial_run, "FINISHED"), (orphan, "KILLED")):
        repaired = client.get_run(run_id)
        assert repaired.info.status == status and repaired.data.tags["repaired"] == "true"
    assert client.get_run(trial_run).data.tags["state"] == "complete"  # the trial's outcome
    assert "state" not in client.get_run(orphan).data.tags                 # no trial: no outcome


def test_trials_of_several_machines_released_or_taken_over_before_recording_their_run():
    """A trial released untrained has no run; a trial taken over before its machine recorded
    its run id is joined to the run by its trial number."""
    study = optuna.create_study()
    for attrs in ({"released": True, "interrupted": True, "fail_reason": "released"},
                  {"machine": "a:1"}):
        study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL,
                                                  user_attrs=attrs))
    runs = {"r1": run(1, "KILLED", **{"optuna.trial_number": "1"})}
    assert disagreements(study.get_trials(deepcopy=False), runs, live=False) == []

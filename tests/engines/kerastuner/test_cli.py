"""Engine 'kerastuner' through the CLI on tiny generated images with 2 workers: each oracle,
parity with the Optuna engine on a grid, and a Hyperband sweep killed with kill -9 and
resumed (continued trials go on from their checkpoints, exactly the target in the end)."""

import json
import signal
import subprocess
import sys
import time


import optuna
import pytest

from cifar_search.engines.kerastuner.record import RecordStore
from cifar_search.search.states import TrialOutcome
from tests.helpers import cli, cli_env, cli_inline, mlflow_runs

pytestmark = pytest.mark.processes

SWEEP = """
from cifar_search import Budget, Data, Objective, Sweep
from cifar_search.config.sweep import Oracle

sweep = Sweep(
    name="{name}",
    space={{"parameters": {space}}},
    model="dropout",
    data=Data(validation=0.25),
    budget=Budget(epochs={epochs}, batch_size={batch}),
    objective=Objective("val_loss"),
    sampler="{sampler}",
    engine="kerastuner",
    oracle={oracle},
    trials={trials},
    workers=2,
    same_seed={same_seed},
    seed=3,
)
"""

GRID = '{"dropout_rate": {"grid": [0.1, 0.5]}, "filters": 4}'
RANGE = '{"dropout_rate": {"type": "float", "low": 0.0, "high": 0.5}, "filters": 4}'


def write(folder, name, space=RANGE, oracle="None", trials="None", epochs=1, batch=8,
          same_seed=False):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(SWEEP.format(
        name=name, space=space, oracle=oracle, trials=trials, epochs=epochs, batch=batch,
        same_seed=same_seed, sampler="grid" if oracle == "None" else "random"))
    return f"{name}.py"


def records(folder, name):
    return RecordStore(folder / "ws" / "kerastuner" / name).records()


def status(folder, sweep):
    return json.loads(cli_inline("status", sweep, "--json", "--workspace", "ws",
                                 cwd=folder).stdout)


def assert_recorded(folder, name, sweep, epochs):
    """Records, KerasTuner's trials, MLflow runs and check agree; nothing left running."""
    found = status(folder, sweep)
    client, runs = mlflow_runs(folder / "ws", name)
    parents = [r for r in runs if r.data.tags.get("cifar_search.engine") == "kerastuner"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    children = {r.info.run_id: r for r in runs
                if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id}
    assert set(children) == {t["mlflow_run_id"] for t in found["trials"]}
    assert not [r for r in runs if r.info.status == "RUNNING"]
    for record in records(folder, name):
        run = children[record.run_id]
        assert run.data.tags["kerastuner.trial_id"] == record.kt_id
        assert run.data.tags["state"] == record.outcome
        assert run.data.params["dropout_rate"] == str(record.params["dropout_rate"])
        if record.outcome == TrialOutcome.COMPLETE:
            steps = [m.step for m in client.get_metric_history(record.run_id, "val_loss")]
            assert steps == list(range(1, record.epochs + 1))  # each epoch once
    assert cli_inline("check", sweep, "--workspace", "ws", cwd=folder).returncode == 0
    return found


@pytest.mark.parametrize("oracle", ["random", "bayesian"])
def test_an_oracle_runs_its_trials_through_the_cli(tmp_path, tiny_data, oracle):
    name = f"kt_{oracle}"  # a sweep file named random.py would shadow the module
    oracle_spec = 'Oracle("bayesian", {"num_initial_points": 1})' if oracle == "bayesian" \
        else repr(oracle)  # Bayesian: the second trial is the Gaussian process's
    sweep = write(tmp_path, name, oracle=oracle_spec, trials=2)
    output = cli("run", sweep, "--data", tiny_data, "--workspace", "ws", cwd=tmp_path).stdout
    assert "2/2 trials finished" in output
    found = assert_recorded(tmp_path, name, sweep, epochs=1)
    assert found["counts"] == {"complete": 2}
    assert "best: trial" in cli_inline("best", sweep, "--workspace", "ws", cwd=tmp_path).stdout
    exported = cli_inline("export", sweep, "--format", "json", "--output", "-",
                          "--workspace", "ws", cwd=tmp_path).stdout
    assert len(json.loads(exported)) == 2


def test_a_grid_scores_as_the_optuna_engine_does_with_same_seed(tmp_path, tiny_data):
    sweep = write(tmp_path, "parity", space=GRID, same_seed=True)
    cli("run", sweep, "--data", tiny_data, "--workspace", "ws", cwd=tmp_path)
    cli("run", sweep, "--data", tiny_data, "--workspace", "ws", "--engine", "optuna",
        cwd=tmp_path)
    ours = {r.params["dropout_rate"]: r.value for r in records(tmp_path, "parity")}
    study = optuna.load_study(study_name="parity",
                              storage=f"sqlite:///{tmp_path / 'ws' / 'optuna.db'}")
    theirs = {t.params["dropout_rate"]: t.value for t in study.trials}
    assert set(ours) == set(theirs) == {0.1, 0.5}
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert_recorded(tmp_path, "parity", sweep, epochs=1)
    compared = cli_inline("compare", sweep, "--workspace", "ws", cwd=tmp_path).stdout
    assert "optuna" in compared and "kerastuner" in compared


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
    assert killed

    output = cli("run", sweep, "--data", tiny_data, "--workspace", "ws", cwd=tmp_path).stdout
    assert "resuming 'hb' (kerastuner hyperband):" in output
    assert "5/5 trials finished" in output
    assert_recorded(tmp_path, "hb", sweep, epochs=2)
    final = {r.number: r for r in records(tmp_path, "hb")}
    complete = [r for r in final.values() if r.outcome == TrialOutcome.COMPLETE]
    assert sorted(r.kt_id for r in complete) == [f"{i:04d}" for i in range(5)]  # once each
    for record in killed:
        assert final[record.number].outcome == TrialOutcome.INTERRUPTED
        retry = next(r for r in final.values() if r.retry_of == record.number)
        assert retry.kt_id == record.kt_id and retry.resumed_at_epoch >= 1
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


def test_resume_refuses_a_sweep_never_run(tmp_path):
    sweep = write(tmp_path, "never", space=GRID)
    result = cli_inline("resume", sweep, "--workspace", "ws", cwd=tmp_path, check=False)
    assert result.returncode != 0
    assert "no KerasTuner search 'never' to resume" in result.stdout + result.stderr


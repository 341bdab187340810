"""Engine 'kerastuner' through the CLI on tiny generated images with 2 workers: the random and
Bayesian oracles, and the grid oracle scoring as the Optuna engine does under ``same_seed``."""

import json

import optuna
import pytest

from tests.engines.kerastuner.sweeps import GRID, assert_recorded, records, write
from tests.helpers import assert_quiet, cli, cli_inline

pytestmark = pytest.mark.processes


@pytest.mark.parametrize("oracle", ["random", "bayesian"])
def test_an_oracle_runs_its_trials_through_the_cli(tmp_path, tiny_data, oracle):
    name = f"kt_{oracle}"  # a sweep file named random.py would shadow the module
    oracle_spec = 'Oracle("bayesian", {"num_initial_points": 1})' if oracle == "bayesian" \
        else repr(oracle)  # Bayesian: the second trial is the Gaussian process's
    sweep = write(tmp_path, name, oracle=oracle_spec, trials=2)
    command = ("run", sweep, "--data", tiny_data, "--workspace", "ws")
    if oracle == "random":  # a process of its own: what reaches the terminal
        run = cli(*command, cwd=tmp_path)
        assert_quiet(run)  # KerasTuner imports TensorFlow in the main process too
    else:
        run = cli_inline(*command, cwd=tmp_path)
    assert "2/2 trials finished" in run.stdout
    found = assert_recorded(tmp_path, name, sweep, epochs=1)
    assert found["counts"] == {"complete": 2}
    assert "best: trial" in cli_inline("best", sweep, "--workspace", "ws", cwd=tmp_path).stdout
    exported = cli_inline("export", sweep, "--format", "json", "--output", "-",
                          "--workspace", "ws", cwd=tmp_path).stdout
    assert len(json.loads(exported)) == 2


def test_a_grid_scores_as_the_optuna_engine_does_with_same_seed(tmp_path, tiny_data):
    sweep = write(tmp_path, "parity", space=GRID, same_seed=True)
    cli_inline("run", sweep, "--data", tiny_data, "--workspace", "ws", cwd=tmp_path)
    cli_inline("run", sweep, "--data", tiny_data, "--workspace", "ws", "--engine", "optuna",
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
    optuna_status = json.loads(cli_inline("status", sweep, "--json", "--engine", "optuna",
                                          "--workspace", "ws", cwd=tmp_path).stdout)
    assert optuna_status["counts"] == {"complete": 2}
    assert {t["mlflow_run_id"] for t in optuna_status["trials"]}.isdisjoint(
        r.run_id for r in records(tmp_path, "parity"))  # --engine reads the Optuna study


def test_resume_refuses_a_sweep_never_run(tmp_path):
    sweep = write(tmp_path, "never", space=GRID)
    result = cli_inline("resume", sweep, "--workspace", "ws", cwd=tmp_path, check=False)
    assert result.returncode != 0
    assert "no KerasTuner search 'never' to resume" in result.stdout + result.stderr

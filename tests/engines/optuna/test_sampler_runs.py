"""Each new sampler end to end: ``run --sampler NAME`` over a sweep file written for TPE, real
worker processes training tiny models for one epoch (gp only where PyTorch is installed)."""

import importlib.util
import json

import pytest

from tests.helpers import cli_inline, mlflow_runs

pytestmark = pytest.mark.processes

SWEEP = """
from cifar_search import Budget, Objective, Sampler, Sweep

sweep = Sweep(
    name="tiny-samplers",
    space={"parameters": {
        "learning_rate": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
        "units": {"choices": [8, 16]},
        "filters": 4,
    }},
    model="intro",
    budget=Budget(epochs=1, batch_size=16),
    objective=Objective("val_accuracy"),
    sampler=Sampler("tpe", {"n_startup_trials": 2}),
    trials=3,
    seed=1,
)
"""

def parent_run(workspace):
    _, runs = mlflow_runs(workspace, "tiny-samplers")
    return next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)


def complete_points(folder, workspace):
    status = json.loads(cli_inline("status", "sweep.py", "--json", "--workspace", workspace,
                                   cwd=folder).stdout)
    return [(t["params"]["learning_rate"], t["params"]["units"]) for t in status["trials"]
            if t["state"] == "complete"]


def test_cmaes_then_qmc_on_resume_each_run_a_sweep_end_to_end(tmp_path, tiny_data):
    """One study: two trials drawn by CMA-ES, then ``resume --sampler qmc`` draws one more
    (one sweep's start-up instead of two)."""
    (tmp_path / "sweep.py").write_text(SWEEP)
    workspace = tmp_path / "ws"
    first = cli_inline("run", "sweep.py", "--sampler", "cmaes", "--trials", 2, "--data",
                       tiny_data, "--workspace", workspace, cwd=tmp_path)
    assert first.stdout.count(
        "sampler 'cmaes': CMA-ES models learning_rate; units (categorical or conditional) are "
        "drawn at random in each trial, as Optuna's CmaEsSampler does") == 1, first.stdout
    assert len(set(complete_points(tmp_path, workspace))) == 2, first.stdout
    assert parent_run(workspace).data.tags["setting.sampler"] == "cmaes"
    again = cli_inline("resume", "sweep.py", "--sampler", "qmc", "--trials", 3, "--data",
                       tiny_data, "--workspace", workspace, cwd=tmp_path)
    assert len(set(complete_points(tmp_path, workspace))) == 3, again.stdout
    parent = parent_run(workspace)
    assert parent.data.params["sampler"] == "cmaes"  # as the study began
    assert parent.data.tags["setting.sampler"] == "qmc"  # as it goes on


@pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                    reason="sampler 'gp' needs PyTorch (the gp extra)")
def test_gp_runs_a_sweep_end_to_end(tmp_path, tiny_data):
    (tmp_path / "sweep.py").write_text(SWEEP)
    workspace = tmp_path / "ws"
    result = cli_inline("run", "sweep.py", "--sampler", "gp", "--data", tiny_data,
                        "--workspace", workspace, cwd=tmp_path)
    assert len(set(complete_points(tmp_path, workspace))) == 3, result.stdout
    assert parent_run(workspace).data.tags["setting.sampler"] == "gp"

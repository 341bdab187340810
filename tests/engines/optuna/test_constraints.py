"""A real tiny sweep with a parameter limit: the start point whose model is over it is built,
not trained (no epoch is logged: its time depends on the machine's load, so it is not
asserted here), and ends infeasible; the other trains and is the best.
TPE steers by the constraints: Optuna holds each trial's constraint values."""

import optuna
import pytest

from cifar_search.search.feasibility import feasible

from tests.helpers import cli_inline, mlflow_runs

pytestmark = pytest.mark.processes

# dropout family on 32x32 images: filters=4 has 4,146 trainable parameters, filters=32 113,738
SWEEP = """
from cifar_search import Budget, Data, Objective, Sweep

sweep = Sweep(
    name="limited",
    space={"parameters": {"filters": {"choices": [4, 32]}, "dropout_rate": 0.1}},
    model="dropout",
    data=Data(validation=0.25),
    budget=Budget(epochs=1, batch_size=8, max_failures=1),
    objective=Objective("val_loss"),
    sampler="tpe",
    trials=2,
    options={"optuna": {"start": [{"filters": 4}, {"filters": 32}]}},
    constraints={"params": "<= 50k"},
)
"""


def test_a_model_over_the_parameter_limit_is_not_trained(tmp_path, tiny_data):
    (tmp_path / "limited.py").write_text(SWEEP)
    ran = cli_inline("run", "limited.py", "--data", tiny_data, "--workspace", tmp_path / "ws",
                     "--constraint", "val_loss<=1000", cwd=tmp_path)
    assert "trial   1 infeasible filters=32 (0 epochs" in ran.stdout
    assert "reason: params 113,738 > 50,000" in ran.stdout
    study = optuna.load_study(study_name="limited",
                              storage=f"sqlite:///{tmp_path / 'ws' / 'optuna.db'}")
    under, over = study.get_trials()
    assert over.state.name == "PRUNED" and over.user_attrs["infeasible"] == (
        "params 113,738 > 50,000")
    assert over.user_attrs["epochs_trained"] == 0
    assert over.constraints == {"params": 63738.0, "val_loss": 0.0}  # where TPE reads them
    assert under.state.name == "COMPLETE" and feasible(under) and not feasible(over)
    assert under.constraints["params"] == 4146.0 - 50000 and under.constraints["val_loss"] < 0
    assert under.user_attrs["measures"]["params"] == 4146.0
    client, runs = mlflow_runs(tmp_path / "ws", "limited")
    run = next(r for r in runs if r.info.run_id == over.user_attrs["mlflow_run_id"])
    assert run.data.tags["state"] == "infeasible"
    assert run.data.tags["infeasible"] == "params 113,738 > 50,000"
    assert "fail_reason" not in run.data.tags and run.info.status == "FINISHED"
    assert client.get_metric_history(run.info.run_id, "val_loss") == []  # no epoch trained
    assert "epoch_seconds" not in run.data.metrics
    best = cli_inline("best", "limited.py", "--workspace", tmp_path / "ws", "--json",
                      cwd=tmp_path)
    assert '"number": 0' in best.stdout
    status = cli_inline("status", "limited.py", "--workspace", tmp_path / "ws", cwd=tmp_path)
    assert "1 complete, 1 infeasible" in status.stdout
    assert "params 113,738 > 50,000" in status.stdout

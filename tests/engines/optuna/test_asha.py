"""Pruner 'asha' in a real run: each trial trains its rung's epochs, the top of a rung is
promoted with its parameters, the rung and origin are recorded in Optuna and MLflow, the best is
the highest rung's, and a resumed study goes on with the ladder as one run would have."""

import optuna
import pytest

from cifar_search.search.fidelity import Ladder, RungTrial, promotion

from tests.helpers import cli_inline, mlflow_runs

pytestmark = pytest.mark.processes

SWEEP = """
from cifar_search import Budget, Data, Objective, Pruner, Sweep

sweep = Sweep(
    name="asha",
    space={"parameters": {"dropout_rate": {"type": "float", "low": 0.1, "high": 0.6},
                          "filters": 4}},
    model="dropout",
    data=Data(validation=0.25),
    budget=Budget(epochs=2, batch_size=8),
    objective=Objective("val_loss"),
    sampler="random",
    pruner=Pruner("asha", {"rungs": [1, 2], "reduction_factor": 2}),
    trials=4,
    seed=1,
)
"""


def test_asha_promotes_and_a_resume_continues_the_ladder(tmp_path, tiny_data):
    (tmp_path / "sweep.py").write_text(SWEEP)
    flags = ("--data", tiny_data, "--workspace", tmp_path / "ws")
    first = cli_inline("run", "sweep.py", *flags, cwd=tmp_path)
    assert "promoted to rung 1 (2 epochs)" in first.stdout
    cli_inline("resume", "sweep.py", "--trials", "6", *flags, cwd=tmp_path)
    study = optuna.load_study(study_name="asha", storage=f"sqlite:///{tmp_path / 'ws/optuna.db'}")
    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 6
    ladder = Ladder((1, 2), 2)
    for trial in trials:  # each decision is the pure rule's on the trials before it
        before = [RungTrial(t.number, t.user_attrs["rung"], t.value, t.params,
                            t.user_attrs.get("promoted_from")) for t in trials[:trial.number]]
        promoted = promotion(ladder, before, "minimize")
        rung = trial.user_attrs["rung"]
        assert trial.user_attrs["epochs_trained"] == trial.user_attrs["rung_epochs"] == (1, 2)[rung]
        if rung:
            assert promoted is not None and promoted.origin == trial.user_attrs["promoted_from"]
            assert trial.params == trials[promoted.origin].params
        else:
            assert promoted is None and "promoted_from" not in trial.user_attrs
    promoted_trials = [t for t in trials if t.user_attrs["rung"] == 1]
    assert promoted_trials and any(t.number >= 4 for t in trials if t.user_attrs["rung"] == 0)
    _, runs = mlflow_runs(tmp_path / "ws", "asha")
    tags = {r.data.tags.get("optuna.trial_number"): r.data.tags for r in runs}
    for trial in promoted_trials:
        assert tags[str(trial.number)]["rung"] == "1"
        assert tags[str(trial.number)]["promoted_from"] == str(trial.user_attrs["promoted_from"])
    status = cli_inline("status", "sweep.py", "--workspace", tmp_path / "ws", cwd=tmp_path)
    header = status.stdout.splitlines()[1].split()
    assert {"rung", "rung_epochs", "promoted_from"} <= set(header)
    best = cli_inline("best", "sweep.py", "--json", "--workspace", tmp_path / "ws",
                      cwd=tmp_path).stdout
    top = min(promoted_trials, key=lambda t: (t.value, t.number))
    assert f'"number": {top.number}' in best and '"rung": 1' in best
    exported = cli_inline("export", "sweep.py", "--format", "json", "--output", "-",
                          "--workspace", tmp_path / "ws", cwd=tmp_path).stdout
    assert '"promoted_from":' in exported and '"rung_epochs":2' in exported.replace(" ", "")
    line = cli_inline("best", "sweep.py", "--workspace", tmp_path / "ws", cwd=tmp_path).stdout
    assert f"best: trial {top.number} val_loss={top.value:.4f} at rung 1 (2 epochs)" in line

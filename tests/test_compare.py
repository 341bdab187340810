"""Both engines on one grid, side by side: the command line end to end on generated images."""

import pandas as pd
import pytest

from cifar_search.reports.compare import optuna_candidates, side_by_side, sklearn_candidates
from tests.helpers import cli, mlflow_runs

GRID_SWEEP = """
from cifar_search import Budget, Objective, Sweep

sweep = Sweep(
    name="tiny-engines",
    space={"parameters": {"optimizer": {"grid": ["sgd", "adam"]}, "filters": 4, "units": 8}},
    model="intro",
    budget=Budget(epochs=1, batch_size=16),
    objective=Objective("val_accuracy"),
    sampler="grid",
    cv=2,
    seed=2,
)
"""


@pytest.fixture(scope="module")
def engines(tmp_path_factory, tiny_data):
    folder = tmp_path_factory.mktemp("engines")
    (folder / "sweep.py").write_text(GRID_SWEEP)
    workspace = folder / "ws"
    common = ("--data", tiny_data, "--workspace", workspace)
    before = cli("compare", "sweep.py", "--workspace", workspace, cwd=folder, check=False)
    cli("run", "sweep.py", *common, cwd=folder)
    cli("run", "sweep.py", "--engine", "sklearn", *common, cwd=folder)
    after = cli("compare", "sweep.py", "--workspace", workspace, cwd=folder)
    return before, after, workspace


def test_compare_needs_a_run_first(engines):
    before, _, _ = engines
    assert before.returncode == 1
    assert before.stderr.startswith("error: sweep.py: nothing to compare in ")


def test_compare_prints_both_engines_per_candidate(engines):
    _, after, _ = engines
    lines = after.stdout.splitlines()
    assert lines[0].startswith("tiny-engines: val_accuracy per candidate (maximize); optuna: "
                               "train/validation split, sklearn: 2-fold cross-validation")
    assert "optuna" in lines[1] and "sklearn" in lines[1] and "as-written" not in lines[1]
    for candidate in ("optimizer=sgd", "optimizer=adam"):
        row = next(line for line in lines if line.startswith(candidate))
        assert ("SGD" if candidate.endswith("sgd") else "Adam") in row
    assert ("as-written: not run yet (python -m cifar_search run sweep.py --engine sklearn "
            "--as-written)") in after.stdout


def test_comparison_is_logged_on_the_study(engines):
    _, _, workspace = engines
    client, runs = mlflow_runs(workspace, "tiny-engines")
    parent = next(r for r in runs if r.info.run_name == "tiny-engines")
    names = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"comparison.csv", "comparison.png"} <= names


def test_side_by_side_joins_on_the_candidate():
    optuna = pd.DataFrame({"candidate": ["a", "b"], "mean_score": [0.5, 0.6],
                           "std_score": [None, None], "runs": [1, 1], "rank": [2, 1]})
    sklearn = sklearn_candidates(pd.DataFrame({
        "candidate": ["b", "a"], "objective": [0.55, 0.45], "std_score": [0.01, 0.02],
        "fits": [3, 3], "rank": [1, 2], "trained_optimizer": ["Adam", "SGD"]}))
    table = side_by_side({"optuna": optuna, "sklearn": sklearn, "as-written": None})
    assert list(table.index) == ["a", "b"]
    assert table.loc["a", ("sklearn", "mean_score")] == 0.45
    assert table.loc["b", ("optuna", "rank")] == 1
    assert table.loc["a", ("sklearn", "trained_optimizer")] == "SGD"


def test_optuna_candidates_average_seeds_and_rank():
    import optuna
    from optuna.distributions import CategoricalDistribution

    study = optuna.create_study(direction="maximize")
    dist = {"optimizer": CategoricalDistribution(["sgd", "adam"])}
    for name, values in (("sgd", [0.3, 0.5]), ("adam", [0.6, 0.6])):
        study.add_trial(optuna.trial.create_trial(
            params={"optimizer": name}, distributions=dist, value=sum(values) / 2,
            user_attrs={"params": {"optimizer": name, "filters": 4}, "repeat_values": values}))
    table = optuna_candidates(study, ("optimizer",), "maximize").set_index("candidate")
    assert table.loc["optimizer=sgd", "mean_score"] == pytest.approx(0.4)
    assert table.loc["optimizer=sgd", "std_score"] == pytest.approx(0.1414, abs=1e-4)
    assert table.loc["optimizer=sgd", "runs"] == 2
    assert list(table["rank"]) == [2, 1]

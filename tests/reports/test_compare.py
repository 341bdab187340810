"""Every engine's candidates side by side: the command line end to end on generated images,
then compare over stand-in engines."""

from types import SimpleNamespace

import pandas as pd
import pytest

from cifar_search.engines.base import Candidates
from cifar_search.errors import ConfigError
from cifar_search.reports import compare
from cifar_search.reports.compare import side_by_side
from tests.helpers import cli_inline, mlflow_runs

pytestmark = pytest.mark.processes

GRID_SWEEP = """
from cifar_search import Budget, Objective, Sweep

sweep = Sweep(
    name="tiny-engines",
    space={"parameters": {"optimizer": {"grid": ["sgd", "adam"]}, "filters": 4, "units": 8}},
    model="intro",
    budget=Budget(epochs=1, batch_size=16),
    objective=Objective("val_accuracy"),
    sampler="grid",
    options={"sklearn": {"cv": 2}},
    seed=2,
)
"""


@pytest.fixture(scope="module")
def engines(tmp_path_factory, tiny_data):
    folder = tmp_path_factory.mktemp("engines")
    (folder / "sweep.py").write_text(GRID_SWEEP)
    workspace = folder / "ws"
    common = ("--data", tiny_data, "--workspace", workspace)
    before = cli_inline("compare", "sweep.py", "--workspace", workspace, cwd=folder,
                        check=False)
    cli_inline("run", "sweep.py", *common, cwd=folder)
    cli_inline("run", "sweep.py", "--engine", "sklearn", *common, cwd=folder)
    after = cli_inline("compare", "sweep.py", "--workspace", workspace, cwd=folder)
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


OPTUNA = pd.DataFrame({"candidate": ["a", "b"], "mean_score": [0.5, 0.6],
                       "std_score": [None, None], "runs": [1, 1], "rank": [2, 1]})
SKLEARN = pd.DataFrame({"candidate": ["b", "a"], "mean_score": [0.55, 0.45],
                        "std_score": [0.01, 0.02], "runs": [3, 3], "rank": [1, 2],
                        "trained_optimizer": ["Adam", "SGD"]})


def test_side_by_side_joins_on_the_candidate():
    table = side_by_side({"optuna": OPTUNA, "sklearn": SKLEARN, "as-written": None})
    assert list(table.index) == ["a", "b"]
    assert list(table.columns.get_level_values(0).unique()) == ["optuna", "sklearn"]
    assert table.loc["a", ("sklearn", "mean_score")] == 0.45
    assert table.loc["b", ("optuna", "rank")] == 1
    assert table.loc["a", ("sklearn", "trained_optimizer")] == "SGD"
    assert side_by_side({"optuna": None}).empty


# --------------------------------------------------------------------------------------------
# compare over stand-in engines: what it prints and where it logs
# --------------------------------------------------------------------------------------------


class FakeTracker:
    """Records the files logged on each run."""

    logged: dict = {}

    def __init__(self, workspace, sweep):
        pass

    def log_artifacts(self, run_id, paths):
        FakeTracker.logged[run_id] = [path.name for path in paths if path.is_file()]


@pytest.fixture
def stand_ins(monkeypatch):
    """compare's engines replaced by the parts a test sets; its tracker by FakeTracker."""
    parts = []
    FakeTracker.logged = {}
    monkeypatch.setattr(compare, "gather", lambda sweep, workspace: parts)
    monkeypatch.setattr(compare, "refusal", lambda sweep, flags: None)
    monkeypatch.setattr("cifar_search.tracking.writer.Tracker", FakeTracker)
    sweep = SimpleNamespace(name="grid", source="sweeps/grid.py", cv=3,
                            objective=SimpleNamespace(metric="val_accuracy",
                                                      direction="maximize"))
    return parts, sweep, SimpleNamespace(root="/tmp/ws")


def test_compare_says_how_each_part_scores_and_what_is_not_run(stand_ins):
    parts, sweep, workspace = stand_ins
    parts += [Candidates("optuna", OPTUNA, "", "train/validation split", run_id="parent"),
              Candidates("sklearn", None, "--engine sklearn", "3-fold cross-validation"),
              Candidates("as-written", SKLEARN, "--engine sklearn --as-written")]
    lines = []
    compare.compare(sweep, workspace, lines.append)
    assert lines[0] == ("grid: val_accuracy per candidate (maximize); optuna: train/validation "
                        "split, sklearn: 3-fold cross-validation")
    assert lines[1].splitlines()[0].split() == ["optuna", "as-written"]
    assert lines[2:] == [
        "sklearn: not run yet (python -m cifar_search run sweeps/grid.py --engine sklearn)",
        "comparison.csv and comparison.png logged on the Optuna study's parent run"]
    assert FakeTracker.logged == {"parent": ["comparison.csv", "comparison.png"]}


def test_compare_logs_nothing_without_a_run_to_log_on(stand_ins):
    parts, sweep, workspace = stand_ins
    parts += [Candidates("optuna", None), Candidates("sklearn", SKLEARN, "--engine sklearn")]
    lines = []
    compare.compare(sweep, workspace, lines.append)
    assert lines[-1] == "optuna: not run yet (python -m cifar_search run sweeps/grid.py)"
    assert FakeTracker.logged == {}


def test_compare_needs_a_part_that_ran(stand_ins):
    parts, sweep, workspace = stand_ins
    parts += [Candidates("optuna", None), Candidates("sklearn", None, "--engine sklearn")]
    with pytest.raises(ConfigError, match=r"^sweeps/grid\.py: nothing to compare in /tmp/ws; run "
                       r"python -m cifar_search run sweeps/grid\.py "
                       r"\[--engine sklearn\|kerastuner\] first$"):
        compare.compare(sweep, workspace, print)


def test_compare_suggests_only_the_runs_the_sweep_accepts(tmp_path):
    from cifar_search import engines
    from cifar_search.workspace import Workspace

    tpe = engines.load("sweeps/learning_rate.py")  # TPE: no sklearn search, no oracle
    assert compare.refusal(tpe, "--engine sklearn") == (
        "sampler: 'tpe' is not allowed; engine 'sklearn' runs sampler 'grid' (GridSearchCV) "
        "or 'random' (RandomizedSearchCV)")
    assert compare.refusal(tpe, "") is None
    assert compare.refusal(engines.load("sweeps/optimizer_grid.py"), "--engine sklearn "
                           "--as-written") is None
    with pytest.raises(ConfigError, match=r"run python -m cifar_search run "
                                          r"sweeps/learning_rate\.py first$"):
        compare.compare(tpe, Workspace.at(tmp_path / "ws"), print)
    lines = compare.report(tpe, [Candidates("sklearn", None, "--engine sklearn")],
                           pd.DataFrame())
    assert lines[-1].startswith("sklearn: not for this sweep (sampler: 'tpe' is not allowed;")

"""Several objectives end to end: a two-objective sweep (accuracy against parameter count)
with a pruner judging the accuracy curve and a constraint on latency; its front, tags, plot
and registered model."""

import json

import optuna
import pytest

from cifar_search.search.front import Point, front
from tests.helpers import cli_inline, mlflow_runs

pytestmark = pytest.mark.processes

SWEEP = """
from cifar_search import Budget, Data, Objective, Sweep

sweep = Sweep(
    name="tiny-front",
    space={"parameters": {"dropout_rate": {"grid": [0.1, 0.5]}, "filters": {"grid": [4, 8]}}},
    model="dropout",
    data=Data(validation=0.25),
    budget=Budget(epochs=2, batch_size=8),
    objective=Objective(["val_accuracy", "params"]),
    constraints={"latency_ms": "<= 100_000"},  # never broken: latency_ms is measured
    sampler="grid",
    pruner="median",
    workers=2,
    seed=5,
)
"""


@pytest.fixture(scope="module")
def two_objectives(tmp_path_factory, tiny_data):
    """The sweep run once; the pruner (asked by the coordinator with the study seen through
    val_accuracy) prunes trial 1 after its first epoch, and records what it was shown."""
    folder = tmp_path_factory.mktemp("front")
    (folder / "sweep.py").write_text(SWEEP)
    workspace = folder / "ws"
    asked = []

    def prune(self, study, trial):
        asked.append((study.direction.name, trial.number, dict(trial.intermediate_values)))
        return trial.number == 1

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optuna.pruners.MedianPruner, "prune", prune)
        run = cli_inline("run", "sweep.py", "--data", tiny_data, "--workspace", workspace,
                         cwd=folder)
    study = optuna.load_study(study_name="tiny-front",
                              storage=f"sqlite:///{workspace / 'optuna.db'}")
    return folder, workspace, study, asked, run


def test_the_pruner_judges_the_accuracy_curve_of_a_two_objective_study(two_objectives):
    _, workspace, study, asked, _ = two_objectives
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    states = {t.number: t.state.name for t in study.trials}
    assert states == {0: "COMPLETE", 1: "PRUNED", 2: "COMPLETE", 3: "COMPLETE"}
    assert {direction for direction, _, _ in asked} == {"MAXIMIZE"}
    assert (0, {1: study.trials[0].user_attrs["curve"]["1"]}) in [
        (number, curve) for _, number, curve in asked]  # the curve as intermediate values
    assert list(study.trials[1].user_attrs["curve"]) == ["1"]
    assert all(not t.intermediate_values for t in study.trials)  # kept from the samplers
    client, runs = mlflow_runs(workspace, "tiny-front")
    by_id = {r.info.run_id: r for r in runs}
    for trial in study.trials:
        history = [m.value for m in client.get_metric_history(
            trial.user_attrs["mlflow_run_id"], "val_accuracy")]
        assert list(trial.user_attrs["curve"].values()) == history  # the accuracy curve
    for trial in (t for t in study.trials if t.state.name == "COMPLETE"):
        accuracy, params = trial.values
        assert accuracy == trial.user_attrs["curve"]["2"] and params == int(params) > 0
        run = by_id[trial.user_attrs["mlflow_run_id"]]
        assert run.data.metrics["params"] == params and run.data.metrics["train_seconds"] > 0
        latency = trial.user_attrs["measures"]["latency_ms"]  # per image, on the worker
        assert 0 < latency < 100_000 and run.data.metrics["latency_ms"] == latency
        assert trial.system_attrs["constraints:latency_ms"] == latency - 100_000  # kept
    assert "latency_ms" not in study.trials[1].user_attrs["measures"]  # pruned: not measured
    size = {t.user_attrs["params"]["filters"]: t.values[1] for t in study.trials
            if t.state.name == "COMPLETE"}
    assert size[4] < size[8]


def test_best_and_status_show_the_front_and_the_rule_picks_the_registered_model(
        two_objectives):
    folder, workspace, study, _, run = two_objectives
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    expected = [p.number for p in front([Point(t.number, tuple(t.values)) for t in complete],
                                        ("maximize", "minimize"))]
    best = json.loads(cli_inline("best", "sweep.py", "--json", "--workspace", workspace,
                                 cwd=folder).stdout)
    assert [row["number"] for row in best["front"]] == expected
    members = {t.number: t for t in complete if t.number in expected}
    most_accurate = min(members.values(), key=lambda t: (-t.values[0], t.number)).number
    smallest = min(members.values(), key=lambda t: (t.values[1], t.number)).number
    assert (best["pick"], best["best"]["number"]) == ("val_accuracy", most_accurate)
    assert best["best"]["values"] == dict(zip(["val_accuracy", "params"],
                                              members[most_accurate].values, strict=True))
    picked = json.loads(cli_inline("best", "sweep.py", "--json", "--pick", "params",
                                   "--workspace", workspace, cwd=folder).stdout)
    assert picked["best"]["number"] == smallest and picked["front"] == best["front"]
    refused = cli_inline("best", "sweep.py", "--pick", "latency_ms", "--workspace", workspace,
                         cwd=folder, check=False)
    assert refused.returncode != 0
    assert "--pick: 'latency_ms' is not allowed; pick is one of the objectives: val_accuracy, " \
           "params" in refused.stderr
    status = cli_inline("status", "sweep.py", "--workspace", workspace, cwd=folder).stdout
    assert f"Pareto front ({len(expected)} trial" in status
    assert "of val_accuracy (maximize), params (minimize):" in status
    status_json = json.loads(cli_inline("status", "sweep.py", "--json", "--workspace",
                                        workspace, cwd=folder).stdout)
    assert status_json["front"] == best["front"]
    exported = json.loads(cli_inline("export", "sweep.py", "--format", "json", "--output", "-",
                                     "--workspace", workspace, cwd=folder).stdout)
    assert {row["number"]: row["metric.params"] for row in exported if row["state"] == "complete"
            } == {t.number: t.values[1] for t in complete}

    client, runs = mlflow_runs(workspace, "tiny-front")
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    tagged = {r.info.run_id for r in runs if r.data.tags.get("pareto_front") == "true"}
    assert tagged == {members[n].user_attrs["mlflow_run_id"] for n in expected}
    assert "pareto_front.png" in {a.path for a in client.list_artifacts(parent.info.run_id)}
    note = parent.data.tags["mlflow.note.content"]
    assert f"**Pareto front** ({len(expected)} trial" in note
    assert "The model tested and registered is the front's best on val_accuracy." in note
    assert parent.data.tags["best_model_trial"] == str(most_accurate)
    (version,) = client.search_model_versions("name='tiny-front'")
    assert version.run_id == members[most_accurate].user_attrs["mlflow_run_id"]  # its trial's run
    assert f"best: trial {most_accurate} val_accuracy=" in run.stdout


def test_repeats_and_a_warm_start_with_two_objectives(two_objectives, tiny_data):
    """A second two-objective study (filters 4 only) starts from the first, whose fitting
    trials it imports with their values and this sweep's constraint values, and trains two
    trials with two seeds each: each objective is the mean over the seeds, and the verdict
    is about the front's members, on val_accuracy."""
    folder, workspace, source, _, _ = two_objectives
    (folder / "again.py").write_text(
        SWEEP.replace('"tiny-front"', '"tiny-front-2"').replace('sampler="grid"', 'sampler="tpe"')
        .replace('"filters": {"grid": [4, 8]}', '"filters": {"grid": [4]}')
        .replace("workers=2,", "workers=2, repeats=2, trials=2, warm_start='tiny-front',"))
    cli_inline("run", "again.py", "--data", tiny_data, "--workspace", workspace, cwd=folder)
    study = optuna.load_study(study_name="tiny-front-2",
                              storage=f"sqlite:///{workspace / 'optuna.db'}")
    imported = [t for t in study.trials if "imported_from" in t.user_attrs]
    fitting = {t.number: t for t in source.trials if t.state.name == "COMPLETE"
               and t.user_attrs["params"]["filters"] == 4}
    assert len(imported) == len(fitting) > 0
    for trial in imported:
        earlier = fitting[trial.user_attrs["imported_from"]["trial"]]
        assert trial.values == earlier.values  # each objective's value
        latency = earlier.user_attrs["measures"]["latency_ms"]
        assert trial.system_attrs["constraints:latency_ms"] == pytest.approx(latency - 100_000)
    trained = [t for t in study.trials if "imported_from" not in t.user_attrs]
    assert [t.state.name for t in trained] == ["COMPLETE", "COMPLETE"]
    for trial in trained:
        seeds = trial.user_attrs["repeat_measures"]
        assert len(seeds["val_accuracy"]) == 2 == len(seeds["latency_ms"])
        assert trial.user_attrs["repeat_values"] == seeds["val_accuracy"]
        assert trial.values[0] == pytest.approx(sum(seeds["val_accuracy"]) / 2)  # the mean
        assert trial.values[1] == seeds["params"][0] == seeds["params"][1]
    best = json.loads(cli_inline("best", "again.py", "--json", "--workspace", workspace,
                                 cwd=folder).stdout)
    front = {row["number"] for row in best["front"]}
    assert front and front <= {t.number for t in trained}  # trained here only
    scope = best["verdict"]["scope"]
    assert scope == f"the Pareto front's {len(front)} members, on val_accuracy"
    by_number = {t.number: t for t in trained}
    assert sorted(tuple(c["scores"]) for c in best["verdict"]["candidates"]) == sorted(
        tuple(by_number[n].user_attrs["repeat_measures"]["val_accuracy"]) for n in front)

"""Repeats against noise: each candidate trained with several seeds, its score their mean,
each seed's run its own MLflow run nested in the trial's."""

import json
import statistics

import optuna
import pytest

from tests.helpers import cli_inline, mlflow_runs
from tests.engines.optuna.test_same_seed import run_in_process

pytestmark = pytest.mark.processes

REPEAT_SWEEP = """
from cifar_search import Budget, Data, Objective, Sweep

sweep = Sweep(
    name="tiny-repeats",
    space={"parameters": {"dropout_rate": {"grid": [0.1, 0.5]}, "filters": 4}},
    model="dropout",
    data=Data(validation=0.25),
    budget=Budget(epochs=1, batch_size=8),
    objective=Objective("val_loss"),
    sampler="grid",
    workers=2,
    seed=5,
)
"""


@pytest.fixture(scope="module")
def repeated(tmp_path_factory, tiny_data):
    folder = tmp_path_factory.mktemp("repeats")
    (folder / "sweep.py").write_text(REPEAT_SWEEP)
    workspace = folder / "ws"
    result = cli_inline("run", "sweep.py", "--repeats", "3", "--data", tiny_data,
                 "--workspace", workspace, cwd=folder)
    study = optuna.load_study(study_name="tiny-repeats",
                              storage=f"sqlite:///{workspace / 'optuna.db'}")
    return result, study, workspace


def test_value_is_the_mean_of_the_seeds(repeated):
    _, study, _ = repeated
    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    for trial in trials:
        values = trial.user_attrs["repeat_values"]
        assert len(values) == 3
        assert trial.value == pytest.approx(statistics.mean(values))
        assert trial.user_attrs["value_std"] == pytest.approx(statistics.stdev(values))
        assert len(set(values)) > 1  # three seeds really differ


def test_each_seed_is_its_own_nested_run(repeated):
    _, study, workspace = repeated
    client, runs = mlflow_runs(workspace, "tiny-repeats")
    by_id = {r.info.run_id: r for r in runs}
    for trial in study.get_trials():
        trial_run = by_id[trial.user_attrs["mlflow_run_id"]]
        assert trial_run.data.metrics["objective"] == pytest.approx(trial.value)
        assert trial_run.data.metrics["value_std"] == pytest.approx(
            trial.user_attrs["value_std"])
        seed_ids = trial.user_attrs["repeat_run_ids"]
        assert len(seed_ids) == 3
        seeds = set()
        for run_id in seed_ids:
            run = by_id[run_id]
            assert run.info.status == "FINISHED"
            assert run.data.tags["mlflow.parentRunId"] == trial_run.info.run_id
            assert run.data.metrics["objective"] in trial.user_attrs["repeat_values"]
            assert len(client.get_metric_history(run_id, "val_loss")) == 1
            seeds.add(run.data.tags["seed"])
        assert len(seeds) == 3


def test_repeats_are_part_of_the_study(repeated, tiny_data):
    result, _, workspace = repeated
    folder = workspace.parent
    again = cli_inline("run", "sweep.py", "--data", tiny_data, "--workspace", workspace, cwd=folder,
                check=False)
    assert again.returncode == 1
    assert "sweep.py: repeats: 1 differs from the study's 3; the existing study" in again.stderr


def test_best_says_whether_the_best_is_really_better_and_the_parent_run_shows_it(repeated):
    _, study, workspace = repeated
    folder = workspace.parent
    text = cli_inline("best", "sweep.py", "--workspace", workspace, cwd=folder).stdout
    best, link, verdict, header, first, second, method = text.splitlines()
    assert best.startswith("best: trial ") and verdict.startswith("verdict: trial ")
    assert link.startswith("its MLflow run: http://127.0.0.1:5000/#/experiments/")
    assert header == "  P(best)  val_loss (scores)"
    assert " (3)  trial " in first and " (3)  trial " in second
    assert method.startswith("  (10000 draws of each candidate's mean from its scores")
    shown = json.loads(cli_inline("best", "sweep.py", "--json", "--workspace", workspace,
                                  cwd=folder).stdout)["verdict"]
    assert shown["possible"] and len(shown["candidates"]) == 2
    leader, runner_up = shown["candidates"]
    assert leader["p_best"] + runner_up["p_best"] == pytest.approx(1.0)
    assert sorted(leader["scores"] + runner_up["scores"]) == sorted(
        v for t in study.get_trials() for v in t.user_attrs["repeat_values"])
    assert runner_up["within_noise"] == (runner_up["p_better_than_leader"] >= 0.05)
    client, runs = mlflow_runs(workspace, "tiny-repeats")
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    assert "verdict.png" in {a.path for a in client.list_artifacts(parent.info.run_id)}
    note = parent.data.tags["mlflow.note.content"]
    assert "**Verdict:** " + verdict.removeprefix("verdict: ") in note
    assert "| P(best) | val_loss (scores) | candidate | against the leader |" in note


# -- with a pruner: the first seed is judged, the others start once it completes -------------


def pruned_repeats_sweep(name, data, dropouts=(0.1, 0.5), **options):
    from cifar_search import Budget, Data, Objective, Sweep
    from cifar_search.config.space import Space

    space = Space.from_dict({"parameters": {"dropout_rate": {"grid": list(dropouts)},
                                            "filters": 4}})
    settings = dict(sampler="grid", workers=2, seed=5)
    settings.update(options)
    return Sweep(name=name, space=space, model="dropout",
                 data=Data(source=str(data), validation=0.25),
                 budget=Budget(epochs=2, batch_size=8), objective=Objective("val_loss"),
                 pruner="median", repeats=2, **settings)


def test_a_pruner_judges_the_first_seed_and_a_pruned_trial_trains_no_other(
        tmp_path, tiny_data, monkeypatch):
    study, workspace = run_in_process(pruned_repeats_sweep("judged", tiny_data), tmp_path,
                                      monkeypatch, lambda number, step: number == 0)
    client, runs = mlflow_runs(workspace.root, "judged")
    by_id = {r.info.run_id: r for r in runs}
    pruned, complete = study.trials
    assert (pruned.state.name, list(pruned.intermediate_values)) == ("PRUNED", [1])
    (seed_run,) = [by_id[i] for i in pruned.user_attrs["repeat_run_ids"]]
    assert (seed_run.info.status, seed_run.data.tags["state"]) == ("FINISHED", "pruned")
    assert pruned.user_attrs["epochs_trained"] == 1
    assert not (workspace.trial_dir("judged", 0) / "seed-1").exists()

    assert complete.state.name == "COMPLETE"
    first, second = [by_id[i] for i in complete.user_attrs["repeat_run_ids"]]
    first_curve = [m.value for m in client.get_metric_history(first.info.run_id, "val_loss")]
    assert list(complete.intermediate_values.values()) == first_curve  # the first seed's
    assert complete.value == pytest.approx(statistics.mean(complete.user_attrs["repeat_values"]))
    assert second.info.start_time >= first.info.end_time  # started once the first completed


def test_a_repeated_configuration_drawn_again_is_judged_on_its_first_seeds_epochs(
        tmp_path, tiny_data, monkeypatch):
    sweep = pruned_repeats_sweep("again", tiny_data, dropouts=[0.3], sampler="random", trials=2,
                                 workers=1, same_seed=True)
    study, workspace = run_in_process(sweep, tmp_path, monkeypatch, lambda number, step: True)
    first, second = study.trials
    assert [t.state.name for t in study.trials] == ["PRUNED", "PRUNED"]
    assert second.user_attrs["continues"] == 0 and second.user_attrs["resumed_at_epoch"] == 1
    assert second.intermediate_values == first.intermediate_values
    client, runs = mlflow_runs(workspace.root, "again")
    (seed_run,) = [r for r in runs if r.info.run_id in second.user_attrs["repeat_run_ids"]]
    assert (seed_run.info.status, seed_run.data.tags["state"]) == ("FINISHED", "pruned")

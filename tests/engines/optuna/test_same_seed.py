"""Common random numbers: with ``same_seed`` every trial trains from the sweep's seed, so a
configuration has one result; a trial that draws a completed configuration takes that result
without training, and says so in Optuna and MLflow."""

import optuna
import pytest

from cifar_search.tracking import summary

from tests.helpers import cli_inline, mlflow_runs

pytestmark = pytest.mark.processes

SWEEP = """
from cifar_search import Budget, Data, Objective, Sweep

sweep = Sweep(
    name="{name}",
    space={{"parameters": {{"dropout_rate": {{"{kind}": [0.1, 0.5]}}, "filters": 4}}}},
    model="dropout",
    data=Data(validation=0.25),
    budget=Budget(epochs=1, batch_size=8),
    objective=Objective("val_loss"),
    sampler="{sampler}",
    trials={trials},
    same_seed=True,
    seed=3,
)
"""


def run_sweep(folder, data, name, sampler, kind, trials, *extra, check=True):
    (folder / f"{name}.py").write_text(SWEEP.format(name=name, sampler=sampler, kind=kind,
                                                    trials=trials))
    result = cli_inline("run", f"{name}.py", "--data", data, "--workspace", folder / "ws", *extra,
                 cwd=folder, check=check)
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{folder / 'ws' / 'optuna.db'}")
    return result, study


@pytest.fixture(scope="module")
def studies(tmp_path_factory, tiny_data):
    folder = tmp_path_factory.mktemp("same-seed")
    _, drawn = run_sweep(folder, tiny_data, "drawn", "random", "choices", 6)
    _, grid = run_sweep(folder, tiny_data, "grid", "grid", "grid", "None")
    return folder, drawn, grid


def test_every_trial_trains_from_the_sweep_seed(studies):
    _, drawn, grid = studies
    seeds = {t.user_attrs["seed"] for t in drawn.get_trials() + grid.get_trials()}
    assert len(seeds) == 1


def test_a_drawn_again_configuration_takes_the_earlier_result(studies):
    folder, drawn, _ = studies
    trials = drawn.get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 6
    trained = {t.number: t for t in trials if "duplicate_of" not in t.user_attrs}
    copies = [t for t in trials if "duplicate_of" in t.user_attrs]
    assert len(trained) == len({t.params["dropout_rate"] for t in trials}) and len(copies) >= 4
    client, runs = mlflow_runs(folder / "ws", "drawn")
    by_id = {r.info.run_id: r for r in runs}
    for copy in copies:
        original = trained[copy.user_attrs["duplicate_of"]]
        assert original.number < copy.number
        assert copy.params == original.params and copy.value == original.value
        assert copy.user_attrs["epochs_trained"] == 0 and copy.intermediate_values == {}
        run = by_id[copy.user_attrs["mlflow_run_id"]]
        assert run.info.status == "FINISHED"
        assert run.data.tags["duplicate_of"] == str(original.number)
        assert run.data.metrics["objective"] == pytest.approx(copy.value)
        assert client.get_metric_history(run.info.run_id, "val_loss") == []
    table = summary.trials_table(drawn).set_index("number")
    assert {int(n): int(d) for n, d in table["duplicate_of"].dropna().items()} == {
        t.number: t.user_attrs["duplicate_of"] for t in copies}
    for original in trained.values():
        assert original.user_attrs["epochs_trained"] == 1
        assert len(client.get_metric_history(original.user_attrs["mlflow_run_id"], "val_loss")) == 1


def test_the_same_configuration_scores_the_same_in_another_sweep(studies):
    _, drawn, grid = studies
    drawn_values = {t.params["dropout_rate"]: t.value for t in drawn.get_trials()}
    grid_values = {t.params["dropout_rate"]: t.value for t in grid.get_trials()}
    assert sorted(grid_values) == [0.1, 0.5] and grid_values[0.1] != grid_values[0.5]
    for rate, value in drawn_values.items():  # other trial numbers, same seed: same result
        assert grid_values[rate] == value


def test_same_seed_is_part_of_the_study(studies, tiny_data):
    folder, _, _ = studies
    (folder / "drawn.py").write_text((folder / "drawn.py").read_text()
                                     .replace("same_seed=True", "same_seed=False"))
    again = cli_inline("run", "drawn.py", "--data", tiny_data, "--workspace", folder / "ws",
                cwd=folder, check=False)
    assert again.returncode == 1
    assert "drawn.py: same_seed: false differs from the study's true; the existing study" \
        in again.stderr


# -- a pruned configuration drawn again goes on from where it was stopped ---------------------


def one_config_sweep(name, data):
    from cifar_search import Budget, Data, Objective, Sweep
    from cifar_search.config.space import Space

    space = Space.from_dict({"parameters": {"dropout_rate": {"choices": [0.3]}, "filters": 4}})
    return Sweep(name=name, space=space,
                 model="dropout", data=Data(source=str(data), validation=0.25),
                 budget=Budget(epochs=3, batch_size=8), objective=Objective("val_loss"),
                 sampler="random", pruner="median", trials=3, same_seed=True, seed=3)


def run_in_process(sweep, folder, monkeypatch, prune):
    """Run ``sweep`` with the pruner's verdicts replaced by ``prune(trial_number, step)``."""
    from cifar_search.engines.optuna.coordinator import Coordinator
    from cifar_search.engines.optuna.study import StudyStore
    from cifar_search.workspace import Workspace

    def report(store, trial, value, step):
        trial.report(value, step)
        return prune(trial.number, step)

    monkeypatch.setattr(StudyStore, "report", report)
    workspace = Workspace.at(folder)
    Coordinator(sweep, workspace, say=lambda line: None).run()
    return optuna.load_study(study_name=sweep.name, storage=workspace.optuna_url), workspace


def history(study, number):
    return study.trials[number].intermediate_values


def test_a_pruned_configuration_drawn_again_goes_on_from_its_checkpoint(
        tmp_path, tiny_data, monkeypatch):
    study, workspace = run_in_process(one_config_sweep("paused", tiny_data), tmp_path,
                                      monkeypatch, lambda number, step: number == 0)
    first, second, third = study.trials
    assert (first.state.name, len(first.intermediate_values)) == ("PRUNED", 1)
    assert second.state.name == "COMPLETE"
    assert second.user_attrs["continues"] == 0 and second.user_attrs["resumed_at_epoch"] == 1
    assert third.user_attrs["duplicate_of"] == 1 and third.value == second.value
    client, runs = mlflow_runs(workspace.root, "paused")
    run = {r.info.run_id: r for r in runs}[second.user_attrs["mlflow_run_id"]]
    assert run.data.tags["continues"] == "0"
    assert len(client.get_metric_history(run.info.run_id, "val_loss")) == 3
    monkeypatch.undo()
    fresh, _ = run_in_process(one_config_sweep("fresh", tiny_data), tmp_path, monkeypatch,
                              lambda number, step: False)
    assert history(fresh, 0) == second.intermediate_values  # as if never stopped
    assert history(fresh, 0)[1] == first.intermediate_values[1]


def test_a_continued_configuration_is_judged_on_its_earlier_epochs(
        tmp_path, tiny_data, monkeypatch):
    study, workspace = run_in_process(one_config_sweep("stopped", tiny_data), tmp_path,
                                      monkeypatch, lambda number, step: True)
    first, second, third = study.trials
    assert [t.state.name for t in study.trials] == ["PRUNED"] * 3
    assert second.user_attrs["continues"] == 0 and third.user_attrs["continues"] == 0
    for again in (second, third):  # pruned on epoch 1 again, without training
        assert again.intermediate_values == first.intermediate_values
        assert again.user_attrs["resumed_at_epoch"] == 1
        assert not workspace.trial_dir("stopped", again.number).exists()

"""The Optuna engine's coordinator: how it gives a sweep's tail the free cores, and start
points."""

import optuna
import pytest

from cifar_search import Budget, Compute, Data, Objective, Sweep
from cifar_search.workspace import Workspace

# -- the tail rule ------------------------------------------------------------------------------


def three_trials(source, epochs=5, **compute):
    from cifar_search.config.space import Space

    return Sweep(name="tail", model="dropout", sampler="grid", source="sweeps/tail.py",
                 space=Space.from_dict({"parameters": {"dropout_rate": {"grid": [0.1, 0.3, 0.5]},
                                                       "filters": 4}}),
                 data=Data(source=str(source), validation=0.25),
                 budget=Budget(epochs=epochs, batch_size=8), objective=Objective("val_loss"),
                 workers=2, seed=3, compute=Compute(**compute))


@pytest.mark.processes
def test_the_third_of_three_trials_on_two_workers_goes_on_with_both_cores(tiny_data, tmp_path,
                                                                          monkeypatch):
    """Three trials on two workers: once the second ends, the third moves at its epoch's end
    to one worker with both workers' threads and goes on from its checkpoint there."""
    from cifar_search.engines.optuna.coordinator import Coordinator
    from cifar_search.execution import tail

    monkeypatch.setattr(tail, "MIN_SECONDS_LEFT", 0.0)  # tiny epochs: move all the same
    from cifar_search.execution.local import threads_per_worker
    from tests.helpers import mlflow_runs

    workspace = Workspace.at(tmp_path / "ws")
    lines = []
    epochs = 10  # room for a worker started late: the third may move until 2 epochs are left
    Coordinator(three_trials(tiny_data, epochs=epochs), workspace, say=lines.append).run()
    study = optuna.load_study(study_name="tail", storage=workspace.optuna_url)
    both = 2 * threads_per_worker(2)
    moved = [t for t in study.trials if t.user_attrs.get("widened")]
    assert [t.number for t in moved] == [2], lines
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3
    (move,) = moved[0].user_attrs["widened"]
    assert move["threads"] == both and 1 <= move["epoch"] <= epochs - tail.MIN_EPOCHS_LEFT
    assert moved[0].user_attrs["epochs_trained"] == epochs
    every = list(range(1, epochs + 1))
    assert list(moved[0].intermediate_values) == every  # every epoch once
    client, runs = mlflow_runs(workspace.root, "tail")
    run = {r.info.run_id: r for r in runs}[moved[0].user_attrs["mlflow_run_id"]]
    assert run.data.params["resolved.threads"] == str(both)  # what its last worker ran with
    assert run.data.tags["widened_at_epoch"] == str(move["epoch"])
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")]
    assert steps == every
    first = {r.info.run_id: r for r in runs}[study.trials[0].user_attrs["mlflow_run_id"]]
    assert first.data.params["resolved.threads"] == str(threads_per_worker(2))
    assert f"trial   2 goes on with {both} threads from epoch {move['epoch']}" in "\n".join(lines)


# -- start points -------------------------------------------------------------------------------


def started(source, trials):
    from cifar_search.config.space import Space

    return Sweep(name="start", model="dropout", sampler="tpe", source="sweeps/start.py",
                 space=Space.from_dict({"parameters": {
                     "dropout_rate": {"type": "float", "low": 0.1, "high": 0.6},
                     "filters": {"choices": [4, 6]}}}),
                 data=Data(source=str(source), validation=0.25),
                 budget=Budget(epochs=1, batch_size=8), objective=Objective("val_loss"),
                 trials=trials, workers=1, seed=3,
                 options={"optuna": {"start": [{"dropout_rate": 0.37}]}})


def test_a_start_point_is_the_first_trial_and_is_queued_only_when_the_study_is_made(
        tiny_data, tmp_path):
    from cifar_search.engines.optuna.coordinator import Coordinator

    workspace = Workspace.at(tmp_path / "ws")
    Coordinator(started(tiny_data, 1), workspace, say=lambda line: None).run()
    Coordinator(started(tiny_data, 2), workspace, say=lambda line: None).run()  # resumed
    study = optuna.load_study(study_name="start", storage=workspace.optuna_url)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 2
    assert study.trials[0].params["dropout_rate"] == 0.37
    assert study.trials[0].params["filters"] in (4, 6)  # left out: drawn by the sampler
    assert study.trials[1].params["dropout_rate"] != 0.37

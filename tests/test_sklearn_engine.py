"""The sklearn engine: scikeras KerasClassifier in GridSearchCV / RandomizedSearchCV.

Pure parts (labels, routing, distributions, ranks, checks) are table-driven; the searches train
tiny models for one epoch on the generated images of ``tiny_data`` (2 folds), then read MLflow.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cifar_search import Budget, Compute, ConfigError, Data, Objective, Space, Sweep
from cifar_search.engines.sklearn import engine
from cifar_search.workspace import Workspace

OPTIMIZER_GRID = {
    "optimizer": {"grid": ["sgd", "rmsprop", "adam"]},
    "momentum": {"grid": [0.0, 0.9], "when": {"optimizer": "sgd"}},
    "filters": 4,
    "units": 8,
}


def make_sweep(parameters, source=None, **settings):
    """A small sklearn-engine sweep of the intro CNN: 1 epoch, 2 folds."""
    options = dict(name="tiny-sk", model="intro", budget=Budget(epochs=1, batch_size=16),
                   objective=Objective("val_accuracy"), sampler="grid", engine="sklearn", cv=2,
                   n_jobs=1, seed=3)
    options.update(settings)
    if source is not None:
        options["data"] = Data(source=str(source))
    return Sweep(space=Space.from_dict({"parameters": parameters}), **options)


def client_for(workspace: Workspace):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=workspace.mlflow_url)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    return Workspace.at(tmp_path_factory.mktemp("sk") / "ws")


@pytest.fixture(scope="module")
def fixed_run(workspace, tiny_data):
    sweep = make_sweep(OPTIMIZER_GRID, tiny_data)
    lines: list[str] = []
    return sweep, engine.run_search(sweep, workspace, say=lines.append), lines


@pytest.fixture(scope="module")
def as_written_run(workspace, tiny_data):
    sweep = make_sweep({"optimizer": {"grid": ["sgd", "rmsprop", "adam"]}, "filters": 4,
                        "units": 8}, tiny_data, as_written=True)
    lines: list[str] = []
    return sweep, engine.run_search(sweep, workspace, say=lines.append), lines


# --------------------------------------------------------------------------------------------
# Pure parts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("params, swept, expected", [
    ({"optimizer": "sgd", "momentum": 0.9, "units": 8}, ["optimizer", "momentum"],
     "optimizer=sgd, momentum=0.9"),
    ({"optimizer": "adam", "units": 8}, ["optimizer", "momentum"], "optimizer=adam"),
    ({"learning_rate": 0.000123456789}, ["learning_rate"], "learning_rate=0.0001235"),
    ({"learning_rate": np.float64(0.01)}, ["learning_rate"], "learning_rate=0.01"),
    ({"momentum": 0.0}, ["momentum"], "momentum=0"),
    ({"batch_norm": True, "depth": np.int64(3)}, ["depth", "batch_norm"],
     "depth=3, batch_norm=True"),
    ({"units": 8}, [], "(defaults)"),
])
def test_candidate_label(params, swept, expected):
    assert engine.candidate_label(params, swept) == expected


@pytest.mark.parametrize("params, as_written, expected", [
    ({"optimizer": "sgd", "momentum": 0.9, "dropout_rate": 0.2, "batch_size": 16}, False,
     {"model__optimizer": "sgd", "model__momentum": 0.9, "model__dropout_rate": 0.2,
      "batch_size": 16}),
    ({"optimizer": "sgd", "learning_rate": 0.1, "dropout_rate": 0.2}, True,
     {"optimizer": "SGD", "optimizer__learning_rate": 0.1, "model__dropout_rate": 0.2}),
])
def test_estimator_params_round_trip(params, as_written, expected):
    routed = engine.to_estimator_params(params, as_written)
    assert routed == expected
    assert engine.from_estimator_params({**routed, "random_state": 7}, as_written) == params


def test_distributions_translate_each_parameter_type():
    from scipy import stats

    space = Space.from_dict({"parameters": {
        "activation": "relu",
        "optimizer": {"choices": ["sgd", "adam"]},
        "units": {"type": "int", "low": 8, "high": 32, "step": 8},
        "filters": {"type": "int", "low": 4, "high": 64, "log": True},
        "dropout_rate": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.25},
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "weight_decay": {"type": "float", "low": 0.0, "high": 0.01},
    }})
    dists = engine.distributions(space)
    assert dists["model__activation"] == ["relu"]
    assert dists["model__optimizer"] == ["sgd", "adam"]
    assert dists["model__units"] == [8, 16, 24, 32]
    assert dists["model__filters"] == engine.LogInt(4, 64)
    assert dists["model__dropout_rate"] == [0.0, 0.25, 0.5]
    assert isinstance(dists["model__learning_rate"].dist, type(stats.loguniform))
    assert dists["model__learning_rate"].support() == pytest.approx((1e-4, 1e-1))
    assert dists["model__weight_decay"].support() == pytest.approx((0.0, 0.01))
    draws = [engine.LogInt(4, 64).rvs(random_state=seed) for seed in range(200)]
    assert min(draws) >= 4 and max(draws) <= 64 and all(isinstance(d, int) for d in draws)
    assert sum(d < 16 for d in draws) > 60  # log-uniform: half the draws below sqrt(4*64)
    assert engine.distributions(space, as_written=True)["optimizer"] == ["SGD", "Adam"]


def test_conditional_random_space_is_refused():
    space = Space.from_dict({"parameters": OPTIMIZER_GRID}, source="spaces/opt.yaml")
    with pytest.raises(ConfigError) as info:
        engine.distributions(space)
    assert str(info.value) == (
        "spaces/opt.yaml: momentum: when={'optimizer': 'sgd'} is not allowed with engine "
        "'sklearn' and sampler 'random'; RandomizedSearchCV cannot sample conditional "
        "parameters: use engine 'optuna', or sampler 'grid'")


@pytest.mark.parametrize("means, expected", [
    ([0.5, 0.7, 0.5, math.nan], [2, 1, 2, 4]),
    ([-1.2, -0.9], [2, 1]),
    ([math.nan, math.nan], [1, 1]),
    ([], []),
])
def test_ranks_follow_sklearn(means, expected):
    assert engine.ranks(means) == expected


@pytest.mark.parametrize("settings, message", [
    (dict(budget=Budget(epochs=1, patience=2)),
     "budget.patience: 2 is not allowed with engine 'sklearn'; every candidate trains "
     "budget.epochs epochs in each fold, with no validation split to stop on: use patience=None"),
    (dict(compute=Compute(mixed_precision=True)),
     "compute: Compute(mixed_precision=True, xla=None, gpu_memory_mb=None, steps_per_execution=16) "
     "is not allowed with "
     "engine 'sklearn'; it trains with the Keras defaults: use Compute() or engine 'optuna'"),
    (dict(sampler="random", trials=2),
     "momentum: when={'optimizer': 'sgd'} is not allowed with engine 'sklearn' and sampler "
     "'random'; RandomizedSearchCV cannot sample conditional parameters: use engine 'optuna', "
     "or sampler 'grid'"),
])
def test_check_sweep_refuses_what_the_engine_cannot_honour(settings, message):
    with pytest.raises(ConfigError) as info:
        engine.check_sweep(make_sweep(OPTIMIZER_GRID, **settings))
    assert str(info.value) == message


@pytest.mark.parametrize("name, value", [("lr_schedule", "cosine"), ("label_smoothing", 0.1)])
def test_training_parameters_the_model_function_ignores_are_refused(name, value):
    with pytest.raises(ConfigError) as info:
        engine.check_sweep(make_sweep({**OPTIMIZER_GRID, name: value}))
    assert str(info.value) == (
        f"space: {name!r} is not allowed with engine 'sklearn'; its candidates train at a "
        "constant learning rate on plain cross-entropy, as the lesson's did: use engine 'optuna'")


def test_too_many_folds_are_refused_before_anything_is_recorded(tiny_data, tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    sweep = make_sweep(OPTIMIZER_GRID, tiny_data, cv=7)
    with pytest.raises(ConfigError) as info:
        engine.run_search(sweep, workspace, say=lambda line: None)
    assert str(info.value) == (
        "cv: cv=7 folds need at least 7 images of every class, but class 'c0' has 6 of the 60 "
        "images used; lower cv or use more images (data.subset)")
    assert client_for(workspace).get_experiment_by_name(sweep.name) is None


def test_estimator_is_a_classifier_for_sklearn():
    from sklearn.base import clone, is_classifier
    from sklearn.utils import get_tags

    estimator = engine.build_estimator(make_sweep(OPTIMIZER_GRID), (32, 32, 3), 10)
    assert is_classifier(estimator) and get_tags(estimator).estimator_type == "classifier"
    copy = clone(estimator.set_params(model__optimizer="sgd"))
    assert copy.get_params()["model__optimizer"] == "sgd"
    assert copy.get_params()["epochs"] == 1 and copy.get_params()["random_state"] == 3


def test_worker_threads_reach_the_workers_and_are_restored(monkeypatch):
    import joblib

    for name in engine.THREAD_VARS:
        monkeypatch.delenv(name, raising=False)
    with engine._worker_threads(2):
        seen = joblib.Parallel(n_jobs=2)(
            joblib.delayed(os.environ.get)(name) for name in engine.THREAD_VARS)
    assert seen == ["1", "1", "1"]
    assert all(name not in os.environ for name in engine.THREAD_VARS)


def test_latest_table_without_runs(tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    assert engine.latest_table(workspace, "nothing-here", "fixed") is None
    with pytest.raises(ValueError, match="variant='lesson' is not allowed; variants are "
                                         "fixed, as_written"):
        engine.latest_table(workspace, "nothing-here", "lesson")


# --------------------------------------------------------------------------------------------
# Searches that train
# --------------------------------------------------------------------------------------------


def test_fixed_mode_trains_the_optimizer_each_candidate_asks_for(fixed_run):
    sweep, result, lines = fixed_run
    trained = dict(zip(result.table["candidate"], result.table["trained_optimizer"]))
    assert trained == {"optimizer=sgd, momentum=0": "SGD", "optimizer=sgd, momentum=0.9": "SGD",
                       "optimizer=rmsprop": "RMSprop", "optimizer=adam": "Adam"}
    assert (result.table["trained_optimizer"] == result.table["requested_optimizer"]).all()
    rates = dict(zip(result.table["candidate"], result.table["trained_learning_rate"]))
    assert rates["optimizer=sgd, momentum=0"] == pytest.approx(0.01)  # each Keras default
    assert rates["optimizer=adam"] == pytest.approx(0.001)
    assert lines[-1] == f"Best: {result.best['mean_score']:.4f} using {result.best['candidate']}"
    assert not any(line.startswith("note:") for line in lines)


def test_grid_candidates_equal_the_optuna_grid(fixed_run):
    sweep, result, _ = fixed_run
    assert [json.loads(p) for p in result.table["params"]] == sweep.space.grid()
    assert len(result.table) == 4
    assert (result.table["fits"] == 2).all() and (result.table["failed_fits"] == 0).all()
    assert result.best["rank"] == 1
    assert list(result.table["rank"]) == engine.ranks(list(result.table["mean_score"]))
    assert result.table["objective"].tolist() == result.table["mean_score"].tolist()


def test_mlflow_holds_a_parent_and_a_child_run_per_candidate(fixed_run, workspace):
    sweep, result, _ = fixed_run
    client = client_for(workspace)
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.info.run_name == "tiny-sk-sklearn"
    assert {k: parent.data.tags[k] for k in ("cifar_search.kind", "cifar_search.engine",
                                             "cifar_search.variant")} == {
        "cifar_search.kind": "study", "cifar_search.engine": "sklearn",
        "cifar_search.variant": "fixed"}
    assert {k: parent.data.params[k] for k in ("cv", "n_jobs", "repeats", "scoring")} == {
        "cv": "2", "n_jobs": "1", "repeats": "1", "scoring": "accuracy"}
    assert parent.data.metrics["best_score"] == pytest.approx(result.best["mean_score"])
    artifacts = {a.path for a in client.list_artifacts(result.parent_run_id)}
    assert {"cv_results.csv", "candidates.csv", "candidate_scores.png",
            "sweep.json"} <= artifacts
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{result.parent_run_id}'")
    assert sorted(run.info.run_id for run in children) == sorted(result.table["run_id"])
    for run in children:
        row = result.table[result.table["run_id"] == run.info.run_id].iloc[0]
        assert run.info.status == "FINISHED"
        assert run.data.tags["trained_optimizer"] == row["trained_optimizer"]
        assert run.data.tags["requested_optimizer"] == row["requested_optimizer"]
        assert run.data.params["optimizer"] == row["optimizer"]
        assert run.data.metrics["rank"] == row["rank"]
        history = client.get_metric_history(run.info.run_id, "fold_score")
        assert [m.step for m in sorted(history, key=lambda m: m.step)] == [0, 1]
    table = engine.latest_table(workspace, sweep.name, "fixed")
    assert table["candidate"].tolist() == result.table["candidate"].tolist()


def test_as_written_mode_trains_adam_whatever_is_asked(as_written_run, workspace):
    sweep, result, lines = as_written_run
    assert result.table["trained_optimizer"].tolist() == ["Adam", "Adam", "Adam"]
    assert result.table["requested_optimizer"].tolist() == ["SGD", "RMSprop", "Adam"]
    assert result.table["trained_learning_rate"].tolist() == pytest.approx([0.001] * 3)
    assert any(line.startswith("note: 2 of 3 candidates trained with another optimizer")
               for line in lines)
    parent = client_for(workspace).get_run(result.parent_run_id)
    assert parent.info.run_name == "tiny-sk-sklearn-as-written"
    assert parent.data.tags["cifar_search.variant"] == "as_written"
    table = engine.latest_table(workspace, sweep.name, "as_written")
    assert table["trained_optimizer"].tolist() == ["Adam", "Adam", "Adam"]


def test_repeats_fit_every_candidate_on_folds_times_seeds(tiny_data, tmp_path):
    sweep = make_sweep({"optimizer": {"grid": ["sgd", "adam"]}, "filters": 4, "units": 8},
                       tiny_data, repeats=2, objective=Objective("val_loss"))
    result = engine.run_search(sweep, Workspace.at(tmp_path / "ws"), say=lambda line: None)
    assert result.table["fits"].tolist() == [4, 4]
    assert len(result.cv_results) == 4  # candidates x seeds
    seeds = sorted(set(result.cv_results["param_random_state"]))
    assert seeds == engine._seeds(sweep) and len(seeds) == 2
    for row in result.table.to_dict("records"):
        scores = json.loads(row["fit_scores"])
        assert len(scores) == 4
        assert row["mean_score"] == pytest.approx(np.mean(scores))
        assert row["std_score"] == pytest.approx(np.std(scores))
        assert row["objective"] == pytest.approx(-row["mean_score"])  # log loss
        assert row["mean_score"] < 0  # neg_log_loss


def test_random_sampler_draws_trials_candidates_with_two_jobs(tiny_data, tmp_path):
    from sklearn.model_selection import ParameterSampler

    sweep = make_sweep({"optimizer": {"choices": ["sgd", "adam"]},
                        "learning_rate": {"type": "float", "low": 1e-3, "high": 1e-1,
                                          "log": True},
                        "filters": 4, "units": 8},
                       tiny_data, sampler="random", trials=2, n_jobs=2)
    lines: list[str] = []
    result = engine.run_search(sweep, Workspace.at(tmp_path / "ws"), say=lines.append)
    assert lines[0].startswith("RandomizedSearchCV (fixed): 2 candidates x 2 folds x 1 seed(s) "
                               "= 4 fits on 60 images, 2 job(s)")
    drawn = [engine.from_estimator_params(p) for p in ParameterSampler(
        engine.distributions(sweep.space), 2, random_state=sweep.seed)]
    got = [json.loads(p) for p in result.table["params"]]
    assert [p["optimizer"] for p in got] == [p["optimizer"] for p in drawn]
    assert [p["learning_rate"] for p in got] == pytest.approx([p["learning_rate"] for p in drawn])
    assert result.table["trained_learning_rate"].tolist() == pytest.approx(
        [p["learning_rate"] for p in drawn], rel=1e-5)
    assert (result.table["trained_optimizer"] == result.table["requested_optimizer"]).all()


def test_a_failing_candidate_scores_nan_ranks_last_and_the_search_goes_on(tiny_data, tmp_path,
                                                                        monkeypatch):
    from cifar_search import TrialError, models

    build = models.build_model

    def fragile(family, params, input_shape, num_classes):
        if params.get("units") == 9:
            raise TrialError("units=9 cannot be built")
        return build(family, params, input_shape, num_classes)

    monkeypatch.setattr(models, "build_model", fragile)
    workspace = Workspace.at(tmp_path / "ws")
    sweep = make_sweep({"units": {"grid": [9, 8]}, "filters": 4}, tiny_data)
    lines: list[str] = []
    result = engine.run_search(sweep, workspace, say=lines.append)
    failed, ok = result.table.to_dict("records")
    assert failed["failed_fits"] == 2 and math.isnan(failed["mean_score"])
    assert pd.isna(failed["trained_optimizer"]) and failed["rank"] == 2
    assert ok["failed_fits"] == 0 and ok["rank"] == 1 and result.best["candidate"] == "units=8"
    assert ("warning: 2 fits failed; their scores are NaN (details in failures.txt on the "
            "MLflow run)") in lines
    client = client_for(workspace)
    run = client.get_run(failed["run_id"])
    assert run.info.status == "FAILED" and run.data.tags["trained_optimizer"] == ""
    assert client.get_run(result.parent_run_id).info.status == "FINISHED"
    folder = client.download_artifacts(result.parent_run_id, "failures.txt", str(tmp_path))
    assert "TrialError: units=9 cannot be built" in Path(folder).read_text()


@pytest.mark.parametrize("error, status", [(KeyboardInterrupt(), "KILLED"),
                                           (RuntimeError("boom"), "FAILED")])
def test_an_interrupted_or_failing_search_ends_its_parent_run(tiny_data, tmp_path, monkeypatch,
                                                              error, status):
    def stop(*args):
        raise error

    monkeypatch.setattr(engine, "_fit", stop)
    workspace = Workspace.at(tmp_path / "ws")
    sweep = make_sweep(OPTIMIZER_GRID, tiny_data)
    with pytest.raises(type(error)):
        engine.run_search(sweep, workspace, say=lambda line: None)
    client = client_for(workspace)
    experiment = client.get_experiment_by_name(sweep.name)
    (parent,) = client.search_runs([experiment.experiment_id])
    assert parent.info.status == status
    assert parent.data.tags["fail_reason"] == (
        "interrupted" if status == "KILLED" else "RuntimeError: boom")
    assert engine.latest_table(workspace, sweep.name) is None

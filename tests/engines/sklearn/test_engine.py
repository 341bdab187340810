"""The sklearn engine's search: checks, the plug-in, and searches that train.

The searches train tiny models for one epoch on the generated images of ``tiny_data`` (2 folds),
then read MLflow.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cifar_search import Budget, Compute, ConfigError, Objective
from cifar_search.engines.sklearn import SklearnEngine, engine, estimator, params, results
from cifar_search.errors import NoStudyError, SweepBusyError
from cifar_search.execution.threads import THREAD_VARS
from cifar_search.workspace import Workspace
from tests.engines.sklearn.sweeps import OPTIMIZER_GRID, client_for, make_sweep

pytestmark = pytest.mark.processes


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
# Checks, threads, reading back (no training)
# --------------------------------------------------------------------------------------------


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
        "options.sklearn.cv: cv=7 folds need at least 7 images of every class, but class 'c0' "
        "has 6 of the 60 images used; lower cv or use more images (data.subset)")
    assert client_for(workspace).get_experiment_by_name(sweep.name) is None


def test_worker_threads_reach_the_workers_and_are_restored(monkeypatch):
    import joblib

    for name in THREAD_VARS:
        monkeypatch.delenv(name, raising=False)
    with engine._worker_threads(2):
        seen = joblib.Parallel(n_jobs=2)(
            joblib.delayed(os.environ.get)(name) for name in THREAD_VARS)
    assert seen == ["1", "1", "1"]
    assert all(name not in os.environ for name in THREAD_VARS)


def test_latest_table_without_runs(tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    assert engine.latest_table(workspace, "nothing-here", "fixed") is None
    with pytest.raises(ValueError, match="variant='lesson' is not allowed; variants are "
                                         "fixed, as_written"):
        engine.latest_table(workspace, "nothing-here", "lesson")


def test_the_plugin_runs_under_the_sweep_lock_and_says_how_to_compare(tmp_path, monkeypatch):
    workspace = Workspace.at(tmp_path / "ws")
    sweep = dataclasses.replace(make_sweep(OPTIMIZER_GRID, name="locked"),
                                source="sweeps/locked.py")
    lines: list[str] = []

    def fake_run_search(given, where, say):
        with pytest.raises(SweepBusyError, match="sweep 'locked' is already running"):
            where.lock(given.name)
        say("searched")
        return engine.SearchResult(pd.DataFrame({"candidate": ["a", "b"]}), {}, "run", 12.4,
                                   pd.DataFrame())

    monkeypatch.setattr(engine, "run_search", fake_run_search)
    report = SklearnEngine().run(sweep, workspace, lines.append)
    assert lines == ["searched"] and not report.interrupted
    assert report.lines == ["2 candidates cross-validated in 12 s; compare the engines: "
                            "python -m cifar_search compare sweeps/locked.py"]
    workspace.lock(sweep.name).close()  # released


def test_the_plugin_has_no_candidates_before_a_run(tmp_path):
    found = SklearnEngine().candidates(make_sweep(OPTIMIZER_GRID), Workspace.at(tmp_path / "ws"))
    assert [(c.label, c.table, c.flags) for c in found] == [
        ("sklearn", None, "--engine sklearn"),
        ("as-written", None, "--engine sklearn --as-written")]
    assert found[0].scoring == "2-fold cross-validation" and not found[1].scoring


def test_the_plugin_keeps_no_study_and_cannot_resume(tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    sweep = dataclasses.replace(make_sweep(OPTIMIZER_GRID), source="sweeps/grid.py")
    assert SklearnEngine().study(sweep, workspace) is None
    with pytest.raises(NoStudyError) as info:
        SklearnEngine().check_resumable(sweep, workspace)
    assert str(info.value) == (
        "sweeps/grid.py: engine 'sklearn' cannot resume (GridSearchCV fits every candidate in "
        "one go; each run is a new search); start one with python -m cifar_search run "
        "sweeps/grid.py --engine sklearn")


# --------------------------------------------------------------------------------------------
# Searches that train
# --------------------------------------------------------------------------------------------


def test_a_search_leaves_tensorflows_op_determinism_as_it_found_it(fixed_run):
    from tensorflow.python.framework import config

    assert not config.is_op_determinism_enabled()  # scikeras turns it on for each fit


def test_fixed_mode_trains_the_optimizer_each_candidate_asks_for(fixed_run):
    sweep, result, lines = fixed_run
    trained = dict(zip(result.table["candidate"], result.table["trained_optimizer"],
                       strict=True))
    assert trained == {"optimizer=sgd, momentum=0": "SGD", "optimizer=sgd, momentum=0.9": "SGD",
                       "optimizer=rmsprop": "RMSprop", "optimizer=adam": "Adam"}
    assert (result.table["trained_optimizer"] == result.table["requested_optimizer"]).all()
    rates = dict(zip(result.table["candidate"], result.table["trained_learning_rate"],
                     strict=True))
    assert rates["optimizer=sgd, momentum=0"] == pytest.approx(0.01)  # each Keras default
    assert rates["optimizer=adam"] == pytest.approx(0.001)
    assert lines[-1] == f"Best: {result.best['mean_score']:.4f} using {result.best['candidate']}"
    assert not any(line.startswith("note:") for line in lines)


def test_the_verdict_over_folds_is_said_drawn_and_described(fixed_run, workspace):
    sweep, result, lines = fixed_run
    start = next(i for i, line in enumerate(lines) if line.startswith("verdict: "))
    assert lines[start + 1] == "  P(best)  accuracy (scores)"
    assert all(" (2)  optimizer=" in line for line in lines[start + 2:start + 6])
    assert lines[start + 6].startswith("  (10000 draws of each candidate's mean")
    client = client_for(workspace)
    assert "verdict.png" in {a.path for a in client.list_artifacts(result.parent_run_id)}
    note = client.get_run(result.parent_run_id).data.tags["mlflow.note.content"]
    assert note.startswith("Search **tiny-sk** (")
    assert "**Verdict:** " + lines[start].removeprefix("verdict: ") in note


def test_grid_candidates_equal_the_optuna_grid(fixed_run):
    sweep, result, _ = fixed_run
    assert [json.loads(p) for p in result.table["params"]] == sweep.space.grid()
    assert len(result.table) == 4
    assert (result.table["fits"] == 2).all() and (result.table["failed_fits"] == 0).all()
    assert result.best["rank"] == 1
    assert list(result.table["rank"]) == results.ranks(list(result.table["mean_score"]))
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


def test_the_plugin_offers_both_variants_to_compare(fixed_run, as_written_run, workspace):
    sweep, fixed, _ = fixed_run
    _, as_written, _ = as_written_run
    found = {c.label: c for c in SklearnEngine().candidates(sweep, workspace)}
    assert list(found) == ["sklearn", "as-written"]
    for label, result in (("sklearn", fixed), ("as-written", as_written)):
        table = found[label].table
        assert table["candidate"].tolist() == result.table["candidate"].tolist()
        assert table["mean_score"].tolist() == pytest.approx(result.table["objective"].tolist())
        assert table["runs"].tolist() == result.table["fits"].tolist()
        assert table["trained_optimizer"].tolist() == result.table["trained_optimizer"].tolist()


def test_repeats_fit_every_candidate_on_folds_times_seeds(tiny_data, tmp_path):
    sweep = make_sweep({"optimizer": {"grid": ["sgd", "adam"]}, "filters": 4, "units": 8},
                       tiny_data, repeats=2, objective=Objective("val_loss"))
    result = engine.run_search(sweep, Workspace.at(tmp_path / "ws"), say=lambda line: None)
    assert result.table["fits"].tolist() == [4, 4]
    assert len(result.cv_results) == 4  # candidates x seeds
    seeds = sorted(set(result.cv_results["param_random_state"]))
    assert seeds == estimator.seeds(sweep) and len(seeds) == 2
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
    drawn = [params.from_estimator_params(p) for p in ParameterSampler(
        params.distributions(sweep.space), 2, random_state=sweep.seed)]
    got = [json.loads(p) for p in result.table["params"]]
    assert [p["optimizer"] for p in got] == [p["optimizer"] for p in drawn]
    assert [p["learning_rate"] for p in got] == pytest.approx([p["learning_rate"] for p in drawn])
    assert result.table["trained_learning_rate"].tolist() == pytest.approx(
        [p["learning_rate"] for p in drawn], rel=1e-5)
    assert (result.table["trained_optimizer"] == result.table["requested_optimizer"]).all()


def test_a_failing_candidate_scores_nan_ranks_last_and_the_search_goes_on(tiny_data, tmp_path,
                                                                        monkeypatch):
    from cifar_search import TrialError
    from cifar_search.model import build as models

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

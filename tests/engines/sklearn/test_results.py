"""``cv_results_`` as a candidates table, ranks, labels and compare's columns (pure)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from cifar_search import Objective
from cifar_search.engines.sklearn import results
from cifar_search.search.labels import candidate_label
from tests.engines.sklearn.sweeps import make_sweep


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
    assert candidate_label(params, swept) == expected


@pytest.mark.parametrize("means, expected", [
    ([0.5, 0.7, 0.5, math.nan], [2, 1, 2, 4]),
    ([-1.2, -0.9], [2, 1]),
    ([math.nan, math.nan], [1, 1]),
    ([], []),
])
def test_ranks_follow_sklearn(means, expected):
    assert results.ranks(means) == expected


def test_candidates_table_joins_the_seeds_of_a_candidate():
    sweep = make_sweep({"optimizer": {"grid": ["sgd", "adam"]}, "units": 8}, repeats=2,
                       objective=Objective("val_loss"))
    rows = [("sgd", 3), ("sgd", 7924), ("adam", 3), ("adam", 7924)]
    cv_results = {
        "params": [{"model__optimizer": np.str_(o), "random_state": s} for o, s in rows],
        "mean_fit_time": [1.0, 3.0, 2.0, 2.0],
        "split0_test_score": [-0.5, -0.7, -0.2, math.nan],
        "split1_test_score": [-0.6, -0.8, -0.4, -0.3],
        "split0_test_trained_optimizer": [0.0, 0.0, 2.0, math.nan],
        "split1_test_trained_optimizer": [0.0, 0.0, 2.0, 2.0],
        "split0_test_trained_learning_rate": [0.01, 0.01, 0.001, math.nan],
        "split1_test_trained_learning_rate": [0.01, 0.01, 0.001, 0.001],
    }
    table = results.candidates_table(cv_results, sweep)
    assert table.columns[:3].tolist() == ["number", "candidate", "rank"]
    sgd, adam = table.to_dict("records")
    assert sgd["candidate"] == "optimizer=sgd" and sgd["rank"] == 1 and adam["rank"] == 2
    assert json.loads(sgd["fit_scores"]) == [-0.5, -0.6, -0.7, -0.8]
    assert sgd["mean_score"] == pytest.approx(-0.65) and sgd["objective"] == pytest.approx(0.65)
    assert sgd["std_score"] == pytest.approx(np.std([-0.5, -0.6, -0.7, -0.8]))
    assert sgd["mean_fit_time"] == 2.0 and sgd["fits"] == 4 and sgd["failed_fits"] == 0
    assert sgd["trained_optimizer"] == "SGD" == sgd["requested_optimizer"]
    assert adam["failed_fits"] == 1 and math.isnan(adam["mean_score"])
    assert adam["trained_optimizer"] == "Adam"
    assert adam["trained_learning_rate"] == pytest.approx(0.001)
    assert json.loads(adam["params"]) == {"optimizer": "adam"}


def test_report_lines_rank_note_and_best():
    table = pd.DataFrame({
        "number": [0, 1], "candidate": ["optimizer=sgd", "optimizer=adam"], "rank": [2, 1],
        "mean_score": [0.25, 0.5], "std_score": [0.01, 0.02],
        "trained_optimizer": ["Adam", None], "requested_optimizer": ["SGD", "Adam"]})
    assert results.report_lines(table) == [
        "   1  0.5000 ± 0.0200  trained -         optimizer=adam",
        "   2  0.2500 ± 0.0100  trained Adam      optimizer=sgd",
        "note: 1 of 2 candidates trained with another optimizer than they asked for (scikeras "
        "does not recompile a model its build function compiled)",
        "Best: 0.5000 using optimizer=adam",
    ]


def test_compare_table_has_the_objective_sign_and_compare_columns():
    table = results.compare_table(pd.DataFrame({
        "candidate": ["b", "a"], "objective": [0.55, 0.45], "mean_score": [-0.55, -0.45],
        "std_score": [0.01, 0.02], "fits": [3, 3], "rank": [1, 2],
        "trained_optimizer": ["Adam", "SGD"]}))
    assert table.columns.tolist() == ["candidate", "mean_score", "std_score", "runs", "rank",
                                      "trained_optimizer"]
    assert table["mean_score"].tolist() == [0.55, 0.45]
    assert table["runs"].tolist() == [3, 3] and str(table["rank"].dtype) == "Int64"
    assert results.compare_table(None) is None


def test_several_objectives_rank_on_the_pick_and_score_the_others_by_name():
    sweep = make_sweep({"optimizer": {"grid": ["sgd", "adam"]}, "units": 8},
                       objective=Objective(["val_accuracy", "val_loss"], pick="val_loss"))
    cv_results = {
        "params": [{"model__optimizer": np.str_(o)} for o in ("sgd", "adam")],
        "mean_fit_time": [1.0, 1.0],
        "split0_test_score": [-0.5, -0.9], "split1_test_score": [-0.7, -0.9],
        "split0_test_val_accuracy": [0.6, 0.7], "split1_test_val_accuracy": [0.8, 0.7],
        "split0_test_trained_optimizer": [0.0, 2.0], "split1_test_trained_optimizer": [0.0, 2.0],
        "split0_test_trained_learning_rate": [0.01, 0.001],
        "split1_test_trained_learning_rate": [0.01, 0.001],
    }
    sgd, adam = results.candidates_table(cv_results, sweep).to_dict("records")
    assert (sgd["rank"], sgd["objective"]) == (1, pytest.approx(0.6))  # val_loss ranks
    assert (sgd["val_accuracy"], adam["val_accuracy"]) == (pytest.approx(0.7), pytest.approx(0.7))

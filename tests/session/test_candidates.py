"""A study's candidates for compare, from a study built in the test (no training)."""

import optuna
import pytest
from optuna.distributions import CategoricalDistribution

from cifar_search.session.candidates import candidates_table

optuna.logging.set_verbosity(optuna.logging.WARNING)

DIST = {"optimizer": CategoricalDistribution(["sgd", "adam"])}


def add(study, name, value, **attrs):
    study.add_trial(optuna.trial.create_trial(
        params={"optimizer": name}, distributions=DIST, value=value,
        user_attrs={"params": {"optimizer": name, "filters": 4}, **attrs}))


def test_candidates_average_seeds_and_rank():
    study = optuna.create_study(direction="maximize")
    for name, values in (("sgd", [0.3, 0.5]), ("adam", [0.6, 0.6])):
        add(study, name, sum(values) / 2, repeat_values=values)
    table = candidates_table(study, ("optimizer",), "maximize").set_index("candidate")
    assert table.loc["optimizer=sgd", "mean_score"] == pytest.approx(0.4)
    assert table.loc["optimizer=sgd", "std_score"] == pytest.approx(0.1414, abs=1e-4)
    assert table.loc["optimizer=sgd", "runs"] == 2
    assert list(table["rank"]) == [2, 1]


def test_trials_of_one_candidate_are_pooled_and_others_left_out():
    study = optuna.create_study(direction="minimize")
    add(study, "sgd", 0.9)
    add(study, "sgd", 0.7)
    study.add_trial(optuna.trial.create_trial(
        params={"optimizer": "adam"}, distributions=DIST, state=optuna.trial.TrialState.PRUNED,
        user_attrs={"params": {"optimizer": "adam", "filters": 4}}))
    table = candidates_table(study, ("optimizer",), "minimize")
    assert table.to_dict("list") == {"candidate": ["optimizer=sgd"], "mean_score": [0.8],
                                     "std_score": [pytest.approx(0.1414, abs=1e-4)],
                                     "runs": [2], "rank": [1]}


def test_no_complete_trial_gives_an_empty_table():
    table = candidates_table(optuna.create_study(), ("optimizer",), "minimize")
    assert table.empty and list(table.columns) == ["candidate", "mean_score", "std_score",
                                                   "runs", "rank"]

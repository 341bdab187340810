"""A study as tables and plain data, from synthetic trials: no training, no MLflow."""

import math

import optuna
import pandas as pd
import pytest

from cifar_search.tracking import tables
from tests.tracking.studies import add_trial, history_of

optuna.logging.set_verbosity(optuna.logging.WARNING)


# --------------------------------------------------------------------------------------------
# trial_curves: per-epoch metrics of the trials, read through a history function
# --------------------------------------------------------------------------------------------


def test_trial_curves_best_first_labelled_by_trial_and_swept_params():
    study = optuna.create_study(direction="maximize")
    add_trial(study, 0, "relu", 0.40)
    add_trial(study, 1, "tanh", None, state="pruned")
    add_trial(study, 2, "elu", 0.45)
    add_trial(study, 3, "selu", None, state="pruned")  # logged nothing: left out
    add_trial(study, 4, "gelu", None, state="failed")  # failed: left out
    history = history_of({
        "run0": {"val_accuracy": [(1, 0.3), (2, 0.4)]},
        "run1": {"val_accuracy": [(1, 0.1)]},
        "run2": {"val_accuracy": [(1, 0.35), (2, 0.2), (2, 0.45)]},  # last value of a step wins
        "run4": {"val_accuracy": [(1, 0.9)]},
    })
    curves = tables.trial_curves(study, history, "val_accuracy", ("activation",))
    assert curves == [
        ("trial 2: activation=elu", [(1, 0.35), (2, 0.45)], "solid"),
        ("trial 0: activation=relu", [(1, 0.3), (2, 0.4)], "solid"),
        ("trial 1: activation=tanh", [(1, 0.1)], "dashed"),
    ]


def test_trial_curves_beyond_the_best_twelve_are_faint():
    study = optuna.create_study(direction="minimize")
    histories = {}
    for number in range(15):
        add_trial(study, number, "relu", float(number))
        histories[f"run{number}"] = {"val_loss": [(1, 2.0), (2, float(number))]}
    curves = tables.trial_curves(study, history_of(histories), "val_loss", ("activation",))
    assert len(curves) == 15
    assert [c[2] for c in curves] == ["solid"] * 12 + ["faint"] * 3
    assert all(c[0] is None for c in curves[12:])
    # every label names its trial, so equal parameters stay apart
    assert [c[0] for c in curves[:3]] == [f"trial {n}: activation=relu" for n in range(3)]
    assert curves[11][1][-1] == (2, 11.0)


def test_trial_curves_of_repeated_trials_are_the_mean_over_seeds():
    study = optuna.create_study(direction="minimize")
    add_trial(study, 0, "relu", 1.0, repeat_run_ids=["s0", "s1"])
    history = history_of({"run0": {},  # the trial's own run holds no epochs
                          "s0": {"val_loss": [(1, 2.0), (2, 1.0), (3, 0.8)]},
                          "s1": {"val_loss": [(1, 3.0), (2, 2.0)]}})
    (curve,) = tables.trial_curves(study, history, "val_loss", ())
    assert curve == ("trial 0", [(1, 2.5), (2, 1.5), (3, 0.8)], "solid")


def test_curve_labels_format_floats_like_every_other_label():
    study = optuna.create_study(direction="minimize")
    study.add_trial(optuna.trial.create_trial(
        params={"dropout_rate": 0.123456},
        distributions={"dropout_rate": optuna.distributions.FloatDistribution(0.0, 0.5)},
        value=1.0, user_attrs={"params": {"dropout_rate": 0.123456, "filters": 4},
                               "mlflow_run_id": "r"}))
    (curve,) = tables.trial_curves(study, history_of({"r": {"val_loss": [(1, 1.0)]}}),
                                   "val_loss", ("dropout_rate",))
    assert curve[0] == "trial 0: dropout_rate=0.1235"


# --------------------------------------------------------------------------------------------
# trials_table, counts, best_trial, trial_record
# --------------------------------------------------------------------------------------------


def test_trials_table_has_value_std_only_for_repeated_trials():
    study = optuna.create_study()
    add_trial(study, 0, "relu", 1.0)
    assert "value_std" not in tables.trials_table(study).columns
    add_trial(study, 1, "tanh", 2.0, value_std=0.1)
    table = tables.trials_table(study)
    assert table["value_std"].tolist()[1] == 0.1 and pd.isna(table["value_std"][0])


def test_trials_table_columns_and_outcomes():
    study = optuna.create_study()
    add_trial(study, 0, "relu", 1.0, epochs_trained=3, duration_s=1.5)
    add_trial(study, 1, "tanh", None, state="failed", interrupted=True, fail_reason="stopped")
    add_trial(study, 2, "elu", None, state="failed", fail_reason="boom", retry_of=1)
    table = tables.trials_table(study)
    assert list(table.columns) == ["number", "state", "value", "activation", "filters",
                                   "epochs_trained", "duration_s", "fail_reason", "retry_of",
                                   "continues", "duplicate_of", "machine", "mlflow_run_id"]
    assert table["state"].tolist() == ["complete", "interrupted", "failed"]
    assert table["mlflow_run_id"].tolist() == ["run0", "run1", "run2"]
    assert tables.counts(study) == {"complete": 1, "interrupted": 1, "failed": 1}


def test_empty_study():
    study = optuna.create_study()
    table = tables.trials_table(study)
    assert table.empty and list(table.columns) == [
        "number", "state", "value", "epochs_trained", "duration_s", "fail_reason", "retry_of",
        "continues", "duplicate_of", "machine", "mlflow_run_id"]
    assert tables.counts(study) == {} and tables.best_trial(study) is None


def test_best_trial_as_plain_data():
    study = optuna.create_study(direction="maximize")
    add_trial(study, 0, "relu", 0.4)
    add_trial(study, 1, "tanh", 0.6, model_path="/m/1.keras")
    assert tables.best_trial(study) == {
        "number": 1, "value": 0.6, "params": {"activation": "tanh", "filters": 4},
        "mlflow_run_id": "run1", "model_path": "/m/1.keras"}


def test_trial_record_is_json_safe():
    study = optuna.create_study()
    add_trial(study, 0, "relu", math.inf, continues=3)
    assert tables.trial_record(study.trials[0]) == {
        "number": 0, "state": "complete", "params": {"activation": "relu", "filters": 4},
        "value": None, "retry_of": None, "continues": 3, "duplicate_of": None, "machine": None,
        "mlflow_run_id": "run0", "fail_reason": None, "released": False}


@pytest.mark.parametrize("params, expected", [({"units": 8}, {"units": 8}), (None, {"a": 1})])
def test_trial_params_fall_back_to_optuna_params(params, expected):
    attrs = {} if params is None else {"params": params}
    trial = optuna.trial.create_trial(
        params={"a": 1}, distributions={"a": optuna.distributions.IntDistribution(0, 2)},
        value=0.0, user_attrs=attrs)
    assert tables.trial_params(trial) == expected


def test_with_asha_the_highest_rung_is_best_and_the_verdict_and_table_read_its_rung():
    study = optuna.create_study(direction="maximize")
    add_trial(study, 0, "relu", 0.90, rung=0, rung_epochs=1)
    add_trial(study, 1, "tanh", 0.50, rung=0, rung_epochs=1)
    add_trial(study, 2, "elu", 0.80, rung=0, rung_epochs=1)
    add_trial(study, 3, "relu", 0.70, rung=1, rung_epochs=3, promoted_from=0)
    add_trial(study, 4, "elu", 0.70, rung=1, rung_epochs=3, promoted_from=2)
    add_trial(study, 5, "tanh", None, "running", rung=2, rung_epochs=9, promoted_from=3)
    best = tables.best_trial(study)
    assert best["number"] == 3  # rung 1, tie with 4 to the lower number
    assert (best["rung"], best["rung_epochs"], best["promoted_from"]) == (1, 3, 0)
    scores = tables.candidate_scores(study, ("activation",))
    assert sorted(s.values for s in scores) == [(0.7,), (0.7,)]  # rung 1's runs only
    table = tables.trials_table(study).set_index("number")
    assert list(table["rung"]) == [0, 0, 0, 1, 1, 2]
    assert table.loc[4, "promoted_from"] == 2 and table.loc[3, "rung_epochs"] == 3
    assert tables.trial_record(study.trials[3])["promoted_from"] == 0
    plain = optuna.create_study(direction="maximize")
    add_trial(plain, 0, "relu", 0.9)
    assert "rung" not in tables.trials_table(plain) and "rung" not in tables.trial_record(
        plain.trials[0])

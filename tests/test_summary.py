"""Summary tables and plots from synthetic trials: no training, no MLflow server."""

from types import SimpleNamespace

import optuna
import pandas as pd
import pytest

from cifar_search.tracking import plots
from cifar_search.tracking import summary

PNG = b"\x89PNG\r\n\x1a\n"

optuna.logging.set_verbosity(optuna.logging.WARNING)


def assert_png(path):
    assert path.is_file() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG


# --------------------------------------------------------------------------------------------
# plots
# --------------------------------------------------------------------------------------------


def test_learning_curves_draws_solid_dashed_and_faint_lines(tmp_path):
    curves = [
        plots.Curve("activation=relu", [(1, 0.30), (2, 0.41), (3, 0.47)]),
        ("activation=sigmoid", [(1, 0.10), (2, 0.12)], "dashed"),
        ("activation=tanh", [(2, 0.40), (1, 0.33)]),  # any order
        (None, [(1, 0.2), (2, 0.25)], "faint"),
        ("activation=elu", []),  # nothing logged: left out
    ]
    path = plots.learning_curves(curves, "val_accuracy", tmp_path / "curves.png",
                                 "val_accuracy per epoch")
    assert path == tmp_path / "curves.png"
    assert_png(path)


def test_learning_curves_with_many_trials_and_a_single_epoch(tmp_path):
    curves = [(f"dropout_rate={i / 20:.4g}", [(1, 1.0 - i / 40)]) for i in range(12)]
    curves += [(None, [(1, 0.5)], "faint")] * 5
    assert_png(plots.learning_curves(curves, "val_loss", tmp_path / "many.png"))
    assert_png(plots.learning_curves([], "val_loss", tmp_path / "none.png"))


def test_learning_curves_refuses_an_unknown_style(tmp_path):
    with pytest.raises(ValueError, match=r"^curve style 'dotted' is not allowed; styles are "
                                         r"solid, dashed, faint$"):
        plots.learning_curves([("x", [(1, 0.1)], "dotted")], "val_loss", tmp_path / "x.png")


@pytest.mark.parametrize("param, values", [
    ("dropout_rate", [0.15, 0.3, 0.45]),
    ("activation", ["relu", "tanh", "elu"]),
])
def test_objective_vs_param_with_and_without_error_bars(tmp_path, param, values):
    table = pd.DataFrame({"number": [0, 1, 2], param: values, "value": [0.9, 0.8, 0.85]})
    assert_png(plots.objective_vs_param(table, param, "val_loss", tmp_path / "plain.png"))
    table["value_std"] = [0.02, None, 0.05]
    assert_png(plots.objective_vs_param(table, param, "val_loss", tmp_path / "bars.png"))
    assert (tmp_path / "bars.png").read_bytes() != (tmp_path / "plain.png").read_bytes()


# --------------------------------------------------------------------------------------------
# trial_curves: per-epoch metrics of the trials, read through an MLflow client
# --------------------------------------------------------------------------------------------


class FakeClient:
    """``get_metric_history`` from a dict {run_id: {metric: [(step, value), ...]}}."""

    def __init__(self, histories):
        self.histories = histories

    def get_metric_history(self, run_id, metric):
        points = self.histories.get(run_id, {}).get(metric, [])
        return [SimpleNamespace(key=metric, step=step, value=value, timestamp=i)
                for i, (step, value) in enumerate(points)]


def add_trial(study, number, activation, value, state="complete", **attrs):
    params = {"activation": activation, "filters": 4}
    study.add_trial(optuna.trial.create_trial(
        params={"activation": activation},
        distributions={"activation": optuna.distributions.CategoricalDistribution(
            ["relu", "tanh", "elu", "selu", "gelu", "sigmoid", "swish", "leaky_relu"])},
        value=value if state == "complete" else None,
        state=optuna.trial.TrialState.COMPLETE if state == "complete"
        else optuna.trial.TrialState.PRUNED,
        intermediate_values={1: 0.0} if state == "pruned" else None,
        user_attrs={"params": params, "mlflow_run_id": f"run{number}", **attrs}))


def test_trial_curves_best_first_labelled_by_swept_params():
    study = optuna.create_study(direction="maximize")
    add_trial(study, 0, "relu", 0.40)
    add_trial(study, 1, "tanh", None, state="pruned")
    add_trial(study, 2, "elu", 0.45)
    add_trial(study, 3, "selu", None, state="pruned")  # logged nothing: left out
    client = FakeClient({
        "run0": {"val_accuracy": [(1, 0.3), (2, 0.4)]},
        "run1": {"val_accuracy": [(1, 0.1)]},
        "run2": {"val_accuracy": [(1, 0.35), (2, 0.2), (2, 0.45)]},  # last value of a step wins
    })
    curves = summary.trial_curves(study, client, "val_accuracy", ("activation",))
    assert curves == [
        ("activation=elu", [(1, 0.35), (2, 0.45)], "solid"),
        ("activation=relu", [(1, 0.3), (2, 0.4)], "solid"),
        ("activation=tanh", [(1, 0.1)], "dashed"),
    ]


def test_trial_curves_beyond_the_best_twelve_are_faint():
    study = optuna.create_study(direction="minimize")
    histories = {}
    for number in range(15):
        add_trial(study, number, "relu", float(number))
        histories[f"run{number}"] = {"val_loss": [(1, 2.0), (2, float(number))]}
    curves = summary.trial_curves(study, FakeClient(histories), "val_loss", ("activation",))
    assert len(curves) == 15
    assert [c[2] for c in curves] == ["solid"] * 12 + ["faint"] * 3
    assert all(c[0] is None for c in curves[12:])
    # the same label twice: the trial number tells them apart
    assert curves[0][0] == "activation=relu (trial 0)" and curves[11][1][-1] == (2, 11.0)


def test_trial_curves_of_repeated_trials_are_the_mean_over_seeds():
    study = optuna.create_study(direction="minimize")
    add_trial(study, 0, "relu", 1.0, repeat_run_ids=["s0", "s1"])
    client = FakeClient({"run0": {},  # the trial's own run holds no epochs
                         "s0": {"val_loss": [(1, 2.0), (2, 1.0), (3, 0.8)]},
                         "s1": {"val_loss": [(1, 3.0), (2, 2.0)]}})
    (curve,) = summary.trial_curves(study, client, "val_loss", ())
    assert curve == ("trial 0", [(1, 2.5), (2, 1.5), (3, 0.8)], "solid")


def test_trials_table_has_value_std_only_for_repeated_trials():
    study = optuna.create_study()
    add_trial(study, 0, "relu", 1.0)
    assert "value_std" not in summary.trials_table(study).columns
    add_trial(study, 1, "tanh", 2.0, value_std=0.1)
    table = summary.trials_table(study)
    assert table["value_std"].tolist()[1] == 0.1 and pd.isna(table["value_std"][0])

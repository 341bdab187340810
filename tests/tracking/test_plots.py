"""Summary plots as PNG files from synthetic data: no training, no MLflow."""

import logging

import matplotlib.pyplot as plt
from matplotlib.colors import to_hex
import optuna
import pandas as pd
import pytest

from cifar_search.tracking import plots, tables
from tests.tracking.studies import add_trial, history_of
from tests.tracking.test_summary import two_param_study

optuna.logging.set_verbosity(optuna.logging.WARNING)

PNG = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    assert path.is_file() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG


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


def test_optimization_history_has_integer_trial_ticks(tmp_path):
    figure = plots.optimization_history_figure(two_param_study(), "val_loss")
    (axes, *_) = figure.axes
    figure.canvas.draw()
    ticks = axes.get_xticks()
    plt.close(figure)
    assert len(ticks) and all(float(tick).is_integer() for tick in ticks), ticks
    assert_png(plots.optimization_history(two_param_study(), "val_loss", tmp_path / "h.png"))


def texts(figure):
    found = [text.get_text() for axes in figure.axes for text in axes.texts]
    found += [axes.get_title() for axes in figure.axes]
    plt.close(figure)
    return " ".join(found)


def test_importances_say_why_not_with_one_parameter_or_few_trials(tmp_path):
    study = optuna.create_study()
    for number, activation in enumerate(["relu", "tanh", "elu", "selu", "gelu"]):
        add_trial(study, number, activation, 1.0 - number / 10)
    assert "need at least 2 swept parameters; this study sweeps 1 (activation)" in texts(
        plots.param_importances_figure(study, ["activation"], "val_loss"))
    few = optuna.create_study()
    for trial in two_param_study().trials[:3]:
        few.add_trial(trial)
    assert "need at least 4 complete trials; this study has 3" in texts(
        plots.param_importances_figure(few, ["dropout_rate", "activation"], "val_loss"))
    assert_png(plots.param_importances(study, ["activation"], "val_loss", tmp_path / "i.png"))


def test_importances_of_two_parameters_are_optunas_bar_chart():
    figure = plots.param_importances_figure(two_param_study(), ["dropout_rate", "activation"],
                                            "val_loss")
    (axes, *_) = figure.axes
    labels = {label.get_text() for label in axes.get_yticklabels()}
    plt.close(figure)
    assert labels == {"dropout_rate", "activation"}


def test_optuna_plot_refuses_an_unknown_kind(tmp_path):
    with pytest.raises(ValueError, match=r"^Optuna plot 'pareto_front' is not drawn here; "
                                         r"plots are parallel_coordinate, slice, contour, "
                                         r"intermediate_values$"):
        plots.optuna_plot("pareto_front", two_param_study(), ["activation"], "val_loss",
                          tmp_path / "x.png")


def test_learning_curve_legend_names_trials_best_first():
    study = optuna.create_study(direction="maximize")
    for number, (activation, value) in enumerate([("relu", 0.4), ("tanh", 0.6), ("elu", 0.5)]):
        add_trial(study, number, activation, value)
    history = history_of({f"run{n}": {"val_accuracy": [(1, 0.3), (2, 0.4)]} for n in range(3)})
    curves = tables.trial_curves(study, history, "val_accuracy", ("activation",))
    figure = plots.learning_curves_figure(curves, "val_accuracy",
                                          legend_title=tables.CURVE_ORDER)
    legend = figure.axes[0].get_legend()
    labels = [text.get_text() for text in legend.get_texts()]
    title = legend.get_title().get_text()
    plt.close(figure)
    assert labels == ["trial 1: activation=tanh", "trial 2: activation=elu",
                      "trial 0: activation=relu"]
    assert "best first" in title


def test_objective_vs_param_colours_a_numeric_parameter_sequentially_and_rings_the_best():
    table = tables.trials_table(two_param_study())
    figure = plots.objective_vs_param_figure(table, "activation", "val_loss",
                                             colour_by="dropout_rate", best=5)
    maps = [c.get_cmap().name for c in figure.axes[0].collections if c.get_array() is not None]
    labels = figure.axes[0].get_legend_handles_labels()[1]
    plt.close(figure)
    assert maps == ["viridis"] and "best (trial 5)" in labels


def test_confusion_matrix_title_names_the_trial(tmp_path):
    path = plots.confusion_matrix([[3, 1], [2, 4]], ["a", "b"], 0.7, tmp_path / "cm.png",
                                  title="trial 3: dropout_rate=0.3")
    assert_png(path)
    figure = plots.confusion_matrix_figure([[3, 1], [2, 4]], ["a", "b"], 0.7,
                                           title="trial 3: dropout_rate=0.3")
    title = figure.axes[0].get_title()
    plt.close(figure)
    assert title == "trial 3: dropout_rate=0.3\ntest set: accuracy 0.700"


@pytest.mark.parametrize("kind", ["parallel_coordinate", "slice"])
def test_a_study_of_one_trial_draws_without_a_warning(tmp_path, kind):
    """matplotlib warns of identical axis limits: not a line for the user's terminal."""
    import warnings

    study = optuna.create_study()
    study.add_trial(optuna.trial.create_trial(
        params={"dropout_rate": 0.3}, value=1.0,
        distributions={"dropout_rate": optuna.distributions.FloatDistribution(0.0, 0.5)}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plots.optuna_plot(kind, study, ["dropout_rate"], "val_loss",
                                 tmp_path / f"{kind}.png").is_file()


def test_a_contour_over_one_value_of_a_parameter_logs_nothing(tmp_path):
    """Optuna logs "Param … unique value length is less than 2" (e.g. a one-trial sweep)."""
    study = optuna.create_study()
    distributions = {"a": optuna.distributions.FloatDistribution(0.0, 0.5),
                     "b": optuna.distributions.IntDistribution(4, 8)}
    for b in (4, 6):  # one value of a
        study.add_trial(optuna.trial.create_trial(params={"a": 0.3, "b": b}, value=1.0 + b,
                                                  distributions=distributions))
    logged = []
    handler = logging.Handler()
    handler.emit = logged.append
    logging.getLogger("optuna").addHandler(handler)
    try:
        plots.optuna_plot("contour", study, ["a", "b"], "val_loss", tmp_path / "contour.png")
    finally:
        logging.getLogger("optuna").removeHandler(handler)
    assert [record.getMessage() for record in logged] == []
    assert optuna.logging.get_verbosity() == optuna.logging.WARNING  # as it was


def test_the_verdict_plot_draws_each_candidates_scores_and_p_best(tmp_path):
    from cifar_search.search.verdict import Scores, verdict

    result = verdict([Scores("a", (0.7, 0.72, 0.71)), Scores("b", (0.69, 0.73, 0.7)),
                      Scores("c", (0.5, 0.5, 0.5)), Scores("d", (0.4,))], "maximize")
    figure = plots.verdict_figure(result, "val_accuracy")
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts[0].startswith("P(best) 0.") and texts[2] == "P(best) 0.00"
    assert texts[3] == "no verdict"
    plt.close(figure)
    assert_png(plots.verdict(result, "val_accuracy", tmp_path / "verdict.png"))


def test_learning_curves_take_the_runs_colours_and_cross_where_a_pruned_trial_stopped():
    curves = [("trial 0: lr=0.1", [(1, 0.5), (2, 0.4), (3, 0.3)]),
              ("trial 1: lr=0.01", [(1, 0.6), (2, 0.7)], "dashed")]
    figure = plots.learning_curves_figure(
        curves, "val_loss", colours={"trial 0: lr=0.1": "#363dd9", "trial 1: lr=0.01": "#d93636"})
    lines = figure.axes[0].get_lines()
    labels = figure.axes[0].get_legend_handles_labels()[1]
    plt.close(figure)
    assert lines[0].get_color() == "#363dd9"
    crosses = [line for line in lines if line.get_marker() == "X" and len(line.get_xdata())]
    assert [(list(c.get_xdata()), list(c.get_ydata()), c.get_color()) for c in crosses] == [
        ([2], [0.7], "#d93636")]
    assert labels[-1] == "pruned: stopped here"


def test_objective_vs_param_points_take_the_given_colours():
    table = pd.DataFrame({"number": [0, 1], "lr": [0.1, 0.01], "optimizer": ["sgd", "adam"],
                          "value": [0.9, 0.8]})
    figure = plots.objective_vs_param_figure(table, "lr", "val_loss", colour_by="optimizer",
                                             colours={0: "#d93636", 1: "#363dd9"})
    faces = {to_hex(c.get_facecolors()[0]) for c in figure.axes[0].collections}
    labels = figure.axes[0].get_legend_handles_labels()[1]
    plt.close(figure)
    assert faces == {"#d93636", "#363dd9"}
    assert labels == ["optimizer=adam", "optimizer=sgd"]  # the other parameter as shapes

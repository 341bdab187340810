"""Summary plots as PNG files from synthetic data: no training, no MLflow."""

import pandas as pd
import pytest

from cifar_search.tracking import plots

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

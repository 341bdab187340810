"""Summary plots as PNG files (matplotlib, no display). Pure: data in, file out."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import NamedTuple, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

#: Line styles of :func:`learning_curves`: a complete trial, a pruned one, one of the rest.
CURVE_STYLES = ("solid", "dashed", "faint")


def _save(figure: plt.Figure, path: Path) -> Path:
    with warnings.catch_warnings():  # long legends: save with the layout that fits
        warnings.simplefilter("ignore", UserWarning)
        figure.tight_layout()
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def optimization_history(trials: pd.DataFrame, metric: str, direction: str, path: Path) -> Path:
    """Objective of each finished trial against its number, with the best so far."""
    done = trials.dropna(subset=["value"]).sort_values("number")
    figure, axes = plt.subplots(figsize=(6.5, 4))
    axes.scatter(done["number"], done["value"], label=metric, color="tab:blue")
    best = done["value"].cummin() if direction == "minimize" else done["value"].cummax()
    axes.step(done["number"], best, where="post", color="tab:red", label="best so far")
    axes.set(xlabel="trial", ylabel=metric, title="Optimization history")
    axes.legend()
    return _save(figure, path)


def objective_vs_param(trials: pd.DataFrame, param: str, metric: str, path: Path) -> Path:
    """Objective against one parameter, one point per trial (the lesson's val_loss vs dropout).

    A ``value_std`` column (trials scored over several seeds) is drawn as error bars of ±1 std.
    """
    done = trials.dropna(subset=["value", param]).sort_values(param)
    figure, axes = plt.subplots(figsize=(6.5, 4))
    values = done[param]
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    x = values if numeric else values.astype(str)
    if "value_std" in done.columns and done["value_std"].notna().any():
        std = pd.to_numeric(done["value_std"], errors="coerce").fillna(0.0)
        axes.errorbar(x, done["value"], yerr=std, fmt="o", color="tab:blue", capsize=3,
                      label="mean ± std over seeds")
        axes.legend()
    else:
        axes.plot(x, done["value"], "o", color="tab:blue")
    if numeric and len(done):
        means = done.groupby(param)["value"].mean()
        axes.plot(means.index, means.values, "-", color="tab:gray", alpha=0.6)
    axes.set(xlabel=param, ylabel=metric, title=f"{metric} vs {param}")
    return _save(figure, path)


class Curve(NamedTuple):
    """One line of :func:`learning_curves`.

    Attributes:
        label: legend text, e.g. ``"activation=relu"`` (None: no legend entry).
        points: ``(epoch, value)`` pairs.
        style: ``"solid"`` (a complete trial), ``"dashed"`` (a pruned one) or ``"faint"``
            (light grey, never in the legend: the trials beyond the best few).
    """

    label: str | None
    points: Sequence[tuple[float, float]]
    style: str = "solid"


def learning_curves(curves: Sequence[Curve | tuple], metric: str, path: Path,
                    title: str | None = None) -> Path:
    """A metric per epoch, one line per trial (the lesson's validation accuracy per activation).

    Args:
        curves: :class:`Curve` objects or plain ``(label, points)`` / ``(label, points, style)``
            tuples; curves without points are left out.
        metric: the y-axis label.
        path: the PNG to write.
        title: the title (default ``"<metric> per epoch"``).

    Example:
        >>> learning_curves([("activation=relu", [(1, 0.31), (2, 0.42)]),
        ...                  ("activation=tanh", [(1, 0.28)], "dashed")],
        ...                 "val_accuracy", Path("curves.png"))  # doctest: +SKIP
    """
    curves = [Curve(*curve) for curve in curves]
    for curve in curves:
        if curve.style not in CURVE_STYLES:
            raise ValueError(f"curve style {curve.style!r} is not allowed; styles are "
                             + ", ".join(CURVE_STYLES))
    curves = [curve for curve in curves if len(curve.points)]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for curve in curves:  # the faint ones first, under the others
        if curve.style == "faint":
            epochs, values = zip(*sorted(curve.points), strict=True)
            axes.plot(epochs, values, color="0.82", linewidth=1, zorder=1)
    shown = [curve for curve in curves if curve.style != "faint"]
    colours = plt.get_cmap("tab10" if len(shown) <= 10 else "tab20")
    for i, curve in enumerate(shown):
        epochs, values = zip(*sorted(curve.points), strict=True)
        axes.plot(epochs, values, linestyle="--" if curve.style == "dashed" else "-",
                  marker="o" if len(epochs) <= 30 else None, markersize=3,
                  color=colours(i % colours.N), label=curve.label, zorder=2)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set(xlabel="epoch", ylabel=metric, title=title or f"{metric} per epoch")
    if any(curve.label for curve in shown):
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(figure, path)


def confusion_matrix(matrix: Sequence[Sequence[int]], classes: Sequence[str], accuracy: float,
                     path: Path) -> Path:
    """The test-set confusion matrix of the best model."""
    figure, axes = plt.subplots(figsize=(7, 6))
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    ticks = range(len(classes))
    axes.set_xticks(ticks, classes, rotation=45, ha="right")
    axes.set_yticks(ticks, classes)
    top = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            axes.text(j, i, str(count), ha="center", va="center", fontsize=7,
                      color="white" if count > top / 2 else "black")
    axes.set(xlabel="predicted", ylabel="true", title=f"Test set: accuracy {accuracy:.3f}")
    return _save(figure, path)


# --------------------------------------------------------------------------------------------
# sklearn engine: cross-validated candidates
# --------------------------------------------------------------------------------------------


def candidate_scores(table: pd.DataFrame, path: Path, title: str,
                     ylabel: str = "mean CV score (± std over fits)") -> Path:
    """Mean score of each candidate with its std as error bars, in table order; the best
    (``rank`` 1, when the table has ranks) in red.

    Args:
        table: one row per candidate with ``candidate`` (label), ``mean_score``, ``std_score``
            and optionally ``rank``.
        path: the PNG to write.
        title: the plot title.
        ylabel: the y axis label.
    """
    labels = table["candidate"].astype(str).tolist()
    best = (table["rank"] == 1).tolist() if "rank" in table else [False] * len(table)
    figure, axes = plt.subplots(figsize=(max(6.5, 0.45 * len(labels) + 2), 4.5))
    positions = range(len(labels))
    axes.errorbar(positions, table["mean_score"], yerr=table["std_score"], fmt="o",
                  color="tab:blue", ecolor="tab:gray", capsize=4)
    for x, (flag, mean) in enumerate(zip(best, table["mean_score"], strict=True)):
        if flag:
            axes.plot([x], [mean], "o", color="tab:red", markersize=9, zorder=3)
    axes.set_xticks(list(positions), labels, rotation=30 if len(labels) > 3 else 0,
                    ha="right" if len(labels) > 3 else "center", fontsize="small")
    axes.set(xlabel="candidate", ylabel=ylabel, title=title)
    return _save(figure, path)


def engine_comparison(table: pd.DataFrame, path: Path, title: str) -> Path:
    """Mean score ± std per candidate, one marker series per engine, side by side.

    Args:
        table: rows are candidates; columns ``(engine, "mean_score")`` and
            ``(engine, "std_score")`` for each engine (see :mod:`cifar_search.reports.compare`).
    """
    engines = list(dict.fromkeys(table.columns.get_level_values(0)))
    labels = table.index.astype(str).tolist()
    figure, axes = plt.subplots(figsize=(max(6.5, 1.2 * len(labels) + 2), 4.5))
    width = 0.8 / max(1, len(engines))
    for i, engine in enumerate(engines):
        offset = (i - (len(engines) - 1) / 2) * width
        std = table[(engine, "std_score")].astype(float).fillna(0.0)
        axes.errorbar([x + offset for x in range(len(labels))],
                      table[(engine, "mean_score")].astype(float), yerr=std, fmt="o",
                      capsize=4, label=engine)
    axes.set_xticks(list(range(len(labels))), labels, rotation=30 if len(labels) > 3 else 0,
                    ha="right" if len(labels) > 3 else "center", fontsize="small")
    axes.set(xlabel="candidate", ylabel="mean score (± std)", title=title)
    axes.legend()
    return _save(figure, path)

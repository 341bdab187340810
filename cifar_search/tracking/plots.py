"""Summary plots as PNG files (matplotlib, no display). Pure: data in, file out.

Optuna's own plots (:mod:`optuna.visualization.matplotlib`) where it has them: optimization
history, parameter importances, parallel coordinates, slices, contours, intermediate values.
Drawn here by hand only what Optuna lacks: the objective against a parameter with error bars,
learning curves, the confusion matrix, the verdict (each top candidate's scores and P(best)).
Each ``X(..., path)`` writes a PNG; ``X_figure(...)`` returns the unsaved figure (for tests)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from cifar_search.tracking.curves import CURVE_STYLES, Curve

if TYPE_CHECKING:
    import optuna

    from cifar_search.search.verdict import Verdict



def _save(figure: plt.Figure, path: Path) -> Path:
    with warnings.catch_warnings():  # long legends: save with the layout that fits
        warnings.simplefilter("ignore", UserWarning)
        figure.tight_layout()
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


#: Fewest complete trials for parameter importances (fANOVA fits a forest to them).
IMPORTANCE_MIN_TRIALS = 4


@contextmanager
def _optuna_style():
    """Optuna's matplotlib plots, their warnings silenced (ExperimentalWarning; matplotlib's
    "identical low and high xlims" of a study of one trial; Optuna's logged "Param … unique
    value length is less than 2" of a contour over one value) and their style
    (``plt.style.use("ggplot")``) kept from the plots drawn after them."""
    import optuna

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings(), plt.rc_context():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.simplefilter("ignore", UserWarning)
            yield optuna.visualization.matplotlib
    finally:
        optuna.logging.set_verbosity(verbosity)


def _figure_of(axes: Any) -> plt.Figure:
    """The figure of what an Optuna plot returns: one Axes or an array of them."""
    first: plt.Axes = axes if isinstance(axes, plt.Axes) else np.asarray(axes).flat[0]
    figure = first.get_figure(root=True)
    if figure is None:
        raise ValueError("the Optuna plot is on no figure")
    return figure


def _note(title: str, text: str) -> plt.Figure:
    """A figure that says, in its place, why a plot is not drawn."""
    figure, axes = plt.subplots(figsize=(6.5, 3))
    axes.set_axis_off()
    axes.set_title(title)
    axes.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=axes.transAxes)
    return figure


def optimization_history_figure(study: optuna.Study, metric: str) -> plt.Figure:
    """Optuna's optimization history (each trial's objective and the best so far), with
    integer trial ticks."""
    with _optuna_style() as vis:
        axes = vis.plot_optimization_history(study, target_name=metric)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("trial")
    return axes.figure


def optimization_history(study: optuna.Study, metric: str, path: Path) -> Path:
    """``optimization_history.png``: see :func:`optimization_history_figure`."""
    return _save(optimization_history_figure(study, metric), path)


def param_importances_figure(study: optuna.Study, swept: Sequence[str],
                             metric: str) -> plt.Figure:
    """fANOVA importances of the swept parameters (seed 0), or a note saying why there are
    none: they need at least two swept parameters and :data:`IMPORTANCE_MIN_TRIALS` complete
    trials."""
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    params = [p for p in swept if all(p in t.params for t in complete)]
    title = "Parameter importances"
    if len(params) < 2:
        return _note(title, f"Importances need at least 2 swept parameters; this study "
                            f"sweeps {len(params)}" + (f" ({', '.join(params)})" if params
                                                       else "") + ".")
    if len(complete) < IMPORTANCE_MIN_TRIALS:
        return _note(title, f"Importances need at least {IMPORTANCE_MIN_TRIALS} complete "
                            f"trials; this study has {len(complete)}.")
    with _optuna_style() as vis:
        axes = vis.plot_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0),
            params=params, target_name=metric)
    return axes.figure


def param_importances(study: optuna.Study, swept: Sequence[str], metric: str,
                      path: Path) -> Path:
    """``param_importances.png``: see :func:`param_importances_figure`."""
    return _save(param_importances_figure(study, swept, metric), path)


#: The plots :func:`optuna_plot` draws.
OPTUNA_PLOTS = ("parallel_coordinate", "slice", "contour", "intermediate_values")


def optuna_plot(kind: str, study: optuna.Study, swept: Sequence[str], metric: str,
                path: Path) -> Path:
    """One of Optuna's plots over the swept parameters: ``"parallel_coordinate"``,
    ``"slice"``, ``"contour"`` (two swept parameters or more) or ``"intermediate_values"``
    (trials that reported epochs).

    Example:
        >>> optuna_plot("slice", study, ["dropout_rate"], "val_loss",
        ...             Path("slice.png"))  # doctest: +SKIP
    """
    if kind not in OPTUNA_PLOTS:
        raise ValueError(f"Optuna plot {kind!r} is not drawn here; plots are "
                         + ", ".join(OPTUNA_PLOTS))
    with _optuna_style() as vis:
        if kind == "intermediate_values":
            axes = vis.plot_intermediate_values(study)
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
            axes.set_xlabel("epoch")
        else:
            axes = getattr(vis, f"plot_{kind}")(study, params=list(swept), target_name=metric)
        figure = _figure_of(axes)
        if kind == "slice":
            figure.set_size_inches(max(6.5, 3.5 * len(swept)), 4)
    return _save(figure, path)


def objective_vs_param(trials: pd.DataFrame, param: str, metric: str, path: Path,
                       colour_by: str | None = None, best: int | None = None,
                       colours: Mapping[int, str] | None = None) -> Path:
    """Objective against one parameter, one point per trial (the lesson's val_loss vs dropout).

    A ``value_std`` column (trials scored over several seeds) is drawn as error bars of ±1 std.

    Args:
        trials: one row per trial with ``number``, ``value``, ``param`` (and ``colour_by``).
        param: the x axis.
        metric: the y axis label.
        path: the PNG to write.
        colour_by: another swept parameter that colours the points: a sequential colormap
            (viridis, with a colour bar) when numeric, a legend of categories otherwise;
            with ``colours``, its categories are marker shapes instead.
        best: the number of the best trial, circled in red.
        colours: a colour per trial number (see :func:`cifar_search.tracking.colours.\
ordered_colours`, in the order of ``param``: the hue follows the plotted parameter, as the
            MLflow UI's run colours do when ``param`` is the one that colours the runs).
    """
    figure = objective_vs_param_figure(trials, param, metric, colour_by, best, colours)
    return _save(figure, path)


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


#: Marker shapes of a categorical parameter's values when colours follow another one.
MARKERS = "osD^vP*X"


def _points_in_colours(axes: plt.Axes, done: pd.DataFrame, x: pd.Series,
                       colours: Mapping[int, str], shape_by: str | None) -> None:
    """Each trial's point in its own colour, shaped by ``shape_by``'s category (a legend of
    shapes) when it has at most :data:`MARKERS` categories."""
    colour = [colours.get(int(number), "tab:blue") for number in done["number"]]
    categories = (list(dict.fromkeys(done[shape_by].astype(str)))
                  if shape_by is not None and shape_by in done.columns else [])
    if not categories or len(categories) > len(MARKERS) or _numeric(done[shape_by]):
        axes.scatter(x, done["value"], c=colour, edgecolors="0.3", linewidths=0.5, zorder=2)
        return
    for marker, category in zip(MARKERS, categories, strict=False):
        rows = (done[shape_by].astype(str) == category).to_numpy()
        axes.scatter(x[rows], done["value"][rows], c=[c for c, r in zip(colour, rows,
                                                                         strict=True) if r],
                     marker=marker, edgecolors="0.3", linewidths=0.5, zorder=2,
                     label=f"{shape_by}={category}")


def objective_vs_param_figure(trials: pd.DataFrame, param: str, metric: str,
                              colour_by: str | None = None, best: int | None = None,
                              colours: Mapping[int, str] | None = None) -> plt.Figure:
    """The figure of :func:`objective_vs_param`."""
    done = trials.dropna(subset=["value", param]).sort_values(param)
    figure, axes = plt.subplots(figsize=(6.5, 4))
    values = done[param]
    numeric = _numeric(values)
    x = values if numeric else values.astype(str)
    if "value_std" in done.columns and done["value_std"].notna().any():
        std = pd.to_numeric(done["value_std"], errors="coerce").fillna(0.0)
        axes.errorbar(x, done["value"], yerr=std, fmt="none", ecolor="tab:gray", capsize=3,
                      label="mean ± std over seeds", zorder=1)
    if colours is not None:
        _points_in_colours(axes, done, x, colours, colour_by if colour_by != param else None)
    elif colour_by is not None and colour_by in done.columns and colour_by != param:
        by = done[colour_by]
        if _numeric(by):
            points = axes.scatter(x, done["value"], c=by, cmap="viridis", zorder=2)
            figure.colorbar(points, ax=axes, label=colour_by)
        else:
            palette = plt.get_cmap("tab10")
            for i, category in enumerate(dict.fromkeys(by.astype(str))):
                rows = (by.astype(str) == category).to_numpy()
                axes.scatter(x[rows], done["value"][rows], color=palette(i % palette.N),
                             label=f"{colour_by}={category}", zorder=2)
    else:
        axes.scatter(x, done["value"], color="tab:blue", zorder=2)
    if numeric and len(done):
        means = done.groupby(param)["value"].mean()
        axes.plot(means.index, means.to_numpy(), "-", color="tab:gray", alpha=0.6, zorder=1)
    if best is not None and (done["number"] == best).any():
        row = done[done["number"] == best].iloc[0]
        axes.scatter([row[param] if numeric else str(row[param])], [row["value"]], s=160,
                     facecolors="none", edgecolors="tab:red", linewidths=2,
                     label=f"best (trial {best})", zorder=3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="small")
    axes.set(xlabel=param, ylabel=metric, title=f"{metric} vs {param}")
    return figure


def learning_curves(curves: Sequence[Curve | tuple], metric: str, path: Path,
                    title: str | None = None, legend_title: str | None = None,
                    colours: Mapping[str, str] | None = None) -> Path:
    """A metric per epoch, one line per trial (the lesson's validation accuracy per activation).

    Args:
        curves: :class:`Curve` objects or plain ``(label, points)`` / ``(label, points, style)``
            tuples, in the order of the legend; curves without points are left out.
        metric: the y-axis label.
        path: the PNG to write.
        title: the title (default ``"<metric> per epoch"``).
        legend_title: the legend's title, saying in what order the curves come (e.g.
            ``"best first"``).
        colours: a colour per curve label (the trial's run colour in the MLflow UI); a
            curve without one takes the next of matplotlib's ``tab10``/``tab20``.

    A pruned trial's curve (dashed) ends in a cross where it stopped.

    Example:
        >>> learning_curves([("activation=relu", [(1, 0.31), (2, 0.42)]),
        ...                  ("activation=tanh", [(1, 0.28)], "dashed")],
        ...                 "val_accuracy", Path("curves.png"))  # doctest: +SKIP
    """
    return _save(learning_curves_figure(curves, metric, title, legend_title, colours), path)


def learning_curves_figure(curves: Sequence[Curve | tuple], metric: str,
                           title: str | None = None, legend_title: str | None = None,
                           colours: Mapping[str, str] | None = None) -> plt.Figure:
    """The figure of :func:`learning_curves`."""
    lines = [Curve(*curve) for curve in curves]
    for curve in lines:
        if curve.style not in CURVE_STYLES:
            raise ValueError(f"curve style {curve.style!r} is not allowed; styles are "
                             + ", ".join(CURVE_STYLES))
    lines = [curve for curve in lines if len(curve.points)]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for curve in lines:  # the faint ones first, under the others
        if curve.style == "faint":
            epochs, values = zip(*sorted(curve.points), strict=True)
            axes.plot(epochs, values, color="0.82", linewidth=1, zorder=1)
    shown = [curve for curve in lines if curve.style != "faint"]
    palette = plt.get_cmap("tab10" if len(shown) <= 10 else "tab20")
    for i, curve in enumerate(shown):
        epochs, values = zip(*sorted(curve.points), strict=True)
        colour = (colours or {}).get(curve.label or "") or palette(i % palette.N)
        axes.plot(epochs, values, linestyle="--" if curve.style == "dashed" else "-",
                  marker="o" if len(epochs) <= 30 else None, markersize=3,
                  color=colour, label=curve.label, zorder=2)
        if curve.style == "dashed":  # where the pruner stopped it
            axes.plot(epochs[-1], values[-1], marker="X", markersize=10, color=colour,
                      markeredgecolor="black", linestyle="none", zorder=3)
    if any(curve.style == "dashed" for curve in shown):
        axes.plot([], [], marker="X", markersize=8, color="0.5", markeredgecolor="black",
                  linestyle="none", label="pruned: stopped here")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set(xlabel="epoch", ylabel=metric, title=title or f"{metric} per epoch")
    if any(curve.label for curve in shown):
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                    title=legend_title, title_fontsize="small")
    return figure


def confusion_matrix(matrix: Sequence[Sequence[int]], classes: Sequence[str], accuracy: float,
                     path: Path, title: str | None = None) -> Path:
    """The test-set confusion matrix of the best model.

    Args:
        matrix: counts, rows the true classes and columns the predicted ones.
        classes: the class names.
        accuracy: the test-set accuracy, in the title.
        path: the PNG to write.
        title: what the model is, e.g. ``"trial 3: dropout_rate=0.3"``; the title reads
            ``"<title>\ntest set: accuracy 0.612"``.
    """
    return _save(confusion_matrix_figure(matrix, classes, accuracy, title), path)


def confusion_matrix_figure(matrix: Sequence[Sequence[int]], classes: Sequence[str],
                            accuracy: float, title: str | None = None) -> plt.Figure:
    """The figure of :func:`confusion_matrix`."""
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
    heading = f"test set: accuracy {accuracy:.3f}"
    axes.set(xlabel="predicted", ylabel="true",
             title=f"{title}\n{heading}" if title else heading[0].upper() + heading[1:])
    return figure


def verdict(result: Verdict, metric: str, path: Path, title: str = "") -> Path:
    """The verdict's top candidates, see :func:`verdict_figure`."""
    return _save(verdict_figure(result, metric, title), path)


def verdict_figure(result: Verdict, metric: str, title: str = "") -> plt.Figure:
    """Each top candidate's scores as points (spread sideways so equal ones show), its mean as
    a bar, annotated with its P(best): the leader red, those within noise of it orange, the
    others grey."""
    figure, axes = plt.subplots(figsize=(max(6.5, 1.3 * len(result.standings) + 2), 4.5))
    for x, standing in enumerate(result.standings):
        colour = ("tab:red" if standing.p_best is not None and standing.p_better is None
                  else "tab:orange" if standing.within_noise else "tab:gray")
        count = len(standing.scores)
        offsets = np.linspace(-0.15, 0.15, count) if count > 1 else np.zeros(count)
        axes.plot(x + offsets, standing.scores, "o", color=colour, alpha=0.7)
        if count:
            axes.hlines(standing.mean, x - 0.25, x + 0.25, color=colour, linewidth=2.5)
        chance = f"P(best) {standing.p_best:.2f}" if standing.p_best is not None \
            else "no verdict"
        axes.annotate(chance, (x, 1.0), xycoords=("data", "axes fraction"),
                      xytext=(0, 4), textcoords="offset points", ha="center",
                      fontsize="small", color=colour)
    labels = [standing.label for standing in result.standings]
    axes.set_xticks(list(range(len(labels))), labels, rotation=30 if len(labels) > 3 else 0,
                    ha="right" if len(labels) > 3 else "center", fontsize="small")
    axes.set_xlim(-0.6, len(labels) - 0.4)
    axes.set(xlabel="candidate, best mean first",
             ylabel=f"{metric}: each score (point), their mean (bar)")
    axes.set_title(title or f"Is the best really better? red: the leader, orange: within "
                   f"noise ({result.draws} draws)", pad=18, fontsize="medium")
    return figure


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


def pareto_front(study: optuna.Study, names: Sequence[str], path: Path) -> Path:
    """Optuna's Pareto-front plot of a study of two or three objectives: every complete trial,
    the front's members highlighted, axes named by the objectives.

    Example:
        >>> pareto_front(study, ["val_accuracy", "params"],
        ...              Path("pareto_front.png"))  # doctest: +SKIP
    """
    with _optuna_style() as vis:
        axes = vis.plot_pareto_front(study, target_names=list(names))
        figure = _figure_of(axes)
    return _save(figure, path)

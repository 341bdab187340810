"""Summary plots as PNG files (matplotlib, no display). Pure: data in, file out."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def _save(figure: plt.Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
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
    """Objective against one parameter, one point per trial (the lesson's val_loss vs dropout)."""
    done = trials.dropna(subset=["value", param]).sort_values(param)
    figure, axes = plt.subplots(figsize=(6.5, 4))
    values = done[param]
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    x = values if numeric else values.astype(str)
    axes.plot(x, done["value"], "o", color="tab:blue")
    if numeric and len(done):
        means = done.groupby(param)["value"].mean()
        axes.plot(means.index, means.values, "-", color="tab:gray", alpha=0.6)
    axes.set(xlabel=param, ylabel=metric, title=f"{metric} vs {param}")
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

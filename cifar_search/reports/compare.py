"""The same search through both engines, side by side: one row per candidate, and for each
engine its mean score, standard deviation, number of runs and rank.

The Optuna engine scores a candidate on a train/validation split (the mean over its seeds when
the sweep repeats trials); the sklearn engine by cross-validation (folds x seeds). The
``as-written`` column is the lesson's own mistake reproduced: its candidates all report the
optimizer that really trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import optuna
import pandas as pd
from optuna.trial import TrialState

from cifar_search.engines.sklearn.engine import candidate_label
from cifar_search.tracking.summary import trial_params

#: Columns of each engine's part of the comparison.
COLUMNS = ["mean_score", "std_score", "runs", "rank"]


def _rank(scores: pd.Series, direction: str) -> pd.Series:
    return scores.rank(ascending=direction == "minimize", method="min").astype("Int64")


def optuna_candidates(study: optuna.Study, swept: Sequence[str], direction: str) -> pd.DataFrame:
    """One row per candidate of a study's complete trials: mean, std over seeds (or over
    trials of the same candidate), number of training runs, rank."""
    rows = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        values = trial.user_attrs.get("repeat_values") or [trial.value]
        rows.append({"candidate": candidate_label(trial_params(trial), swept), "values": values})
    if not rows:
        return pd.DataFrame(columns=["candidate", *COLUMNS])
    table = pd.DataFrame(rows).groupby("candidate", sort=False)["values"].sum().reset_index()
    series = table["values"].map(pd.Series)
    table["mean_score"] = series.map(lambda s: s.mean())
    table["std_score"] = series.map(lambda s: s.std(ddof=1) if len(s) > 1 else float("nan"))
    table["runs"] = series.map(len)
    table["rank"] = _rank(table["mean_score"], direction)
    return table[["candidate", *COLUMNS]]


def sklearn_candidates(table: pd.DataFrame | None) -> pd.DataFrame | None:
    """The sklearn engine's candidates table in the comparison's columns; the score has the
    objective's sign (log loss, not scikit-learn's negative log loss)."""
    if table is None:
        return None
    std = table["std_score"]
    return pd.DataFrame({
        "candidate": table["candidate"], "mean_score": table["objective"], "std_score": std,
        "runs": table["fits"], "rank": table["rank"].astype("Int64"),
        "trained_optimizer": table["trained_optimizer"],
    })


def side_by_side(tables: Mapping[str, pd.DataFrame | None]) -> pd.DataFrame:
    """Engines' candidate tables joined on the candidate: columns (engine, measure)."""
    parts = {}
    for engine, table in tables.items():
        if table is None:
            continue
        columns = [c for c in [*COLUMNS, "trained_optimizer"] if c in table.columns]
        parts[engine] = table.set_index("candidate")[columns]
    if not parts:
        return pd.DataFrame()
    joined = pd.concat(parts, axis=1, join="outer", sort=False)
    joined.index.name = "candidate"
    return joined


def save(table: pd.DataFrame, folder: Path, title: str) -> list[Path]:
    """The comparison as CSV and as a PNG of mean score ± std per candidate per engine."""
    from cifar_search.tracking import plots

    csv = folder / "comparison.csv"
    table.to_csv(csv)
    png = plots.engine_comparison(table, folder / "comparison.png", title)
    return [csv, png]

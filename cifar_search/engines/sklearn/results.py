"""Results of a search: scikit-learn's ``cv_results_`` → one row per candidate, its ranks, the
lines the user reads, and the columns ``compare`` reads. Pure functions (no I/O).

Example:
    >>> ranks([0.5, 0.7, 0.5, float("nan")])
    [2, 1, 2, 4]
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cifar_search.config.families import OPTIMIZERS, TRAINING_DEFAULTS
from cifar_search.config.sweep import Sweep
from cifar_search.engines.sklearn.estimator import SCORING, decode_optimizers
from cifar_search.engines.sklearn.options import SklearnOptions
from cifar_search.engines.sklearn.params import from_estimator_params
from cifar_search.search.labels import candidate_label
from cifar_search.search.verdict import Scores, Verdict, verdict

__all__ = ["candidates_table", "cell_text", "compare_table", "ranks", "report_lines",
           "verdict_of"]


def ranks(means: Sequence[float]) -> list[int]:
    """Ranks of mean scores, 1 = best, ties sharing the lowest rank and NaN last, as
    scikit-learn ranks ``cv_results_``.

    Example:
        >>> ranks([-1.2, -0.9])
        [2, 1]
    """
    from scipy.stats import rankdata

    values = np.asarray(means, dtype=float)
    if len(values) == 0:
        return []
    if np.isnan(values).all():
        return [1] * len(values)
    filled = np.where(np.isnan(values), np.nanmin(values) - 1, values)
    return [int(r) for r in rankdata(-filled, method="min")]


def cell_text(value: Any, missing: str = "") -> str:
    """A table cell as text; ``missing`` for None or NaN (pandas stores a missing str as NaN).

    Example:
        >>> cell_text(float("nan"), "-"), cell_text("SGD")
        ('-', 'SGD')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return str(value)


def _objective(mean: float, scoring: str) -> float:
    """The sweep's metric: accuracy, or the log loss for ``neg_log_loss``."""
    return -mean if scoring.startswith("neg_") else mean


def _candidates(cv_results: Mapping[str, Any], as_written: bool
                ) -> list[tuple[dict[str, Any], list[int]]]:
    """The distinct candidates of ``cv_results_`` in order of first appearance, each with its
    space parameters and its rows (one per seed)."""
    groups: dict[tuple, tuple[dict[str, Any], list[int]]] = {}
    for row, estimator_params in enumerate(cv_results["params"]):
        params = from_estimator_params(estimator_params, as_written)
        key = tuple(sorted((k, repr(v)) for k, v in params.items()))
        groups.setdefault(key, (params, []))[1].append(row)
    return list(groups.values())


def _fit_values(cv_results: Mapping[str, Any], rows: list[int], score: str) -> list[float]:
    """One value per fit of ``score`` (``score``, ``trained_optimizer`` ...) over the rows:
    fit index = seed index x folds + fold."""
    folds = [name for name in cv_results if name.startswith("split")
             and name.endswith("_test_score")]
    return [float(cv_results[f.replace("_score", f"_{score}")][r]) for r in rows for f in folds]


def _candidate_row(number: int, params: dict[str, Any], rows: list[int],
                   cv_results: Mapping[str, Any], sweep: Sweep) -> dict[str, Any]:
    """The table row of one candidate (see :func:`candidates_table`)."""
    scores = _fit_values(cv_results, rows, "score")
    rates = [r for r in _fit_values(cv_results, rows, "trained_learning_rate") if not math.isnan(r)]
    params = {name: params[name] for name in sweep.space.names if name in params}
    mean = float(np.mean(scores))
    return {
        "number": number,
        "candidate": candidate_label(params, sweep.space.swept()),
        "mean_score": mean,
        "std_score": float(np.std(scores)),
        "objective": _objective(mean, SCORING[sweep.objective.chosen_by]),
        "trained_optimizer": decode_optimizers(
            _fit_values(cv_results, rows, "trained_optimizer")),
        "requested_optimizer": OPTIMIZERS[params.get("optimizer",
                                                     TRAINING_DEFAULTS["optimizer"])],
        "trained_learning_rate": float(np.mean(rates)) if rates else math.nan,
        "mean_fit_time": float(np.mean([cv_results["mean_fit_time"][r] for r in rows])),
        "fits": len(scores),
        "failed_fits": sum(math.isnan(s) for s in scores),
        "fit_scores": json.dumps(scores),
        **{other: _objective(float(np.mean(_fit_values(cv_results, rows, other))), SCORING[other])
           for other in sweep.objective.metrics if other != sweep.objective.chosen_by},
        **params,
        "params": json.dumps(params, sort_keys=True),
    }


def candidates_table(cv_results: Mapping[str, Any], sweep: Sweep) -> pd.DataFrame:
    """One row per candidate from ``cv_results_`` (rows of one candidate and several seeds are
    joined): its label, parameters, per-fit scores (fit index = seed index x folds + fold),
    mean, std (over every fit), rank, the optimizer and learning rate that really trained,
    and the mean fit time."""
    table = pd.DataFrame([
        _candidate_row(number, params, rows, cv_results, sweep)
        for number, (params, rows)
        in enumerate(_candidates(cv_results, SklearnOptions.of(sweep).as_written))])
    table.insert(2, "rank", ranks(table["mean_score"].tolist()))
    return table


def report_lines(table: pd.DataFrame) -> list[str]:
    """The candidates by rank, a note when some trained another optimizer than they asked
    for, then the lesson's ``Best: ... using ...`` line."""
    ordered = table.sort_values(["rank", "number"]).to_dict("records")
    lines = [f"{row['rank']:>4}  {row['mean_score']:.4f} ± {row['std_score']:.4f}  "
             f"trained {cell_text(row['trained_optimizer'], '-'):<8}  {row['candidate']}"
             for row in ordered]
    mismatched = table[table["trained_optimizer"].notna()
                       & (table["trained_optimizer"] != table["requested_optimizer"])]
    if len(mismatched):
        lines.append(f"note: {len(mismatched)} of {len(table)} candidates trained with another "
                     "optimizer than they asked for (scikeras does not recompile a model its "
                     "build function compiled)")
    best = ordered[0]
    lines.append(f"Best: {best['mean_score']:.4f} using {best['candidate']}")
    return lines


def verdict_of(table: pd.DataFrame) -> Verdict:
    """Whether the best candidate is really better: each candidate's scores are its fits'
    (folds x seeds, in scikit-learn's sign: higher is better; a failed fit's NaN left out).

    Example:
        >>> verdict_of(pd.DataFrame({"candidate": ["a", "b"], "fit_scores": [
        ...     "[0.5, 0.52, 0.51]", "[0.3, 0.31, 0.29]"]})).standings[0].label
        'a'
    """
    return verdict([Scores(row["candidate"], json.loads(row["fit_scores"]))
                    for row in table.to_dict("records")], "maximize")


def compare_table(table: pd.DataFrame | None) -> pd.DataFrame | None:
    """A candidates table in the columns of ``compare`` (see
    :class:`~cifar_search.engines.base.Candidates`); the score has the objective's sign (log
    loss, not scikit-learn's negative log loss); None stays None.

    Example:
        >>> compare_table(pd.DataFrame({"candidate": ["a"], "objective": [0.4],
        ...     "std_score": [0.1], "fits": [3], "rank": [1], "trained_optimizer": ["SGD"]}))
          candidate  mean_score  std_score  runs  rank trained_optimizer
        0         a         0.4        0.1     3     1               SGD
    """
    if table is None:
        return None
    return pd.DataFrame({
        "candidate": table["candidate"], "mean_score": table["objective"],
        "std_score": table["std_score"], "runs": table["fits"],
        "rank": table["rank"].astype("Int64"), "trained_optimizer": table["trained_optimizer"],
    })

"""A study's candidates for ``compare``: its complete trials grouped by candidate (the swept
parameters), scored on the train/validation split, whichever engine recorded the study.

A candidate's score is the mean over its seeds when the sweep repeats trials (user attribute
``repeat_values``), and over the trials that drew it again otherwise; ``runs`` counts the
training runs behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from cifar_search.search.fidelity import rung_of
from cifar_search.search.labels import candidate_label
from cifar_search.search.states import Attr, StudyAttr, TrialOutcome, outcome_of
from cifar_search.tracking.objectives import seen_as
from cifar_search.tracking.tables import trial_params

if TYPE_CHECKING:
    import optuna

    from cifar_search.config.sweep import Sweep

#: Columns of a candidates table (see :class:`~cifar_search.engines.base.Candidates`).
COLUMNS = ["candidate", "mean_score", "std_score", "runs", "rank"]


def candidates_table(study: optuna.Study, swept: Sequence[str],
                     direction: str) -> pd.DataFrame:
    """One row per candidate of a study's complete trials: mean, std over seeds (or over
    trials of the same candidate), number of training runs, rank (1 is the best). With pruner
    'asha', only the trials at the highest rung reached (a rung's scores mean its epochs).

    Example:
        >>> candidates_table(study, ("optimizer",), "maximize")  # doctest: +SKIP
               candidate  mean_score  std_score  runs  rank
        0  optimizer=sgd         0.4   0.141421     2     2
    """
    rows = []
    complete = [t for t in study.get_trials(deepcopy=False)
                if outcome_of(t) == TrialOutcome.COMPLETE]
    top = max((rung_of(t.user_attrs) for t in complete), default=0)
    for trial in complete:
        if rung_of(trial.user_attrs) == top:  # pruner 'asha': the highest rung's runs only
            values = trial.user_attrs.get(Attr.REPEAT_VALUES) or [trial.value]
            rows.append({"candidate": candidate_label(trial_params(trial), swept),
                         "values": values})
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.DataFrame(rows).groupby("candidate", sort=False)["values"].sum().reset_index()
    series = table["values"].map(pd.Series)
    table["mean_score"] = series.map(lambda s: s.mean())
    table["std_score"] = series.map(lambda s: s.std(ddof=1) if len(s) > 1 else float("nan"))
    table["runs"] = series.map(len)
    table["rank"] = table["mean_score"].rank(ascending=direction == "minimize",
                                             method="min").astype("Int64")
    return table[COLUMNS]


def candidates_of(study: optuna.Study | None,
                  sweep: Sweep) -> tuple[pd.DataFrame | None, str | None]:
    """A study's candidates table and the MLflow parent run that ``compare`` logs on
    (both None: no study yet)."""
    if study is None:
        return None, None
    objective = sweep.objective  # several: the candidates are ranked on the pick
    direction = objective.direction_of(objective.chosen_by)
    table = candidates_table(seen_as(study, direction, objective.metrics.index(
        objective.chosen_by)), sweep.space.swept(), direction)
    return table, study.user_attrs.get(StudyAttr.MLFLOW_PARENT_RUN_ID)

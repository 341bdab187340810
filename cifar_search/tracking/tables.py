"""A study as tables and plain data: the trials table, the best trial, the counts per outcome
and the learning curves. Pure: a study (and, for curves, a function that reads a run's metric
history) in, data out; :mod:`cifar_search.tracking.summary` logs them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import optuna
import pandas as pd

from cifar_search.search.fidelity import RUNG_KEYS, best_key, rung_of, rung_record
from cifar_search.search.labels import candidate_label, params_text
from cifar_search.search.states import Attr, StudyAttr, TrialOutcome, outcome_of
from cifar_search.search.verdict import Scores, Verdict, verdict
from cifar_search.tracking.curves import Curve
from cifar_search.tracking.objectives import (
    front_verdict,
    is_several,
    objectives_of,
    picked_trial,
)

#: Trial user attributes shown as columns of the trials table.
ATTR_COLUMNS = (Attr.EPOCHS_TRAINED, Attr.DURATION_S, Attr.FAIL_REASON, Attr.RETRY_OF,
                Attr.CONTINUES, Attr.DUPLICATE_OF, Attr.MACHINE, Attr.MLFLOW_RUN_ID)

#: Columns of a multi-fidelity search's trials (pruner 'asha'), only in a study that has them.

#: Learning curves label this many trials (the best); the others are drawn faint, unlabelled.
LABELLED_CURVES = 12

#: The order of :func:`trial_curves`, as a legend title states it.
CURVE_ORDER = "best first; pruned (dashed) last"

#: ``history(run_id, metric)``: a run's ``(step, value)`` points in the order they were logged.
History = Callable[[str, str], Sequence[tuple[int, float]]]


def trial_params(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """Every parameter of a trial, fixed ones included."""
    return dict(trial.user_attrs.get(Attr.PARAMS) or trial.params)


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value, each parameter, duration, MLflow run id.

    Example:
        >>> trials_table(study)[["number", "state", "dropout_rate"]]  # doctest: +SKIP
    """
    rows = []
    for trial in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"number": trial.number, "state": outcome_of(trial).value,
                               "value": trial.values[0] if trial.values and len(
                                   trial.values) == 1 else None}
        if Attr.VALUE_STD in trial.user_attrs:  # scored over several seeds
            row[Attr.VALUE_STD.value] = trial.user_attrs[Attr.VALUE_STD]
        row.update(trial_params(trial))
        row.update(trial.user_attrs.get(Attr.MEASURES) or {})  # several objectives: each
        row.update({k.value: trial.user_attrs.get(k) for k in ATTR_COLUMNS})
        if Attr.INFEASIBLE in trial.user_attrs:  # a column only in a study that has one
            row[Attr.INFEASIBLE.value] = trial.user_attrs[Attr.INFEASIBLE]
        if Attr.RUNG in trial.user_attrs:  # pruner 'asha': its rung and where it came from
            row.update({k.value: trial.user_attrs.get(k) for k in RUNG_KEYS})
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["number", "state", "value",
                                     *(k.value for k in ATTR_COLUMNS)])
    return pd.DataFrame(rows)


def best_trained(study: optuna.Study, pick: str | None = None) -> optuna.trial.FrozenTrial | None:
    """The best complete trial trained in this study (None: none yet). Trials imported by a
    warm start are left out: their models were trained in another study; they only inform
    the sampler. Ties go to the lower number, as Optuna's ``best_trial``; with pruner 'asha'
    the highest rung reached wins first (:func:`cifar_search.search.fidelity.best_key`).
    With several objectives: the front member best on ``pick`` (else the study's rule; see
    :func:`cifar_search.tracking.objectives.picked_trial`)."""
    if is_several(study):
        return picked_trial(study, pick)
    trials = [t for t in study.get_trials(deepcopy=False,
                                          states=(optuna.trial.TrialState.COMPLETE,))
              if outcome_of(t) == TrialOutcome.COMPLETE and t.value is not None]
    if not trials:
        return None
    direction = study.direction.name.lower()
    return min(trials, key=lambda t: best_key(rung_of(t.user_attrs), t.values[0], t.number,
                                              direction))


def best_trial(study: optuna.Study, pick: str | None = None) -> dict[str, Any] | None:
    """The best complete trial trained in this study as plain data, or None (see
    :func:`best_trained`); with several objectives ``value`` is the ``pick`` measure's, and
    ``values`` has every objective's."""
    best = best_trained(study, pick)
    if best is None:
        return None
    found = {"number": best.number, "value": best.values[0] if best.values else None,
             "params": trial_params(best),
             **{k.value: best.user_attrs.get(k) for k in (Attr.MLFLOW_RUN_ID, Attr.MODEL_PATH)},
             **rung_record(best.user_attrs)}
    if is_several(study):
        names, _ = objectives_of(study)
        pick = pick or study.user_attrs.get(StudyAttr.PICK) or names[0]
        values = dict(zip(names, best.values or [], strict=True))
        found.update(value=values[pick], values=values, pick=pick)
    return found


def counts(study: optuna.Study) -> dict[str, int]:
    """Number of trials in each outcome, e.g. ``{"complete": 3, "pruned": 1}``."""
    result: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        name = outcome_of(trial).value
        result[name] = result.get(name, 0) + 1
    return result


def candidate_scores(study: optuna.Study, swept: Sequence[str]) -> list[Scores]:
    """Each candidate's scores for the verdict: its complete trials' seeds (``repeat_values``,
    or the value alone), trials that drew the same swept parameters pooled; trials imported by
    a warm start and ``same_seed`` duplicates (which took an earlier trial's result) left out,
    and (pruner 'asha') the trials below the highest rung reached.
    Labelled ``trial N (k=v)`` by its first trial (``trials N, M (k=v)`` when pooled)."""
    groups: dict[str, tuple[list[int], list[float]]] = {}
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    top = max((rung_of(t.user_attrs) for t in complete), default=0)
    for trial in complete:
        if (outcome_of(trial) != TrialOutcome.COMPLETE or trial.value is None
                or Attr.DUPLICATE_OF in trial.user_attrs
                or rung_of(trial.user_attrs) < top):  # pruner 'asha': the top rung's runs
            continue
        numbers, values = groups.setdefault(candidate_label(trial_params(trial), swept),
                                            ([], []))
        numbers.append(trial.number)
        values.extend(trial.user_attrs.get(Attr.REPEAT_VALUES) or [trial.value])
    return [Scores(f"trial{'s' if len(numbers) > 1 else ''} "
                   f"{', '.join(map(str, numbers))} ({label})", tuple(values))
            for label, (numbers, values) in groups.items()]


def study_verdict(study: optuna.Study, swept: Sequence[str], pick: str | None = None
                  ) -> Verdict:
    """Whether the best candidate is really better (see :mod:`cifar_search.search.verdict`);
    with several objectives, among the Pareto front on ``pick`` (:func:`front_verdict`)."""
    if is_several(study):
        return front_verdict(study, swept, pick)
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    return verdict(candidate_scores(study, swept), "maximize" if maximize else "minimize")


def _mean_curve(history: History, run_ids: list[str], metric: str) -> list[tuple[int, float]]:
    """Per epoch, the mean over the runs (seeds) that reached it; the last value logged for
    an epoch counts."""
    runs = [dict(history(run_id, metric)) for run_id in run_ids]
    curve = []
    for step in sorted({step for run in runs for step in run}):
        values = [run[step] for run in runs if step in run]
        curve.append((step, sum(values) / len(values)))
    return curve


def _ranked(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Complete trials best first, then pruned ones."""
    sign = -1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1
    trials = [t for t in study.get_trials(deepcopy=False)
              if outcome_of(t) in (TrialOutcome.COMPLETE, TrialOutcome.PRUNED)]
    return sorted(trials, key=lambda t: (outcome_of(t) != TrialOutcome.COMPLETE,
                                         sign * t.value if t.value is not None else 0.0,
                                         t.number))


def trial_curves(study: optuna.Study, history: History, metric: str, swept: Sequence[str],
                 labelled: int = LABELLED_CURVES) -> list[Curve]:
    """Per-epoch ``metric`` of every complete and pruned trial, best first.

    Each curve is ``(label, [(epoch, value), ...], style)`` for
    :func:`cifar_search.tracking.plots.learning_curves`: labelled by the trial number and the
    swept parameters (``"trial 2: activation=relu"``, see :func:`trial_label`), ``"solid"`` for
    a complete trial and ``"dashed"`` for a pruned one (complete ones ranked by value, best
    first, then pruned ones: :data:`CURVE_ORDER`); beyond the ``labelled`` best,
    ``"faint"`` without a label. A trial run with several seeds (user attribute
    ``repeat_run_ids``) gives the mean over its seeds per epoch. Trials that logged no
    ``metric`` are left out.

    Args:
        study: the study.
        history: reads one run's metric, e.g.
            :meth:`~cifar_search.tracking.reader.RunReader.metric_history`.
        metric: e.g. ``"val_accuracy"``.
        swept: the parameters that vary (``sweep.space.swept()``), named in the labels.
        labelled: how many of the best trials get a label and a colour.

    Example:
        >>> trial_curves(study, lambda run_id, metric: [(1, 0.3), (2, 0.4)],
        ...              "val_accuracy", ("activation",))  # doctest: +SKIP
        [Curve(label='trial 0: activation=relu', points=[(1, 0.3), (2, 0.4)], style='solid')]
    """
    curves: list[Curve] = []
    for trial in _ranked(study):
        run_ids = (trial.user_attrs.get(Attr.REPEAT_RUN_IDS)
                   or [trial.user_attrs.get(Attr.MLFLOW_RUN_ID)])
        points = _mean_curve(history, [run_id for run_id in run_ids if run_id], metric)
        if not points:
            continue
        if len(curves) >= labelled:
            curves.append(Curve(None, points, "faint"))
            continue
        label = trial_label(trial.number, trial_params(trial), swept)
        complete = outcome_of(trial) == TrialOutcome.COMPLETE
        curves.append(Curve(label, points, "solid" if complete else "dashed"))
    return curves


def trial_label(number: int, params: dict[str, Any], swept: Sequence[str]) -> str:
    """A trial in a legend or a title: ``"trial 3: dropout_rate=0.3, activation=relu"``
    (``"trial 3"`` when nothing is swept).

    Example:
        >>> trial_label(3, {"dropout_rate": 0.3, "filters": 4}, ("dropout_rate",))
        'trial 3: dropout_rate=0.3'
    """
    text = params_text(params, swept)
    return f"trial {number}: {text}" if text else f"trial {number}"


def trial_record(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """A trial as ``status --json`` writes it: number, state, params, value (None when not
    finite; several objectives: ``values`` in their order instead), retry chain, machine,
    MLflow run id, why it failed, whether it was released untrained (asked for beyond the
    target while other machines reached it), and (pruner 'asha') its rung and origin.

    Example:
        >>> trial_record(study.trials[0])["state"]  # doctest: +SKIP
        'complete'
    """
    several = trial.values is not None and len(trial.values) > 1
    value = trial.values[0] if trial.values is not None and not several else None
    if isinstance(value, float) and not math.isfinite(value):
        value = None
    attrs = trial.user_attrs
    return {"number": trial.number, "state": outcome_of(trial).value,
            "params": trial_params(trial), "value": value,
            **({"values": list(trial.values or [])} if several else {}),
            **{k.value: attrs.get(k) for k in (Attr.RETRY_OF, Attr.CONTINUES, Attr.DUPLICATE_OF,
                                                Attr.MACHINE, Attr.MLFLOW_RUN_ID,
                                                Attr.FAIL_REASON)},
            **{k.value: attrs.get(k) for k in RUNG_KEYS if Attr.RUNG in attrs},
            Attr.RELEASED.value: bool(attrs.get(Attr.RELEASED, False))}

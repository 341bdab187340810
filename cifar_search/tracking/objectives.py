"""A study of several objectives: its Pareto front, and the study seen through one measure.

Optuna keeps a multi-objective trial's values as a list and refuses what needs one number
(``study.direction``, ``trial.value``, ``trial.report``). Two things here let the rest of the
package treat such a study as it treats one of a single objective:

* :func:`seen_as` gives the same study (same storage, same trials) through one measure: its
  direction is that measure's, each trial's value is that measure's, and the pruned metric's
  per-epoch values (the trial's ``curve`` attribute) are its intermediate values. A pruner
  asked with it judges that curve exactly as in a single-objective study; the summary's
  tables, plots and ranking read the ``pick`` measure's values through it.
* :func:`front_rows` lists the Pareto front (``best``, ``status``, the parent run's
  description and tags); :func:`front_verdict` says whether the picked member is really the
  best of the front on the ``pick`` measure, from its seeds' scores.

Example:
    >>> view = seen_as(study, "maximize", 0)  # doctest: +SKIP
    >>> view.direction, view.best_trial.value  # doctest: +SKIP
    (StudyDirection.MAXIMIZE, 0.71)
"""

from __future__ import annotations

import copy
from collections.abc import Container, Sequence
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from cifar_search.errors import ConfigError
from cifar_search.search.front import Point, front, picked
from cifar_search.search.labels import candidate_label
from cifar_search.search.states import Attr, StudyAttr, TrialOutcome, outcome_of
from cifar_search.search.verdict import HINT, Scores, Verdict, verdict

__all__ = ["check_pick", "front_lines", "front_markdown", "front_rows", "front_scores",
           "front_trials", "front_verdict", "is_several", "objectives_of", "picked_trial",
           "seen_as", "single_value", "values_text"]


def _delegate(name: str) -> Any:
    """A storage method that calls the wrapped storage's."""
    def method(self: _Delegating, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.inner, name)(*args, **kwargs)
    method.__name__ = name
    return method


class _Delegating(BaseStorage):
    """A storage that hands every call to another (its abstract methods are filled in below)."""

    def __init__(self, inner: BaseStorage) -> None:
        self.inner = inner


for _name in sorted(getattr(BaseStorage, "__abstractmethods__", ())):
    setattr(_Delegating, _name, _delegate(_name))
_Delegating.__abstractmethods__ = frozenset()


class _OneMeasure(_Delegating):
    """The storage of a multi-objective study as one measure sees it: one direction, and each
    trial's values reduced to that measure's (None where the measure is no objective: the
    pruner reads intermediate values only)."""

    def __init__(self, inner: BaseStorage, direction: str, index: int | None) -> None:
        super().__init__(inner)
        self.direction = StudyDirection[direction.upper()]
        self.index = index

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return [self.direction]

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return self._seen(self.inner.get_trial(trial_id))

    def get_all_trials(self, study_id: int, deepcopy: bool = True,
                       states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        return [self._seen(t) for t in self.inner.get_all_trials(study_id, deepcopy=False,
                                                                  states=states)]

    def _seen(self, trial: FrozenTrial) -> FrozenTrial:
        """A copy of ``trial`` with one value and its ``curve`` as intermediate values (the
        original is the storage's cache)."""
        seen = copy.copy(trial)
        if trial.values is not None and len(trial.values) > 1:
            seen._values = None if self.index is None else [trial.values[self.index]]
        curve = trial.user_attrs.get(Attr.CURVE)
        if curve:
            seen.intermediate_values = {int(step): v for step, v in curve.items()}
        return seen


def seen_as(study: optuna.Study, direction: str, index: int | None) -> optuna.Study:
    """``study`` as a single-objective study of its objective ``index`` (None: no objective's
    values, only ``direction``), sharing its storage, sampler and pruner; ``study`` itself
    when it has one objective."""
    if len(study.directions) == 1:
        return study
    # every method is filled in by delegation, which the type checker cannot see
    storage = _OneMeasure(study._storage, direction, index)  # type: ignore[abstract]
    return optuna.Study(study_name=study.study_name, storage=storage, sampler=study.sampler,
                        pruner=study.pruner)


def objectives_of(study: optuna.Study) -> tuple[list[str], list[str]]:
    """The objectives' names (recorded on the study) and directions."""
    directions = [d.name.lower() for d in study.directions]
    names = study.user_attrs.get(StudyAttr.OBJECTIVES) or [
        f"objective_{i}" for i in range(len(directions))]
    return list(names), directions


def front_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The trials on the Pareto front, in number order: among the complete trials trained in
    this study (imported ones are left out, as from a single objective's best)."""
    # A trial that breaks a constraint reads as INFEASIBLE (search.states.outcome_of, the
    # rule of search.feasibility), not COMPLETE: it never enters the front.
    trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
              if outcome_of(t) == TrialOutcome.COMPLETE and t.values is not None]
    by_number = {t.number: t for t in trials}
    _, directions = objectives_of(study)
    members = front([Point(t.number, tuple(t.values)) for t in trials], directions)
    return [by_number[p.number] for p in members]


def picked_trial(study: optuna.Study, pick: str | None = None) -> FrozenTrial | None:
    """The front member evaluated on the test set and registered: the best on ``pick`` (else
    the study's recorded pick, else its first objective) among the front."""
    names, directions = objectives_of(study)
    pick = pick or study.user_attrs.get(StudyAttr.PICK) or names[0]
    members = front_trials(study)
    chosen = picked([Point(t.number, tuple(t.values)) for t in members], directions,
                    names.index(pick))
    return None if chosen is None else next(t for t in members if t.number == chosen.number)


def front_rows(study: optuna.Study, swept: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The front as plain data: per member its number, ``values`` by objective name, its
    parameters (the swept ones when given) and its MLflow run id."""
    names, _ = objectives_of(study)
    rows = []
    for trial in front_trials(study):
        params = dict(trial.user_attrs.get(Attr.PARAMS) or trial.params)
        if swept is not None:
            params = {k: v for k, v in params.items() if k in swept}
        values = dict(zip(names, trial.values or [], strict=True))
        rows.append({"number": trial.number, "values": values,
                     "params": params, "mlflow_run_id": trial.user_attrs.get(Attr.MLFLOW_RUN_ID)})
    return rows


def front_scores(members: Sequence[Any], names: Sequence[str], pick: str,
                 swept: Sequence[str]) -> list[Scores]:
    """Each front member's scores on ``pick`` for the verdict: its seeds' values of it
    (``repeat_measures``, kept with ``repeats``), else its one value (the mean's). Pure: a
    member is anything with ``number``, ``values``, ``params`` and ``user_attrs``.

    Example:
        >>> from types import SimpleNamespace as T
        >>> member = T(number=2, values=[0.7, 9e3], params={"filters": 8}, user_attrs={
        ...     "repeat_measures": {"val_accuracy": [0.68, 0.72], "params": [9e3, 9e3]}})
        >>> front_scores([member], ["val_accuracy", "params"], "val_accuracy", ["filters"])
        [Scores(label='trial 2 (filters=8)', values=(0.68, 0.72))]
    """
    index = list(names).index(pick)
    scores = []
    for trial in members:
        seeds = (trial.user_attrs.get(Attr.REPEAT_MEASURES) or {}).get(pick)
        params = trial.user_attrs.get(Attr.PARAMS) or trial.params
        scores.append(Scores(f"trial {trial.number} ({candidate_label(params, swept)})",
                             tuple(seeds) if seeds else (trial.values[index],)))
    return scores


def front_verdict(study: optuna.Study, swept: Sequence[str], pick: str | None = None) -> Verdict:
    """The verdict of a study of several objectives: among its Pareto front's members (the
    front computed on their means), on the ``pick`` measure (else the study's recorded pick):
    whether the member the rule picks is really the best on it. Without repeats each member
    has one score, and the verdict says how to get one."""
    names, directions = objectives_of(study)
    pick = pick or study.user_attrs.get(StudyAttr.PICK) or names[0]
    members = front_trials(study)
    scope = f"the Pareto front's {len(members)} members, on {pick}"
    return verdict(front_scores(members, names, pick, swept),
                   directions[names.index(pick)], scope=scope,
                   hint=f"{HINT}; the front's members are then compared on {pick}")


def single_value(trial: FrozenTrial) -> float | None:
    """A trial's value when it has one (None: several objectives' values, or none)."""
    return trial.values[0] if trial.values is not None and len(trial.values) == 1 else None


def is_several(study: optuna.Study) -> bool:
    """Whether ``study`` has several objectives."""
    return len(study.directions) > 1


def front_markdown(rows: Sequence[dict[str, Any]], pick: str) -> str:
    """The description's section on the front (empty without rows): one line per member,
    and the rule that picked the tested model.

    Example:
        >>> print(front_markdown([{"number": 2, "values": {"val_accuracy": 0.7, "params": 9e3},
        ...                        "params": {"dropout_rate": 0.3}}], "val_accuracy"))
        <BLANKLINE>
        <BLANKLINE>
        **Pareto front** (1 trial; none of them is beaten on every objective by another):
        <BLANKLINE>
        - trial 2: val_accuracy=0.7 params=9,000 (dropout_rate=0.3)
        <BLANKLINE>
        The model tested and registered is the front's best on val_accuracy.
    """
    if not rows:
        return ""
    lines = ["", "", f"**Pareto front** ({len(rows)} trial{'s' if len(rows) != 1 else ''}; "
             "none of them is beaten on every objective by another):", ""]
    for row in rows:
        params = ", ".join(f"{k}={v}" for k, v in row["params"].items())
        lines.append(f"- trial {row['number']}: {values_text(row['values'])}"
                     + (f" ({params})" if params else ""))
    lines += ["", f"The model tested and registered is the front's best on {pick}."]
    return "\n".join(lines)


def front_lines(study: optuna.Study, swept: Sequence[str], pick: str) -> list[str]:
    """The front as ``best`` and ``status`` print it: a heading naming the objectives, one
    line per member (the picked one marked), and the rule.

    Example:
        >>> front_lines(study, ["dropout_rate"], "val_accuracy")[0]  # doctest: +SKIP
        'Pareto front (2 trials) of val_accuracy (maximize), params (minimize):'
    """
    names, directions = objectives_of(study)
    rows = front_rows(study, swept)
    chosen = picked_trial(study, pick)
    heading = ", ".join(f"{n} ({d})" for n, d in zip(names, directions, strict=True))
    lines = [f"Pareto front ({len(rows)} trial{'s' if len(rows) != 1 else ''}) of {heading}:"]
    for row in rows:
        params = " ".join(f"{k}={v}" for k, v in row["params"].items())
        mark = f"  <- picked (best {pick} on the front)" if chosen and chosen.number == row[
            "number"] else ""
        lines.append(f"  trial {row['number']:>3} {values_text(row['values'])} {params}{mark}")
    return lines


def check_pick(study: optuna.Study, pick: str | None) -> None:
    """Refuse a ``--pick`` that names no objective of the study (or any, for one objective).

    Raises:
        ConfigError: ``--pick``, naming the value and the objectives.
    """
    if pick is None:
        return
    if not is_several(study):
        raise ConfigError("--pick", f"{pick!r} is not allowed; --pick chooses among a Pareto "
                          "front, and this study has one objective")
    names, _ = objectives_of(study)
    if pick not in names:
        raise ConfigError("--pick", f"{pick!r} is not allowed; pick is one of the objectives: "
                          + ", ".join(names))


def _shown(value: float) -> str:
    """A measure's value: a whole number with thousands separators, else 4 significant."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:.4g}"


def values_text(values: dict[str, float]) -> str:
    """``val_accuracy=0.71 params=12,394``."""
    return " ".join(f"{k}={_shown(v)}" for k, v in values.items())

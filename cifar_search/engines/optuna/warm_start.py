"""Warm starts: which trials of an earlier study a new study takes, as pure decisions.

``run --from-study OLD`` (``Sweep(warm_start="OLD")``) adds the complete trials of study ``OLD``
whose parameters fit the new space to the new study when it is created, with their values and
a link to their runs, so that the sampler starts informed; nothing is retrained, and they do
not count toward ``trials``. The study adapter reads and writes the stores
(:mod:`.study`); what fits is decided here.

A trial fits when, walking the new space in file order (conditions evaluated on the trial's
own values), every parameter that exists for it

* is one the trial has (a parameter the new space adds, even a fixed one, does not fit: the
  trial trained without setting it, with the model's default, which the new space may not
  equal),
* lies in the new distribution: a choice among the new choices, a number inside the new range
  (on its step, a whole number for an int range), or equal to the new fixed value,

and the trial has no parameter besides those (a parameter the new space drops does not fit:
the new trials train with the model's default). Only trials the earlier study trained itself
are taken (not those it imported in turn).

Example:
    >>> from cifar_search.config.space import Space
    >>> space = Space.from_dict({"parameters": {"dropout_rate": {"type": "float", "low": 0.1,
    ...                                                           "high": 0.3}}})
    >>> misfit({"dropout_rate": 0.2}, space) is None, misfit({"dropout_rate": 0.5}, space)
    (True, 'dropout_rate=0.5 lies outside {"high": 0.3, "low": 0.1, "type": "float"}')
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cifar_search.config.params import Fixed, FloatRange, IntRange, Param
from cifar_search.config.space import Space
from cifar_search.config.sweep import Sweep
from cifar_search.errors import ConfigError
from cifar_search.search.labels import format_value

__all__ = ["SourceStudy", "SourceTrial", "check_source", "fitting", "imports", "misfit",
           "values_of"]

#: How far a value may sit off a range's step and still be on it (float rounding).
STEP_TOLERANCE = 1e-8


@dataclass(frozen=True)
class SourceTrial:
    """A complete trial of the earlier study, as a warm start reads it.

    Attributes:
        number: its number there.
        params: every parameter it trained with, fixed ones included.
        value: its objective.
        run_id: its MLflow run there (None: it recorded none).
        measures: what it measured there (``val_accuracy``, ``params``, ...): an imported
            trial's values with several objectives, and its constraint values.
    """

    number: int
    params: Mapping[str, Any]
    value: float
    run_id: str | None = None
    measures: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceStudy:
    """The earlier study a warm start reads.

    Attributes:
        name: its name.
        storage: its storage URL as shown (password masked).
        trials: its complete trials, trained there.
        metric: the objective metric it recorded (None: not recorded).
        direction: ``minimize`` or ``maximize``.
        fingerprint: its recorded settings (:meth:`Sweep.fingerprint`), empty when none.
    """

    name: str
    storage: str
    trials: tuple[SourceTrial, ...]
    metric: str | None = None
    direction: str | None = None
    fingerprint: Mapping[str, Any] = field(default_factory=dict)


def _on_step(param: IntRange | FloatRange, value: float) -> bool:
    """Whether ``value`` lies on the range's step (always, for a range without one)."""
    if param.step is None:
        return True
    steps = (value - param.low) / param.step
    return abs(steps - round(steps)) < STEP_TOLERANCE


def fits(param: Param, value: Any) -> bool:
    """Whether ``value`` lies in ``param``'s distribution (a new space's parameter).

    Example:
        >>> fits(IntRange("depth", low=1, high=3), 2.5), fits(Fixed("units", value=8), 8)
        (False, True)
    """
    if isinstance(value, bool) and not isinstance(param, Fixed):
        return param.possible(value) and not isinstance(param, (IntRange, FloatRange))
    if not param.possible(value):
        return False
    if isinstance(param, IntRange):
        whole = isinstance(value, int) or isinstance(value, float) and value.is_integer()
        return whole and _on_step(param, value)
    if isinstance(param, FloatRange):
        return math.isfinite(value) and _on_step(param, value)
    return True


def misfit(params: Mapping[str, Any], space: Space) -> str | None:
    """Why a trial with ``params`` does not fit ``space``, in a few words; None when it fits
    (the rule is the module's)."""
    seen: dict[str, Any] = {}
    for param in space.params:
        if not param.active(seen):
            continue
        if param.name not in params:
            return f"{param.name} is new in this space"
        value = params[param.name]
        if not fits(param, value):
            return (f"{param.name}={format_value(value)} lies outside "
                    f"{json.dumps(param.spec(), sort_keys=True)}")
        seen[param.name] = value
    extra = sorted(set(params) - set(seen))
    return f"{extra[0]} is not in this space" if extra else None


def fitting(trials: Sequence[SourceTrial], space: Space,
            objectives: Sequence[str] = ()) -> list[SourceTrial]:
    """The trials that fit ``space`` and measured each of several ``objectives`` (their
    values there), in their order.

    Example:
        >>> space = Space.from_dict({"parameters": {"units": {"value": 8}}})
        >>> trials = [SourceTrial(0, {"units": 8}, 0.5, measures={"params": 10.0}),
        ...           SourceTrial(1, {"units": 8}, 0.6)]
        >>> [t.number for t in fitting(trials, space, ("val_loss", "params"))]
        []
        >>> [t.number for t in fitting(trials, space, ("params",))]
        [0]
    """
    return [trial for trial in trials if misfit(trial.params, space) is None
            and all(m in trial.measures for m in objectives)]


def values_of(trial: SourceTrial, objectives: Sequence[str]) -> float | list[float]:
    """What an imported trial tells this study: its value, or with several ``objectives``
    its measure of each, in their order (a measure means the same in every study)."""
    if not objectives:
        return trial.value
    return [float(trial.measures[m]) for m in objectives]


def swept_values(trial: SourceTrial, space: Space) -> dict[str, Any]:
    """The values an Optuna trial of ``space`` would have been given for a fitting trial:
    its active parameters that are not fixed (whole numbers as ints for an int range)."""
    values: dict[str, Any] = {}
    for param in space.params:
        if param.name in trial.params and not isinstance(param, Fixed):
            value = trial.params[param.name]
            values[param.name] = int(value) if isinstance(param, IntRange) else value
    return values


def imported_attrs(source: SourceStudy, trial: SourceTrial) -> dict[str, Any]:
    """The link an imported trial keeps to where it was trained (``Attr.IMPORTED_FROM``)."""
    return {"study": source.name, "trial": trial.number, "mlflow_run_id": trial.run_id}


def check_source(source: SourceStudy, sweep: Sweep) -> None:
    """Refuse an earlier study whose values mean something else here: another objective
    (metric or direction; with several objectives each is read from the trial's measures,
    whatever the earlier study's objectives were) or another model.

    Raises:
        ConfigError: keyed ``--from-study``, naming both.
    """
    metric, direction = sweep.objective.metric, sweep.objective.direction
    several = sweep.objective.several  # values read from measures: any metric matches
    if not several and (source.metric, source.direction) not in ((metric, direction),
                                                                 (None, direction)):
        raise ConfigError("--from-study", f"{source.name!r} in {source.storage} "
                          f"{source.direction}s {source.metric}, this sweep {direction}s "
                          f"{metric}: its values would mean something else here")
    model = source.fingerprint.get("model")
    if model is not None and model != sweep.model_name:
        raise ConfigError("--from-study", f"{source.name!r} in {source.storage} trained "
                          f"model {model!r}, this sweep {sweep.model_name!r}: its values "
                          "would mean something else here")


def import_line(source: SourceStudy, imported: int) -> str:
    """What the user is told when a study imports: ``imported 2 of 3 complete trials of study
    'old' (those that fit this space); they inform the sampler and do not count toward
    trials``.

    Example:
        >>> import_line(SourceStudy("old", "sqlite:///x.db", ()), 0)  # doctest: +ELLIPSIS
        "imported 0 of 0 complete trials of study 'old' (none fits this space); ..."
    """
    total = len(source.trials)
    if imported == 0:
        return (f"imported 0 of {total} complete trials of study {source.name!r} (none fits "
                "this space); the sampler starts afresh")
    return (f"imported {imported} of {total} complete trials of study {source.name!r} (those "
            "that fit this space); they inform the sampler and do not count toward trials")


def imports(sweep: Sweep, recorded: Mapping[str, Any] | None, trained: int,
            joining: bool) -> bool:
    """Whether the sweep's study imports its warm start now: once, when it is created (or,
    after a crash during the import, before any trial trained); never again on resume.

    Args:
        sweep: the sweep (``warm_start``: the earlier study, or None).
        recorded: the study's record of its warm start (``StudyAttr.WARM_START``), None when
            there is none or no study yet.
        trained: the study's trials that are neither queued nor imported (0: no study yet).
        joining: the study exists on a shared storage: the machine that created it imports.

    Raises:
        ConfigError: ``--from-study`` for a study that imported from another study, or that
            trained trials of its own without a warm start.

    Example:
        >>> sweep = Sweep("new", "x.yaml", "dropout", warm_start="old")
        >>> imports(sweep, None, 0, False), imports(sweep, {"study": "old"}, 3, False)
        (True, False)
    """
    wanted = sweep.warm_start
    if wanted is None:
        return False
    fresh = f"start a new study from it with --study-name NEW --from-study {wanted}"
    if recorded is not None:
        if recorded.get("study") == wanted:
            return False
        raise ConfigError("--from-study", f"{wanted!r}: study {sweep.name!r} was started from "
                          f"{recorded.get('study')!r}, and imports once; {fresh}")
    if trained:
        raise ConfigError("--from-study", f"{wanted!r}: study {sweep.name!r} has {trained} "
                          f"trials of its own already, and a warm start fills a new study; "
                          f"{fresh}")
    return not joining

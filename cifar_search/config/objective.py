"""What a trial is scored on: :class:`Objective`, one validation metric or several measures.

One metric (``Objective("val_loss")``) makes a single-objective study, as it always has. A
list (``Objective(["val_accuracy", "params"])``) makes a multi-objective one: the measures
come from :data:`cifar_search.config.measures.MEASURES`, each optimised in its natural
direction unless directions are given. Two more rules say what a single number still decides
there: ``prune_on`` names the curve the pruner judges, ``pick`` the measure that chooses,
among the Pareto front, the trial evaluated on the test set and registered.

Example:
    >>> Objective(["val_accuracy", "params"]).directions
    ('maximize', 'minimize')
    >>> Objective(["params", "val_loss"]).prune_on, Objective(["params", "val_loss"]).pick
    ('val_loss', 'params')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cifar_search.config.measures import MEASURES, measure_names
from cifar_search.config.require import require

__all__ = ["METRICS", "Objective"]

#: Objective metrics (Keras history names, with a per-epoch curve) and the direction each is
#: optimised in: a single objective is one of them, and so is the curve a pruner judges.
METRICS = {"val_loss": "minimize", "val_accuracy": "maximize"}

#: The two directions.
DIRECTIONS = ("minimize", "maximize")


@dataclass(frozen=True, init=False)
class Objective:
    """What a trial is scored on.

    Args:
        metric: ``val_loss`` or ``val_accuracy``; or a list of measures (``val_loss``,
            ``val_accuracy``, ``params``, ``latency_ms``, ``train_seconds``), at least one of
            them a validation metric: a multi-objective study whose result is a Pareto front.
        direction: ``minimize`` or ``maximize`` (a list, one per measure, for several); None
            takes each measure's natural direction.
        prune_on: several objectives: the per-epoch curve the pruner judges a trial on
            (``val_loss`` or ``val_accuracy``); None: the first objective that has one.
        pick: several objectives: the objective that picks the front member evaluated on the
            test set and registered (the best on it among the front); None: the first.

    Attributes:
        metrics: the objectives' names, in order.
        directions: their directions, in order.

    Example:
        >>> Objective("val_accuracy").direction
        'maximize'
        >>> Objective(["val_accuracy", "latency_ms"], pick="latency_ms").several
        True
    """

    metrics: tuple[str, ...]
    directions: tuple[str, ...]
    prune_on: str
    pick: str

    def __init__(self, metric: str | Sequence[str] = "val_loss",
                 direction: str | Sequence[str] | None = None, prune_on: str | None = None,
                 pick: str | None = None) -> None:
        metrics = _metrics(metric)
        directions = _directions(metrics, direction)
        several = len(metrics) > 1
        if several:
            require(any(m in METRICS for m in metrics), "objective.metric", list(metrics),
                    "several objectives include val_loss or val_accuracy (the trained "
                    "model's score)")
        require(prune_on is None or prune_on in METRICS and (several or prune_on == metrics[0]),
                "objective.prune_on", prune_on,
                "the pruner judges a per-epoch curve: " + ", ".join(METRICS)
                if several else "a single objective prunes on its own metric")
        require(pick is None or pick in metrics, "objective.pick", pick,
                "pick is one of the objectives: " + ", ".join(metrics))
        object.__setattr__(self, "metrics", metrics)
        object.__setattr__(self, "directions", directions)
        object.__setattr__(self, "prune_on",
                           prune_on or next(m for m in metrics if m in METRICS))
        object.__setattr__(self, "pick", pick or metrics[0])

    @property
    def several(self) -> bool:
        """Whether the study has several objectives (a Pareto front, not one best trial)."""
        return len(self.metrics) > 1

    @property
    def metric(self) -> str:
        """The metric with a per-epoch curve that pruning, early stopping and the trial's
        printed score use: the objective's metric, or ``prune_on`` with several."""
        return self.prune_on

    @property
    def direction(self) -> str:
        """The direction of :attr:`metric` (its objective's, else its natural one)."""
        return self.direction_of(self.metric)

    @property
    def chosen_by(self) -> str:
        """The measure one trial is chosen by (tested, registered, ranked in a table): the
        objective's metric, or ``pick`` with several."""
        return self.pick if self.several else self.metric

    def direction_of(self, measure: str) -> str:
        """The direction ``measure`` is optimised in: as an objective, else its natural one."""
        if measure in self.metrics:
            return self.directions[self.metrics.index(measure)]
        return MEASURES[measure].direction

    def fingerprint(self) -> dict[str, Any]:
        """What a resumed study must keep: the measures and their directions (one objective:
        ``{"metric": "val_loss", "direction": "minimize"}``, as before several existed)."""
        if not self.several:
            return {"metric": self.metrics[0], "direction": self.directions[0]}
        return {"metric": list(self.metrics), "direction": list(self.directions)}

    def to_dict(self) -> dict[str, Any]:
        """Every setting as plain data (several objectives add ``prune_on`` and ``pick``)."""
        if not self.several:
            return self.fingerprint()
        return {**self.fingerprint(), "prune_on": self.prune_on, "pick": self.pick}


def _metrics(metric: Any) -> tuple[str, ...]:
    """The objectives' names from a name or a list of names."""
    if isinstance(metric, str):
        require(metric in METRICS, "objective.metric", metric,
                "metrics are " + ", ".join(METRICS))
        return (metric,)
    require(isinstance(metric, (list, tuple)) and len(metric) >= 1
            and all(isinstance(m, str) for m in metric), "objective.metric", metric,
            "metric is a name or a list of measures: " + measure_names())
    for name in metric:
        require(name in MEASURES, "objective.metric", name, "measures are " + measure_names())
    require(len(set(metric)) == len(metric), "objective.metric", list(metric),
            "each measure is named once")
    if len(metric) == 1:  # one objective: a validation metric, as a name alone
        return _metrics(metric[0])
    return tuple(metric)


def _directions(metrics: tuple[str, ...], direction: Any) -> tuple[str, ...]:
    """Each objective's direction: as given, else its measure's natural one."""
    if direction is None:
        return tuple(MEASURES[m].direction for m in metrics)
    if len(metrics) == 1 and not isinstance(direction, (list, tuple)):
        require(direction in DIRECTIONS, "objective.direction", direction,
                "direction is minimize or maximize")
        return (direction,)
    require(isinstance(direction, (list, tuple)) and len(direction) == len(metrics)
            and all(d in DIRECTIONS for d in direction), "objective.direction", direction,
            "direction is minimize or maximize" if len(metrics) == 1 else
            f"one direction per objective ({len(metrics)}), each minimize or maximize")
    return tuple(direction)

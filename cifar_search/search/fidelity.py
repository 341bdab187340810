"""Multi-fidelity search (pruner ``asha``): rungs of epochs, promotions, and the best; pure.

In the style of ASHA (asynchronous successive halving, as Ray Tune's ``ASHAScheduler`` and
the Hyperband paper describe it): a new trial trains at the lowest rung (its few epochs, its
learning-rate schedule scaled to them, because a trial's cosine ends at the task's epochs);
a trial that ranks in the top ``1/reduction_factor`` of its rung's complete trials is
*promoted*: its parameters train again, from scratch, at the next rung, as a new trial that
records its ``rung`` and ``promoted_from``. A free worker takes a promotion first (the highest
rung first), else a new trial from the sampler. Every decision reads only the trials as they
stand, so a resumed study continues the ladder exactly where it was.

The best trial is the one that reached the highest rung, ties going to the better value, then
to the lower number: a 4-epoch score never beats a 24-epoch one because its schedule ended
sooner.

Example:
    >>> ladder = ladder_of({"rungs": [4, 12, 24], "reduction_factor": 3}, epochs=24)
    >>> ladder.epochs_at(1)
    12
    >>> done = [RungTrial(n, 0, v, {"x": n}) for n, v in enumerate([0.5, 0.7, 0.6])]
    >>> promotion(ladder, done, "maximize")
    Promotion(origin=1, params={'x': 1}, rung=1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from cifar_search.errors import ConfigError
from cifar_search.search.states import Attr

__all__ = ["ASHA", "PROMOTED_FROM", "RUNG", "RUNG_EPOCHS", "RUNG_KEYS", "Ladder", "Promotion",
           "RungTrial", "best_key", "default_rungs", "ladder_of", "promotion", "rung_attrs",
           "rung_of", "rung_record"]

#: The pruner kind that runs this search.
ASHA = "asha"

#: Trial user attributes (and MLflow tags, the same names) of a multi-fidelity search.
RUNG, RUNG_EPOCHS, PROMOTED_FROM = Attr.RUNG, Attr.RUNG_EPOCHS, Attr.PROMOTED_FROM
#: All three, in the order tables and exports show them.
RUNG_KEYS = (RUNG, RUNG_EPOCHS, PROMOTED_FROM)

#: Options of ``Pruner("asha", {...})``.
OPTIONS = ("rungs", "reduction_factor")

#: Promotions keep the top 1/3 of a rung by default (Ray Tune's and Optuna's default).
DEFAULT_REDUCTION_FACTOR = 3


@dataclass(frozen=True)
class Ladder:
    """The rungs of a multi-fidelity search.

    Attributes:
        rungs: epochs per rung, strictly increasing; the last is the budget's epochs.
        reduction_factor: a rung promotes its top ``1/reduction_factor`` (whole number >= 2).
    """

    rungs: tuple[int, ...]
    reduction_factor: int = DEFAULT_REDUCTION_FACTOR

    def epochs_at(self, rung: int) -> int:
        """The epochs a trial at ``rung`` trains (and its schedule spans)."""
        return self.rungs[min(rung, len(self.rungs) - 1)]

    @property
    def top(self) -> int:
        """The highest rung."""
        return len(self.rungs) - 1


@dataclass(frozen=True)
class RungTrial:
    """One trial as the ladder sees it.

    Attributes:
        number: the trial number.
        rung: the rung it trains or trained at.
        value: its objective when it is complete (None: running, queued, pruned or failed).
        params: the parameters it was drawn or given (what a promotion trains again).
        promoted_from: the trial it was promoted from, None for a new one.
    """

    number: int
    rung: int
    value: float | None
    params: Mapping[str, Any] = field(default_factory=dict)
    promoted_from: int | None = None


@dataclass(frozen=True)
class Promotion:
    """Train ``origin``'s parameters again at ``rung`` (one above ``origin``'s)."""

    origin: int
    params: dict[str, Any]
    rung: int


def default_rungs(epochs: int, reduction_factor: int = DEFAULT_REDUCTION_FACTOR
                  ) -> tuple[int, ...]:
    """The budget divided by the reduction factor until under one epoch, at most three rungs.

    Example:
        >>> default_rungs(24), default_rungs(9), default_rungs(4), default_rungs(1)
        ((2, 8, 24), (1, 3, 9), (1, 4), (1,))
    """
    rungs = [epochs]
    while len(rungs) < 3 and rungs[0] // reduction_factor >= 1:
        rungs.insert(0, rungs[0] // reduction_factor)
    return tuple(rungs)


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def ladder_of(options: Mapping[str, Any], epochs: int) -> Ladder:
    """The ladder of ``Pruner("asha", options)`` for a budget of ``epochs``, checked.

    Raises:
        ConfigError: an unknown option, a reduction factor under 2, rungs that are not
            increasing whole numbers of epochs, or a last rung other than ``budget.epochs``.
    """
    for name in options:
        if name not in OPTIONS:
            raise ConfigError("pruner.options", f"{name!r} is not an option of pruner "
                              f"'asha'; it takes {', '.join(OPTIONS)}")
    factor = options.get("reduction_factor", DEFAULT_REDUCTION_FACTOR)
    if not _whole(factor) or factor < 2:
        raise ConfigError("pruner.options", f"reduction_factor={factor!r} is not allowed; "
                          "a rung promotes its top 1/reduction_factor: a whole number >= 2")
    given = options.get("rungs")
    if given is None:
        return Ladder(default_rungs(epochs, factor), factor)
    if (isinstance(given, (str, bytes)) or not isinstance(given, Sequence) or not given
            or not all(_whole(r) and r >= 1 for r in given)
            or any(b <= a for a, b in zip(given, given[1:], strict=False))):
        raise ConfigError("pruner.options", f"rungs={given!r} is not allowed; rungs are "
                          "epochs per rung, strictly increasing whole numbers >= 1, "
                          "e.g. [4, 12, 24]")
    if given[-1] != epochs:
        raise ConfigError("pruner.options", f"rungs={list(given)!r} ends at {given[-1]} "
                          f"epochs but budget.epochs is {epochs}; the last rung is the "
                          "budget's epochs (leave rungs out to divide the budget by "
                          "reduction_factor)")
    return Ladder(tuple(given), factor)


def rung_of(attrs: Mapping[str, Any]) -> int:
    """A trial's rung from its user attributes (0 when it has none: not a ladder's trial)."""
    rung = attrs.get(RUNG)
    return rung if _whole(rung) else 0


def rung_attrs(ladder: Ladder, rung: int, promoted_from: int | None) -> dict[str, Any]:
    """The user attributes (and MLflow tags) a trial at ``rung`` records."""
    attrs: dict[str, Any] = {RUNG: rung, RUNG_EPOCHS: ladder.epochs_at(rung)}
    if promoted_from is not None:
        attrs[PROMOTED_FROM] = promoted_from
    return attrs


def rung_record(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The rung attributes a trial has recorded (none outside a multi-fidelity search), by
    their names: what a retry keeps and its MLflow run is tagged with.

    Example:
        >>> rung_record({Attr.RUNG: 1, Attr.RUNG_EPOCHS: 12, Attr.SEED: 3})
        {'rung': 1, 'rung_epochs': 12}
    """
    return {key.value: attrs[key] for key in RUNG_KEYS if key in attrs}


def _signed(value: float, direction: str) -> float:
    return -value if direction == "maximize" else value


def promotion(ladder: Ladder, trials: Sequence[RungTrial], direction: str
              ) -> Promotion | None:
    """The promotion a free worker takes now, or None (then a new trial at the lowest rung).

    At each rung below the top, highest first: the complete trials there ranked by value
    (ties to the lower number), of which the top ``len // reduction_factor`` may be promoted;
    the first of those not promoted yet (no trial, in any state, records it as
    ``promoted_from``) is. Trials pruned, failed or still running do not rank.
    """
    promoted = {t.promoted_from for t in trials if t.promoted_from is not None}
    for rung in range(ladder.top - 1, -1, -1):
        done = sorted((t for t in trials if t.rung == rung and t.value is not None),
                      key=lambda t: (_signed(t.value, direction), t.number))  # type: ignore[arg-type]
        for trial in done[:len(done) // ladder.reduction_factor]:
            if trial.number not in promoted:
                return Promotion(trial.number, dict(trial.params), rung + 1)
    return None


def best_key(rung: int, value: float, number: int, direction: str) -> tuple[int, float, int]:
    """Sort key of the best trial (smallest first): the highest rung, then the better value,
    then the lower number.

    Example:
        >>> min([(0, 0.9, 0), (2, 0.8, 5), (2, 0.85, 7)],
        ...     key=lambda t: best_key(*t, "maximize"))
        (2, 0.85, 7)
    """
    return (-rung, _signed(value, direction), number)

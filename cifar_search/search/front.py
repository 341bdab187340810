"""The Pareto front of a multi-objective search, and the rule that picks one member; pure.

A point is on the front when no other point is at least as good on every objective and
better on one (each objective read in its own direction). The front is taken over the points
it is given: the caller gives the feasible complete trials only (an infeasible trial never
enters the front), trained in this study.

The member evaluated on the test set and registered is the best on the ``pick`` objective
among the front, ties going to the lower number (as a single objective's best trial does).

Example:
    >>> points = [Point(0, (0.70, 9000.0)), Point(1, (0.60, 2000.0)), Point(2, (0.55, 5000.0))]
    >>> [p.number for p in front(points, ("maximize", "minimize"))]
    [0, 1]
    >>> picked(front(points, ("maximize", "minimize")), ("maximize", "minimize"), 1).number
    1
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Point", "dominates", "front", "picked"]


@dataclass(frozen=True)
class Point:
    """One trial's objectives.

    Attributes:
        number: the trial number.
        values: its objectives' values, in the objectives' order.
    """

    number: int
    values: tuple[float, ...]


def _signed(values: Sequence[float], directions: Sequence[str]) -> tuple[float, ...]:
    """The values turned so that smaller is better for each."""
    return tuple(-v if d == "maximize" else v for v, d in zip(values, directions, strict=True))


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """Whether values ``a`` are at least as good as ``b`` on every objective and better on one.

    Example:
        >>> dominates((0.7, 10.0), (0.6, 10.0), ("maximize", "minimize"))
        True
    """
    sa, sb = _signed(a, directions), _signed(b, directions)
    pairs = list(zip(sa, sb, strict=True))
    return all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)


def front(points: Sequence[Point], directions: Sequence[str]) -> list[Point]:
    """The points no other point dominates, in trial order (equal values both stay)."""
    return sorted((p for p in points
                   if not any(dominates(q.values, p.values, directions) for q in points)),
                  key=lambda p: p.number)


def picked(members: Sequence[Point], directions: Sequence[str], index: int) -> Point | None:
    """The member best on objective ``index`` (ties: the lower number); None when empty."""
    if not members:
        return None
    sign = -1.0 if directions[index] == "maximize" else 1.0
    return min(members, key=lambda p: (sign * p.values[index], p.number))

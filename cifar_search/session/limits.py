"""When a sweep ends before its number of trials: its time budget, its failures, or trials that
bring nothing (``Budget(time=..., max_failures=..., max_failures_in_a_row=..., stop_after=...)``).

Pure decisions over the trials that ended, in the order they ended (:class:`Ended`), and the
clock: the session asks :func:`reached` at each turn of its loop and hands out no new trial
once it answers. A time budget and ``stop_after`` end a sweep as its target would (the best
model is evaluated, exit 0); a failure limit ends it with one line naming the last failure and
the command that lists them all (exit 1). The deadline is the study's: recorded once
(:func:`deadline_of`) and read by every machine; a run after it opens a new window.

Example:
    >>> from cifar_search.search.states import TrialOutcome as O
    >>> ended = [Ended(0, O.COMPLETE, 0.5), Ended(1, O.COMPLETE, 0.49), Ended(2, O.PRUNED)]
    >>> reached(Limits(stop_after=1, min_delta=0.05), ended, now=0.0).limit
    <Limit.NO_IMPROVEMENT: 'stop_after'>
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

from cifar_search.config.durations import shown_duration
from cifar_search.search.states import TrialOutcome

__all__ = ["Ended", "Limit", "Limits", "Stop", "deadline_of", "reached", "spent", "stalled",
           "time_line"]


@dataclass(frozen=True)
class Ended:
    """A trial that ended: its number, outcome, objective (complete trials) and why it failed
    (failed trials)."""

    number: int
    outcome: TrialOutcome
    value: float | None = None
    reason: str | None = None


class Limit(enum.StrEnum):
    """What ended a sweep before its number of trials (the key that set it)."""

    TIME = "time"
    FAILURES = "max_failures"
    FAILURES_IN_A_ROW = "max_failures_in_a_row"
    NO_IMPROVEMENT = "stop_after"

    @property
    def is_failure(self) -> bool:
        """Whether the sweep ends as failed (exit 1, no test evaluation)."""
        return self in (Limit.FAILURES, Limit.FAILURES_IN_A_ROW)


@dataclass(frozen=True)
class Stop:
    """A limit reached, and the line that says so."""

    limit: Limit
    line: str


@dataclass(frozen=True)
class Limits:
    """A sweep's limits (see :class:`cifar_search.config.specs.Budget`) with the study's
    deadline (seconds since the epoch) and the objective's direction."""

    deadline: float | None = None
    time_s: float | None = None
    max_failures: int | None = None
    max_failures_in_a_row: int | None = None
    stop_after: int | None = None
    min_delta: float = 0.0
    direction: str = "minimize"
    failed_command: str = "status --failed"


def deadline_of(recorded: float | None, time_s: float, now: float) -> float:
    """The study's deadline: the recorded one while it lies ahead (another machine's, or this
    study's window before an interruption), else a new window from now.

    Example:
        >>> deadline_of(None, 60.0, now=1000.0), deadline_of(1030.0, 60.0, now=1000.0)
        (1060.0, 1030.0)
        >>> deadline_of(990.0, 60.0, now=1000.0)
        1060.0
    """
    if recorded is not None and recorded > now:
        return recorded
    return now + time_s


def reached(limits: Limits, ended: Sequence[Ended], now: float) -> Stop | None:
    """The first limit the sweep has reached (time, failures in all, failures in a row, no
    improvement), or None; ``ended`` in the order the trials ended."""
    if limits.deadline is not None and now >= limits.deadline:
        spent = shown_duration(limits.time_s or 0.0)
        return Stop(Limit.TIME, f"time budget {spent} reached: no new trial starts")
    failed = [e for e in ended if e.outcome == TrialOutcome.FAILED]
    if limits.max_failures is not None and len(failed) >= limits.max_failures:
        return Stop(Limit.FAILURES, _failures_line(
            f"{len(failed)} trials failed (max_failures={limits.max_failures})", failed[-1],
            limits))
    in_a_row = limits.max_failures_in_a_row
    counted = [e for e in ended if e.outcome != TrialOutcome.INTERRUPTED]
    if in_a_row is not None and len(counted) >= in_a_row and all(
            e.outcome == TrialOutcome.FAILED for e in counted[-in_a_row:]):
        return Stop(Limit.FAILURES_IN_A_ROW, _failures_line(
            f"the last {in_a_row} trials failed (max_failures_in_a_row={in_a_row})",
            counted[-1], limits))
    values = [e.value for e in ended if e.outcome == TrialOutcome.COMPLETE
              and e.value is not None and math.isfinite(e.value)]
    if limits.stop_after is not None and stalled(values, limits.direction, limits.stop_after,
                                                 limits.min_delta):
        delta = f" by more than {limits.min_delta:g}" if limits.min_delta else ""
        return Stop(Limit.NO_IMPROVEMENT, f"no improvement of the objective{delta} in the "
                                          f"last {limits.stop_after} complete trials "
                                          f"(stop_after={limits.stop_after}): no new trial "
                                          "starts")
    return None


def _failures_line(what: str, last: Ended, limits: Limits) -> str:
    """``the last 3 trials failed (...); the last, trial 7: <reason>; see them all with ...``."""
    return (f"{what}; the last, trial {last.number}: {last.reason or 'no reason recorded'}; "
            f"the sweep stopped: see them all with {limits.failed_command}")


def stalled(values: Sequence[float], direction: str, stop_after: int, min_delta: float) -> bool:
    """Whether the last ``stop_after`` of ``values`` (complete trials' objectives, in the order
    they ended) improved on the best before them by ``min_delta`` or less.

    Example:
        >>> stalled([0.9, 0.7, 0.71, 0.69], "minimize", 2, 0.0)
        False
        >>> stalled([0.9, 0.7, 0.71, 0.69], "minimize", 2, 0.05)
        True
        >>> stalled([0.9], "minimize", 1, 0.0)  # nothing to compare with yet
        False
    """
    if len(values) <= stop_after:
        return False
    sign = 1.0 if direction == "maximize" else -1.0
    before = max(sign * v for v in values[:-stop_after])
    recent = max(sign * v for v in values[-stop_after:])
    return recent - before <= min_delta


def spent(deadline: float, time_s: float, now: float) -> tuple[float, float]:
    """Seconds of the time budget's window used and left at ``now``.

    Example:
        >>> spent(deadline=100.0, time_s=60.0, now=70.0)
        (30.0, 30.0)
    """
    return min(time_s, max(0.0, now - (deadline - time_s))), max(0.0, deadline - now)


def time_line(deadline: float, time_s: float, now: float) -> str:
    """``time budget 2h: 1h12m used, 48m left`` (nothing left once the deadline passed).

    Example:
        >>> time_line(deadline=7200.0, time_s=7200.0, now=4320.0)
        'time budget 2h: 1h12m used, 48m left'
    """
    used, left = spent(deadline, time_s, now)
    return (f"time budget {shown_duration(time_s)}: {shown_duration(used)} used, "
            f"{shown_duration(left)} left")

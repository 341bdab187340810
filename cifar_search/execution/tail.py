"""The tail rule: when fewer runs are left than cores, the runs still training get the free cores.

A sweep's workers each own a share of the cores (one thread each with two workers on two cores).
At a sweep's tail — its last trials, a pruner's last rungs, a grid smaller than the workers —
some workers have nothing left to train and their cores sit idle. TensorFlow's thread pools are
fixed when a process starts, so a run cannot grow in place; instead, at the end of an epoch
(its checkpoint just saved), a run is moved to a new, wider worker and continues there from
that checkpoint, exactly as a resumed trial does. Only the number of threads changes, which
changes the order of floating-point sums (the same caveat as the number of workers).

The decisions here are pure; the coordinator applies them.

Example:
    >>> lanes = [Lane(key=1, threads=1, epochs_left=6)]
    >>> move_to(cores=2, lanes=lanes, lane=lanes[0], more_to_start=False, epoch_seconds=20.0)
    2
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Hashable, Sequence

__all__ = ["Lane", "MIN_EPOCHS_LEFT", "MIN_SECONDS_LEFT", "PACK_PER_CORE", "fair_threads",
           "move_to", "packed_workers", "worth_moving"]

#: A run moves only with at least this many epochs still to train: a move costs a worker start
#: and a checkpoint load (a few seconds), which one epoch on more threads may not repay.
MIN_EPOCHS_LEFT = 2
#: ... and only with at least this much training left at its last epoch's pace (seconds): with
#: more threads a run trains 1.2-1.7 times as fast here, so a move of ~3 s pays from about 15 s.
MIN_SECONDS_LEFT = 30.0


#: At most this many single-threaded workers per core when a sweep's trials are packed.
PACK_PER_CORE = 4
#: What sharing a core between processes costs (measured: five single-threaded trials on two
#: cores took 2.65 trial-times, not 2.5).
SHARING_COST = 0.06


def packed_workers(trials: int, cores: int) -> int:
    """How many workers to train ``trials`` runs that are all known up front (a grid, or random
    draws without a pruner) on ``cores`` cores, so that no core idles at the end: the number,
    from one per core (fewer with fewer runs) up to :data:`PACK_PER_CORE` per core, whose
    rounds take the least time when more workers than cores share them (ties: fewer workers).
    Each worker then has one thread, or the cores divided among fewer workers.

    Example:
        >>> packed_workers(5, 2)  # all five at once: 2.5 trial-times, not 2 + 2 + 1 = 3
        5
        >>> packed_workers(63, 2), packed_workers(9, 2), packed_workers(1, 2), packed_workers(4, 8)
        (2, 3, 1, 4)
    """
    def cost(workers: int) -> float:
        share = workers / cores * (1 + SHARING_COST) if workers > cores else 1.0
        return -(-trials // workers) * share

    low = max(1, min(cores, trials))
    return min(range(low, max(low, min(trials, PACK_PER_CORE * cores)) + 1), key=cost)


@dataclass(frozen=True)
class Lane:
    """One run in flight.

    Attributes:
        key: what identifies the run (its worker, or its trial and seed).
        threads: the threads of the worker it trains in.
        epochs_left: epochs it still has to train.
    """

    key: Hashable
    threads: int
    epochs_left: int


def fair_threads(cores: int, lanes: Sequence[Lane]) -> dict[Hashable, int]:
    """Every core shared among the runs in flight: an equal share each, the cores left over to
    the runs with the most epochs left (ties: the earlier key in ``lanes``).

    Example:
        >>> fair_threads(5, [Lane("a", 1, 3), Lane("b", 1, 9)])
        {'b': 3, 'a': 2}
    """
    if not lanes:
        return {}
    order = sorted(lanes, key=lambda lane: -lane.epochs_left)  # stable: ties keep their order
    share, extra = divmod(cores, len(lanes))
    return {lane.key: max(1, share + (1 if rank < extra else 0))
            for rank, lane in enumerate(order)}


def worth_moving(lane: Lane, epoch_seconds: float) -> bool:
    """Whether ``lane`` has enough training left to repay a move: :data:`MIN_EPOCHS_LEFT`
    epochs and :data:`MIN_SECONDS_LEFT` seconds at the pace of its last epoch."""
    return (lane.epochs_left >= MIN_EPOCHS_LEFT
            and lane.epochs_left * epoch_seconds >= MIN_SECONDS_LEFT)


def move_to(cores: int, lanes: Sequence[Lane], lane: Lane, more_to_start: bool,
            epoch_seconds: float) -> int | None:
    """The threads of the wider worker ``lane`` moves to at this epoch's end, or None to stay.

    A run moves when nothing is left to start (a new trial would take the free cores better),
    it has at least :data:`MIN_EPOCHS_LEFT` epochs and :data:`MIN_SECONDS_LEFT` seconds of
    training left, its fair share of the cores (:func:`fair_threads`) is more than it has, and
    the cores it would add are free now.

    Args:
        cores: the cores the sweep may use.
        lanes: every run in flight, ``lane`` among them.
        lane: the run whose epoch just ended.
        more_to_start: whether trials are waiting to start (then no run moves).
        epoch_seconds: how long the epoch that just ended took.
    """
    if more_to_start or not worth_moving(lane, epoch_seconds):
        return None
    free = cores - sum(other.threads for other in lanes)
    target = fair_threads(cores, lanes).get(lane.key, lane.threads)
    if target <= lane.threads or target - lane.threads > free:
        return None
    return target

"""The sweep's tail read off the worker pool: whether a run in flight moves to a wider worker
(the rule itself is :mod:`cifar_search.execution.tail`, pure)."""

from __future__ import annotations

from collections.abc import Callable

from cifar_search.execution import tail
from cifar_search.execution.local import Worker, WorkerPool
from cifar_search.execution.protocol import TrialTask


def wider_threads(pool: WorkerPool, worker: Worker, epochs: int, seconds: float,
                  trained: Callable[[TrialTask], int | None],
                  waiting: Callable[[], bool]) -> int | None:
    """The threads of the wider worker that the run of ``worker`` (``epochs`` trained, the
    last in ``seconds``) moves to, or None when it stays
    (:func:`cifar_search.execution.tail.move_to`). ``trained(task)`` gives the epochs a busy
    worker's run has trained (None: not a run in flight); ``waiting()`` whether a trial would
    start on an idle worker, asked only when a move is worth considering."""
    lane = tail.Lane(worker, worker.threads, worker.task.epochs - epochs)
    if not pool.free_cores() or not tail.worth_moving(lane, seconds):
        return None  # (before reading the study for what is left to start)
    lanes = {w: tail.Lane(w, w.threads, _epochs_left(w, trained)) for w in pool.busy()}
    lanes[worker] = lane
    return tail.move_to(pool.cores, list(lanes.values()), lanes[worker], waiting(), seconds)


def _epochs_left(worker: Worker, trained: Callable[[TrialTask], int | None]) -> int:
    """Epochs the run of a busy worker still has to train (0: an evaluation)."""
    task = worker.task
    done = trained(task) if isinstance(task, TrialTask) else None
    return 0 if done is None else task.epochs - done

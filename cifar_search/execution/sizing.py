"""How many workers a sweep's pool has: ``workers`` as given, or what ``"auto"`` picks for
this machine.

``"auto"`` is one single-threaded worker per core this process may use, or, when the engine
knows every run up front (``planned_runs``: a grid, or random draws without a pruner), as many
as end the sweep soonest with no core idle at its end (:func:`.tail.packed_workers`).

Example:
    >>> from cifar_search.config.sweep import Sweep
    >>> worker_count(Sweep("s", "x.yaml", "dropout", workers=3))
    3
"""

from __future__ import annotations

from cifar_search.config.sweep import AUTO_WORKERS, MAX_WORKERS, Sweep
from cifar_search.execution.tail import packed_workers
from cifar_search.execution.threads import available_cores

__all__ = ["worker_count"]


def worker_count(sweep: Sweep, planned_runs: int | None = None) -> int:
    """The number of workers of ``sweep``'s pool.

    Args:
        sweep: a validated sweep.
        planned_runs: the runs the sweep trains when the engine knows them all up front;
            None when its choices adapt to the results (one worker per core).
    """
    if sweep.workers != AUTO_WORKERS:
        return int(sweep.workers)
    cores = available_cores()
    if planned_runs is None:
        return min(cores, MAX_WORKERS)
    return min(packed_workers(planned_runs, cores), MAX_WORKERS)

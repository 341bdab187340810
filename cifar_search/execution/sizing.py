"""How many workers a sweep's pool has: ``workers`` as given, or what ``"auto"`` picks for
this machine.

On a machine with GPUs, ``"auto"`` is one worker per GPU share (``Compute.gpus_per_trial``:
one per GPU by default, two per GPU at 0.5), no more than the runs planned. Elsewhere it is
one single-threaded worker per core this process may use, or, when the engine
knows every run up front (``planned_runs``: a grid, or random draws without a pruner), as many
as end the sweep soonest with no core idle at its end (:func:`.tail.packed_workers`).

Example:
    >>> from cifar_search.config.sweep import Sweep
    >>> worker_count(Sweep("s", "x.yaml", "dropout", workers=3))
    3
"""

from __future__ import annotations

from cifar_search.config.sweep import AUTO_WORKERS, MAX_WORKERS, Sweep
from cifar_search.execution.devices import run_gpus
from cifar_search.execution.placement import gpu_workers
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
    gpus = run_gpus(sweep.compute)
    if gpus:  # at least one: where none fits, placing it says why
        per_share = gpu_workers(gpus, sweep.compute.gpus_per_trial)
        return max(1, min(per_share, planned_runs or per_share, MAX_WORKERS))
    cores = available_cores()
    if planned_runs is None:
        return min(cores, MAX_WORKERS)
    return min(packed_workers(planned_runs, cores), MAX_WORKERS)

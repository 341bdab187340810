"""How many workers the Optuna engine trains a sweep with.

Every run is known up front when the sampler draws without looking at results (a grid, or
random draws) and no pruner stops runs early: ``workers="auto"`` then packs the runs onto the
cores (:func:`cifar_search.execution.sizing.worker_count`).
"""

from __future__ import annotations

from cifar_search.config.space import Space
from cifar_search.config.sweep import AUTO_WORKERS, Sweep
from cifar_search.execution import sizing

__all__ = ["planned_runs", "worker_count"]


def planned_runs(sweep: Sweep) -> int | None:
    """The runs the sweep trains, when known up front (None: they depend on the results)."""
    known = (sweep.sampler.kind in ("grid", "random") and sweep.pruner.kind == "none"
             and isinstance(sweep.space, Space))
    if not known:
        return None
    trials = sweep.trials
    if sweep.sampler.kind == "grid":  # each point once, however many trials are asked
        points = len(sweep.space.grid())
        trials = points if trials is None else min(trials, points)
    return None if trials is None else trials * sweep.repeats


def worker_count(sweep: Sweep) -> int:
    """The number of workers: ``workers``, or what ``"auto"`` picks for this machine."""
    if sweep.workers != AUTO_WORKERS:
        return int(sweep.workers)
    return sizing.worker_count(sweep, planned_runs(sweep))

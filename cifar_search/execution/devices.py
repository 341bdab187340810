"""A sweep's GPUs and each of its workers' placement on this machine: the run's edge between
:mod:`cifar_search.execution.gpus` (what is there) and :mod:`cifar_search.execution.placement`
(who gets what), with a bad ``--gpus`` or a ``gpus_per_trial`` that does not fit refused
before the first trial. Each machine of a study places its own workers on its own GPUs.

Example:
    >>> from cifar_search.config.specs import Compute
    >>> run_gpus(Compute(), found=())
    ()
"""

from __future__ import annotations

from collections.abc import Sequence

from cifar_search.config.specs import Compute
from cifar_search.errors import ConfigError
from cifar_search.execution.gpus import Gpu, discover, selected
from cifar_search.execution.placement import Placement, place

__all__ = ["placements", "run_gpus"]


def run_gpus(compute: Compute, found: Sequence[Gpu] | None = None) -> tuple[Gpu, ...]:
    """The GPUs a run of ``compute`` uses: ``found`` (this machine's, when None) narrowed to
    ``compute.gpus``.

    Raises:
        ConfigError: ``compute.gpus`` names a GPU that is not there.
    """
    found = discover() if found is None else tuple(found)
    try:
        return selected(found, compute.gpus)
    except ValueError as error:
        raise ConfigError("compute.gpus", f"{list(compute.gpus or ())} is not allowed; "
                          f"{error}") from None


def placements(compute: Compute, workers: int,
               found: Sequence[Gpu] | None = None) -> tuple[Placement, ...]:
    """Each of ``workers`` workers' GPUs and memory cap on this machine (or on ``found``).

    Raises:
        ConfigError: ``compute.gpus`` names a missing GPU, or the workers do not fit on the
            GPUs at ``compute.gpus_per_trial``.
    """
    gpus = run_gpus(compute, found)
    try:
        return place(gpus, workers, compute.gpus_per_trial, compute.gpu_memory_mb,
                     compute.data_parallel)
    except ValueError as error:
        raise ConfigError("compute.gpus_per_trial", str(error)) from None

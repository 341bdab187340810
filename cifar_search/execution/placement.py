"""Which GPUs each worker trains on, and the environment it starts with: pure.

``gpus_per_trial`` (``Compute``) decides: a whole number ``k`` gives each worker ``k`` GPUs
of its own (more than one only with ``data_parallel``); a fraction ``1/m`` (0.5, 0.25, ...)
packs ``m`` workers on each GPU, each capped at its share of the GPU's memory; None (the
default) gives each worker one GPU in turn, shared with memory growth where there are more
workers than GPUs (every GPU each, with ``data_parallel``). Workers fill the GPUs one after
the other before a second one packs onto any, so two workers at 0.5 on two GPUs get one each.

A worker is told its GPUs by ``CUDA_VISIBLE_DEVICES`` (with ``CUDA_DEVICE_ORDER=PCI_BUS_ID``,
so that the index means what ``nvidia-smi`` shows), set before its backend initialises CUDA;
its memory cap travels as :data:`MEMORY_VAR` (TensorFlow's logical device limit, applied by
:func:`cifar_search.execution.worker.configure_gpus`) and as JAX's memory fraction.

Example:
    >>> from cifar_search.execution.gpus import Gpu
    >>> two = [Gpu(0, "A", 16000), Gpu(1, "A", 16000)]
    >>> [p.label for p in place(two, 4, gpus_per_trial=0.5)]
    ['GPU:0 (7488 MiB)', 'GPU:1 (7488 MiB)', 'GPU:0 (7488 MiB)', 'GPU:1 (7488 MiB)']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cifar_search.execution.gpus import Gpu

__all__ = ["MEMORY_VAR", "Placement", "device_label", "gpu_workers", "place", "share_mib",
           "trials_per_gpu", "worker_env"]

#: The environment variable that carries a worker's GPU memory cap, MiB, to its backend.
MEMORY_VAR = "CIFAR_SEARCH_GPU_MEMORY_MB"

#: MiB of each GPU share left outside the backend's limit: every process's CUDA context and
#: cuDNN workspaces live there (about 300-500 MiB each on recent drivers).
CONTEXT_RESERVE_MIB = 512
#: The smallest memory cap a share may have (``Compute.gpu_memory_mb``'s floor).
MIN_SHARE_MIB = 64


@dataclass(frozen=True)
class Placement:
    """One worker's GPUs (none: it sees whatever the machine has, as on a CPU-only machine)
    and its memory cap in MiB on each (None: memory grows as needed)."""

    gpus: tuple[Gpu, ...] = ()
    memory_mib: int | None = None

    @property
    def label(self) -> str:
        """``GPU:2 (39936 MiB)``, ``GPU:0,1``, or ``any`` for no GPUs of its own."""
        if not self.gpus:
            return "any"
        cap = f" ({self.memory_mib} MiB)" if self.memory_mib is not None else ""
        return "GPU:" + ",".join(str(g.index) for g in self.gpus) + cap


def trials_per_gpu(gpus_per_trial: float) -> int:
    """``m`` of a fraction ``1/m`` (0.5: 2); 1 for a whole number."""
    return 1 if gpus_per_trial >= 1 else round(1 / gpus_per_trial)


def share_mib(memory_mib: int, per_gpu: int) -> int:
    """The memory cap of one of ``per_gpu`` workers on a GPU of ``memory_mib`` MiB."""
    return max(MIN_SHARE_MIB, memory_mib // per_gpu - CONTEXT_RESERVE_MIB)


def gpu_workers(gpus: Sequence[Gpu], gpus_per_trial: float | None) -> int:
    """What ``workers="auto"`` means on these GPUs: one worker per GPU share (one per GPU
    when ``gpus_per_trial`` is None); 0 without GPUs (the cores decide)."""
    if not gpus:
        return 0
    if gpus_per_trial is None:
        return len(gpus)
    if gpus_per_trial >= 1:
        return len(gpus) // int(gpus_per_trial)
    return len(gpus) * trials_per_gpu(gpus_per_trial)


def place(gpus: Sequence[Gpu], workers: int, gpus_per_trial: float | None = None,
          memory_mb: int | None = None, data_parallel: bool = False) -> tuple[Placement, ...]:
    """Each of ``workers`` workers' GPUs and memory cap.

    Args:
        gpus: the GPUs the run may use (:func:`cifar_search.execution.gpus.discover`,
            narrowed by ``--gpus``); none: every worker gets an empty :class:`Placement`.
        gpus_per_trial: see the module's text.
        memory_mb: ``Compute.gpu_memory_mb``: a cap for every worker (below a share's own).
        data_parallel: with ``gpus_per_trial`` None, every worker sees every GPU.

    Raises:
        ValueError: more workers than the GPUs hold at ``gpus_per_trial``; the message says
            what would fit.
    """
    if not gpus:
        return (Placement(),) * workers
    if gpus_per_trial is None:
        if data_parallel:
            return (Placement(tuple(gpus), memory_mb),) * workers
        return tuple(Placement((gpus[i % len(gpus)],), memory_mb) for i in range(workers))
    fits = gpu_workers(gpus, gpus_per_trial)
    if workers > fits:
        there = ",".join(str(g.index) for g in gpus)
        raise ValueError(f"{workers} workers at gpus_per_trial={gpus_per_trial:g} need "
                         f"{_needed(workers, gpus_per_trial)} GPUs and {len(gpus)} are "
                         f"visible ({there}); at most {fits} workers fit, or lower "
                         "gpus_per_trial")
    if gpus_per_trial >= 1:
        k = int(gpus_per_trial)
        return tuple(Placement(tuple(gpus[i * k:(i + 1) * k]), memory_mb)
                     for i in range(workers))
    per_gpu = trials_per_gpu(gpus_per_trial)
    placements = []
    for i in range(workers):
        gpu = gpus[i % len(gpus)]
        cap = share_mib(gpu.memory_mib, per_gpu)
        placements.append(Placement((gpu,), cap if memory_mb is None else min(cap, memory_mb)))
    return tuple(placements)


def _needed(workers: int, gpus_per_trial: float) -> int:
    """GPUs that ``workers`` workers at ``gpus_per_trial`` need."""
    if gpus_per_trial >= 1:
        return workers * int(gpus_per_trial)
    return math.ceil(workers / trials_per_gpu(gpus_per_trial))


def worker_env(placement: Placement) -> dict[str, str]:
    """The environment variables a worker of ``placement`` sets before its backend starts
    (none for a worker without GPUs of its own).

    Example:
        >>> worker_env(Placement((Gpu(2, "A", 16000),), 7488))["CUDA_VISIBLE_DEVICES"]
        '2'
    """
    if not placement.gpus:
        return {}
    env = {"CUDA_DEVICE_ORDER": "PCI_BUS_ID",
           "CUDA_VISIBLE_DEVICES": ",".join(str(g.index) for g in placement.gpus)}
    if placement.memory_mib is None:
        env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
        env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"  # JAX: claim memory as used
    else:
        env[MEMORY_VAR] = str(placement.memory_mib)
        smallest = min(g.memory_mib for g in placement.gpus)
        env["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{placement.memory_mib / smallest:.3f}"
    return env


def device_label(backend_names: Sequence[str], cuda_visible_devices: str | None) -> str:
    """What a trial trained on, as logged in ``resolved.device``: ``GPU:2 (NVIDIA H100 80GB
    HBM3)`` with ``nvidia-smi``'s index (read back from ``CUDA_VISIBLE_DEVICES`` where it
    holds indices), ``GPU:0,1 (...)`` for several, ``CPU`` when the backend sees no GPU.

    Args:
        backend_names: the names of the GPUs the backend sees, in its order.
        cuda_visible_devices: the worker's ``CUDA_VISIBLE_DEVICES`` (None: unset).

    Example:
        >>> device_label(["NVIDIA H100 80GB HBM3"], "2")
        'GPU:2 (NVIDIA H100 80GB HBM3)'
    """
    if not backend_names:
        return "CPU"
    indices = [str(i) for i in range(len(backend_names))]
    listed = [e.strip() for e in (cuda_visible_devices or "").split(",") if e.strip()]
    if len(listed) >= len(backend_names) and all(e.isdigit() for e in listed):
        indices = listed[:len(backend_names)]
    names = ", ".join(dict.fromkeys(backend_names))
    return f"GPU:{','.join(indices)} ({names})"

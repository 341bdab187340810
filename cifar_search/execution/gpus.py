"""The GPUs of this machine, found without initialising one: ``nvidia-smi``'s list, narrowed
by the ``CUDA_VISIBLE_DEVICES`` this process was started with and by ``--gpus``.

The coordinator and the fork server never ask TensorFlow (or JAX) for devices: doing so
initialises CUDA in the process, and every worker forked from it would inherit a CUDA context
made before it was told which GPU is its own. ``nvidia-smi`` is a separate process that reads
the driver; where it is missing, this machine has no GPU as far as the sweep is concerned and
workers see whatever the backend finds (as a CPU-only machine does). Parsing is pure.

Example:
    >>> parse_nvidia_smi("0, GPU-1a, NVIDIA H100 80GB HBM3, 81559 MiB")
    (Gpu(index=0, name='NVIDIA H100 80GB HBM3', memory_mib=81559, uuid='GPU-1a'),)
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["NVIDIA_SMI_QUERY", "Gpu", "discover", "parse_nvidia_smi", "selected", "visible"]

#: The one ``nvidia-smi`` call: one line per GPU, ``index, uuid, name, memory.total``.
NVIDIA_SMI_QUERY = ("--query-gpu=index,uuid,name,memory.total", "--format=csv,noheader")

#: Seconds ``nvidia-smi`` may take before the machine counts as having no usable GPU.
NVIDIA_SMI_TIMEOUT = 20.0


@dataclass(frozen=True)
class Gpu:
    """One GPU as ``nvidia-smi`` lists it: its index (the order of PCI bus ids, which workers
    are told to use too), name, memory in MiB and UUID."""

    index: int
    name: str
    memory_mib: int
    uuid: str = ""


def parse_nvidia_smi(text: str) -> tuple[Gpu, ...]:
    """The GPUs of ``nvidia-smi --query-gpu=index,uuid,name,memory.total
    --format=csv,noheader``'s output; lines it cannot read (an error text) are left out."""
    found = []
    for line in text.splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) < 4:
            continue
        index, uuid, memory = fields[0], fields[1], fields[-1]
        name = ", ".join(fields[2:-1])  # a name with a comma in it stays whole
        number = memory.removesuffix("MiB").strip()
        if not index.isdigit() or not number.isdigit():
            continue
        found.append(Gpu(int(index), name, int(number), uuid))
    return tuple(found)


def visible(gpus: Iterable[Gpu], cuda_visible_devices: str | None) -> tuple[Gpu, ...]:
    """The GPUs a process started with ``CUDA_VISIBLE_DEVICES`` may use (None: all of them).
    Like CUDA, it reads indices or UUIDs (or a UUID's start) and stops at the first entry that
    names no GPU; an empty value or ``-1`` hides every GPU."""
    gpus = tuple(gpus)
    if cuda_visible_devices is None:
        return gpus
    chosen: list[Gpu] = []
    for entry in (e.strip() for e in cuda_visible_devices.split(",")):
        match = [g for g in gpus if (entry.isdigit() and g.index == int(entry))
                 or (entry and not entry.isdigit() and g.uuid.startswith(entry))]
        if len(match) != 1 or match[0] in chosen:
            break
        chosen.append(match[0])
    return tuple(chosen)


def selected(gpus: Iterable[Gpu], indices: Iterable[int] | None) -> tuple[Gpu, ...]:
    """The GPUs of ``--gpus`` (``nvidia-smi``'s indices; None: every one of ``gpus``).

    Raises:
        ValueError: an index names no GPU of ``gpus``; the message lists those there are.
    """
    gpus = tuple(gpus)
    if indices is None:
        return gpus
    by_index = {g.index: g for g in gpus}
    missing = [i for i in indices if i not in by_index]
    if missing:
        there = ",".join(str(g.index) for g in gpus) or "none"
        raise ValueError(f"GPU {missing[0]} is not one of this machine's visible GPUs "
                         f"({there}, as nvidia-smi numbers them)")
    return tuple(by_index[i] for i in indices)


@functools.cache
def discover() -> tuple[Gpu, ...]:
    """This machine's GPUs that this process may use, read once per process from
    ``nvidia-smi`` (none where it is missing, fails or takes too long)."""
    return visible(_nvidia_smi(), os.environ.get("CUDA_VISIBLE_DEVICES"))


def _nvidia_smi() -> tuple[Gpu, ...]:
    """Every GPU ``nvidia-smi`` lists, unnarrowed."""
    command = shutil.which("nvidia-smi")
    if command is None:
        return ()
    try:
        done = subprocess.run([command, *NVIDIA_SMI_QUERY], capture_output=True, text=True,
                              timeout=NVIDIA_SMI_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return parse_nvidia_smi(done.stdout) if done.returncode == 0 else ()

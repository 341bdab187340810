"""Whether the installed TensorFlow can use this machine's GPUs, known without importing it:
a run on a machine whose GPU the backend cannot use says so in its first line, with the
command that fixes it, instead of training on the CPU in silence.

The default install is ``tensorflow-cpu`` on x86-64 (a CPU-only build); the ``[gpu]`` extra
brings ``tensorflow[and-cuda]``, the CUDA build with its CUDA libraries. Both install the same
``tensorflow`` package, so whichever was written last is the one there: its own
``build_info.py`` says which (read as text, TensorFlow is not imported). The decision is pure
(:func:`unusable_gpu_line`); :func:`installed` gathers its facts.

Example:
    >>> from cifar_search.execution.gpus import Gpu
    >>> line = unusable_gpu_line([Gpu(0, "NVIDIA L4", 22491)],
    ...                          Installed("tensorflow-cpu", "2.21.0", cuda_build=False))
    >>> line.split(" but ")[0]
    'GPU: this machine has 1 GPU (NVIDIA L4)'
"""

from __future__ import annotations

import ast
import ctypes.util
import importlib.util
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from cifar_search.execution.gpus import Gpu

__all__ = ["FIX_GPU_BUILD", "FIX_JAX_GPU", "Installed", "installed", "unusable_gpu_line"]

#: The command that replaces a CPU-only TensorFlow with the CUDA build (and its libraries):
#: both builds write the same files, so the CPU one goes first.
FIX_GPU_BUILD = ('pip uninstall -y tensorflow-cpu tensorflow && '
                 'pip install "tensorflow[and-cuda]>=2.21,<2.22"')

#: The command that adds JAX's CUDA plugin (and its CUDA libraries) to a CPU-only JAX.
FIX_JAX_GPU = 'pip install -U "jax[cuda12]"'

#: The distributions that install TensorFlow's ``tensorflow`` package, the CUDA build first.
TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu")


@dataclass(frozen=True)
class Installed:
    """The TensorFlow installed: its distribution (None: none), version, whether its files
    are a CUDA build (None: unknown), whether cuDNN is there for it (pip's
    ``nvidia-cudnn-cu12`` or the system's), and the operating system and machine."""

    distribution: str | None
    version: str = ""
    cuda_build: bool | None = None
    system: str = "Linux"
    machine: str = "x86_64"
    cuda_libraries: bool = True


def unusable_gpu_line(gpus: Sequence[Gpu], found: Installed) -> str | None:
    """One line when this machine has GPUs that the installed TensorFlow cannot use (None
    when it can, when it may, or when there are no GPUs)."""
    if not gpus:
        return None
    names = ", ".join(dict.fromkeys(g.name for g in gpus))
    have = f"GPU: this machine has {len(gpus)} GPU{'s' if len(gpus) > 1 else ''} ({names})"
    if found.system == "Windows" and found.distribution != "jax":
        return (f"{have} but TensorFlow has no GPU build for native Windows, so trials train "
                'on the CPU; run under WSL2 and install there with: pip install -e ".[gpu]"')
    if found.system != "Linux" or found.machine not in ("x86_64", "AMD64"):
        return None  # aarch64 or another system: whatever build there is may use it
    if found.distribution is None or found.cuda_build is None:
        return None
    if found.cuda_build and not found.cuda_libraries:
        return (f"{have} but TensorFlow {found.version} finds no CUDA libraries (cuDNN), so "
                f'trials train on the CPU; fix: pip install "tensorflow[and-cuda]>=2.21,<2.22"')
    if found.cuda_build:
        return None
    if found.distribution == "jax":
        return (f"{have} but JAX {found.version} has no CUDA plugin, so trials train on the "
                f"CPU; fix: {FIX_JAX_GPU}")
    return (f"{have} but TensorFlow {found.version} ({found.distribution}) is a CPU-only "
            f"build, so trials train on the CPU; fix: {FIX_GPU_BUILD}")


def installed(backend: str = "tensorflow") -> Installed:
    """The facts :func:`unusable_gpu_line` decides on, for this environment and the Keras
    ``backend`` the workers train on (``jax``: JAX, whose GPU build is a CUDA plugin)."""
    system, machine = platform.system(), platform.machine()
    if backend == "jax":
        return _installed_jax(system, machine)
    spec = importlib.util.find_spec("tensorflow")
    if spec is None or spec.origin is None:
        return Installed(None, system=system, machine=machine)
    cuda_build = _cuda_build(Path(spec.origin).parent / "python" / "platform" / "build_info.py")
    for name in TENSORFLOW_DISTRIBUTIONS:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        shown = name if cuda_build is not False else _cpu_distribution(name)
        return Installed(shown, version, cuda_build, system, machine, _cudnn())
    return Installed("tensorflow", "", cuda_build, system, machine, _cudnn())


def _installed_jax(system: str, machine: str) -> Installed:
    """JAX as :class:`Installed`: a CUDA build when a ``jax-cuda*-plugin`` is installed (its
    wheels bring their CUDA libraries)."""
    try:
        version = metadata.version("jax")
    except metadata.PackageNotFoundError:
        return Installed(None, system=system, machine=machine)
    plugin = any(_has(f"jax-cuda{cuda}-plugin") for cuda in (12, 13))
    return Installed("jax", version, plugin, system, machine)


def _has(distribution: str) -> bool:
    """Whether ``distribution`` is installed."""
    try:
        metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def _cudnn() -> bool:
    """Whether cuDNN is installed: by pip (``nvidia-cudnn-cu12``, what ``[and-cuda]``
    brings) or where the system's loader finds it."""
    for name in ("nvidia-cudnn-cu12", "nvidia-cudnn-cu13"):
        try:
            metadata.version(name)
            return True
        except metadata.PackageNotFoundError:
            continue
    return ctypes.util.find_library("cudnn") is not None


def _cpu_distribution(name: str) -> str:
    """The distribution whose CPU-only files are installed: ``tensorflow-cpu`` when it is
    there (it wrote over the CUDA build's), else ``name``."""
    try:
        metadata.version("tensorflow-cpu")
    except metadata.PackageNotFoundError:
        return name
    return "tensorflow-cpu"


def _cuda_build(build_info: Path) -> bool | None:
    """``is_cuda_build`` of TensorFlow's generated ``build_info.py`` (None: unreadable)."""
    try:
        text = build_info.read_text()
    except OSError:
        return None
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Tuple) and len(node.elts) == 2:
            key, value = node.elts
            if (isinstance(key, ast.Constant) and key.value == "is_cuda_build"
                    and isinstance(value, ast.Constant) and isinstance(value.value, bool)):
                return value.value
    return None

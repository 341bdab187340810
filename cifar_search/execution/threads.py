"""The thread pools of a process that trains: the one list of variables that limit them.

TensorFlow and the BLAS libraries read these when they start, so a process sets them (or
inherits them) before it imports TensorFlow. The Optuna engine's workers and the sklearn
engine's joblib workers both use them.

Example:
    >>> thread_env(2)
    {'OMP_NUM_THREADS': '2', 'TF_NUM_INTRAOP_THREADS': '2', 'TF_NUM_INTEROP_THREADS': '2'}
"""

from __future__ import annotations

import os

__all__ = ["THREAD_VARS", "available_cores", "thread_env"]

#: Environment variables that size the OpenMP/BLAS pool and TensorFlow's two thread pools.
THREAD_VARS = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def thread_env(threads: int) -> dict[str, str]:
    """The environment that limits every pool of :data:`THREAD_VARS` to ``threads`` threads."""
    return {name: str(threads) for name in THREAD_VARS}


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1

"""A worker process: imports Keras (and TensorFlow) once, then serves the tasks it is handed.

What a task does is not this module's business: the pool gives each worker a
:class:`TaskRunner` (the session's, :func:`cifar_search.session.worker.run_task`, trains and
evaluates), and this module only runs the process around it. Workers never touch the Optuna
storage or the MLflow store; they talk to the coordinator over a pipe (see
:mod:`cifar_search.execution.protocol`). A worker ignores Ctrl-C: the coordinator decides when
it stops. Threads are set before TensorFlow starts so that N workers share the cores without
oversubscribing them; its GPUs (``CUDA_VISIBLE_DEVICES``) and memory cap are set in its
environment before TensorFlow initialises a GPU (:func:`cifar_search.execution.placement.
worker_env`), and GPU memory is claimed as needed (or up to that cap) so that N workers
share one GPU.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from collections.abc import Mapping
from typing import Protocol

from cifar_search.execution.backend import uses_tensorflow
from cifar_search.execution.placement import MEMORY_VAR
from cifar_search.execution.protocol import Ready, StopTask, Task
from cifar_search.execution.threads import thread_env


class TaskRunner(Protocol):
    """Runs one task in a worker: sends its messages (epoch reports, its result or its
    failure) on ``conn`` and reads the replies; a failing task is reported, never raised.
    A module-level function, so that it crosses to a forked or spawned worker by name."""

    def __call__(self, conn: Connection, task: Task) -> None: ...


#: The name workers go by in ``ps`` and ``pgrep`` (Linux).
PROCESS_NAME = "cifar-worker"


def _limit_threads(threads: int) -> None:
    """Pin TensorFlow and the BLAS pools to ``threads`` threads (before TF starts); a worker
    without TensorFlow (JAX alone: :func:`~cifar_search.execution.backend.uses_tensorflow`)
    sets the environment only."""
    os.environ.update(thread_env(threads))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not uses_tensorflow():
        return
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def configure_gpus(memory_mb: int | None = None) -> list[str]:
    """Let this process share the GPUs it sees; call it before TensorFlow runs any op.

    Every visible GPU gets memory growth (TensorFlow otherwise claims nearly all of a GPU's
    memory at start-up), or, when ``memory_mb`` is given, one logical device with that hard
    limit. Without a GPU this does nothing.

    A worker without TensorFlow (JAX alone) configures nothing here: JAX's memory is set by
    its environment (:func:`cifar_search.execution.placement.worker_env`).

    Returns:
        The names of the GPUs configured (empty on a CPU-only machine, or without TensorFlow).

    Example:
        >>> configure_gpus(4096)  # doctest: +SKIP
        ['/physical_device:GPU:0']
    """
    if not uses_tensorflow():
        return []
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        if memory_mb is None:
            tf.config.experimental.set_memory_growth(gpu, True)
        else:
            tf.config.set_logical_device_configuration(
                gpu, [tf.config.LogicalDeviceConfiguration(memory_limit=memory_mb)])
    return [gpu.name for gpu in gpus]


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when its parent (the fork server, or the coordinator
    where workers are spawned) dies; :func:`_die_with_coordinator` covers the coordinator."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        libc.prctl(15, PROCESS_NAME.encode())  # PR_SET_NAME: what ps and pgrep show
    except (OSError, AttributeError):  # not Linux: the lifeline alone
        pass
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def _die_with_coordinator(lifeline: Connection) -> None:
    """End this worker at once when the coordinator dies, even by ``kill -9`` and mid-epoch:
    an orphan must not go on training or write into a trial folder that a rerun already
    continues. The fork server, this worker's parent, can take seconds to follow the
    coordinator (it has TensorFlow loaded), so the worker watches the coordinator itself:
    ``lifeline`` is the read end of a pipe whose only writer is the coordinator and which it
    never writes to; its end of file is the coordinator's death."""
    def watch() -> None:
        try:
            lifeline.recv_bytes()
        except (EOFError, OSError):
            pass
        os._exit(1)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def _log_to(path: str | None) -> None:
    """Send this process's output (TensorFlow's C++ logs, Python warnings, anything printed)
    to the file at ``path``, appended; None leaves it on the terminal."""
    if path is None:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def main(conn: Connection, lifeline: Connection, runner: TaskRunner, threads: int,
         gpu_memory_mb: int | None = None, log_path: str | None = None,
         env: Mapping[str, str] | None = None) -> None:
    """Worker entry point: serve tasks from ``conn`` with ``runner`` until told to stop.

    Args:
        lifeline: closes when the coordinator dies (:func:`_die_with_coordinator`).
        runner: runs each task.
        threads: CPU threads of TensorFlow's pools.
        gpu_memory_mb: this worker's GPU memory limit in MiB; None grows memory as needed.
        log_path: the file this worker's output goes to (None: the terminal).
        env: variables set first, before any GPU is initialised: its GPUs and memory cap
            (:func:`cifar_search.execution.placement.worker_env`); a cap there overrides
            ``gpu_memory_mb``.
    """
    os.environ.update(env or {})
    if MEMORY_VAR in os.environ:
        gpu_memory_mb = int(os.environ[MEMORY_VAR])
    _die_with_parent()
    _die_with_coordinator(lifeline)
    _log_to(log_path)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_threads(threads)
    configure_gpus(gpu_memory_mb)
    import keras  # noqa: F401  (paid once per worker, not once per trial)

    # what the imports made lives as long as the worker: frozen, it is left out of the garbage
    # collection of each trial's clean start (Keras' clear_session), which otherwise walks
    # some 400,000 objects (0.1 to 0.8 s a trial, the whole cost of an untrained one)
    gc.freeze()
    conn.send(Ready(os.getpid()))
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if isinstance(task, StopTask):
            return
        runner(conn, task)

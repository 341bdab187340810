"""The worker pool a session opens: the sweep's workers, each running
:func:`cifar_search.session.worker.run_task` on its own GPUs (where there are any), their
output in the workspace's log."""

from __future__ import annotations

from cifar_search.config.sweep import Sweep
from cifar_search.errors import debugging
from cifar_search.execution import local
from cifar_search.execution.devices import placements
from cifar_search.execution.local import WorkerPool, threads_per_worker
from cifar_search.session.worker import run_task
from cifar_search.workspace import Workspace

#: Seconds the coordinator waits for worker messages before checking on itself again.
POLL_SECONDS = 1.0


def open_pool(sweep: Sweep, workspace: Workspace, workers: int) -> WorkerPool:
    """The sweep's ``workers`` (the cores shared among them, each on its GPUs: see
    :func:`cifar_search.execution.devices.placements`); their output goes to the sweep's log
    file, or to the terminal with ``--debug``."""
    log = None if debugging() else str(workspace.log_file(sweep.name))
    return WorkerPool(workers, threads_per_worker(workers),
                      sweep.compute.gpu_memory_mb, log, runner=run_task,
                      placements=placements(sweep.compute, workers))


def start_fork_server(sweep: Sweep) -> None:
    """Start the fork server of the session's workers now, on the sweep's Keras backend
    (TensorFlow and Keras are imported there while the caller opens its stores)."""
    local.use_backend(sweep.compute.backend)
    local.start_fork_server(run_task)

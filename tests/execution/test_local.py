"""The worker pool: forked workers, replaced when they die or have trained enough trials."""

import os
import subprocess
import sys
import time

import pytest

from cifar_search.execution import local as pool
from cifar_search.execution.gpus import Gpu
from cifar_search.execution.local import WorkerPool
from cifar_search.execution.placement import MEMORY_VAR, place
from cifar_search.session.worker import run_task

pytestmark = pytest.mark.processes


def wait_ready(workers, seconds=120):
    deadline = time.monotonic() + seconds
    while not workers.idle() and time.monotonic() < deadline:
        for _ in workers.events(1.0):
            pass
    assert workers.idle(), "no worker became ready"
    return workers.idle()[0]


def test_a_worker_is_replaced_after_its_trials(monkeypatch):
    monkeypatch.setattr(pool, "TRIALS_PER_WORKER", 2)
    with WorkerPool(1, threads=1, runner=run_task) as workers:
        first = wait_ready(workers)
        workers.trial_done(first)
        assert workers.workers == [first] and first.trials == 1
        workers.trial_done(first)
        assert not first.process.is_alive()
        assert len(workers.workers) == 1 and workers.workers[0] is not first
        second = wait_ready(workers)
        assert second.process.pid != first.process.pid and second.trials == 0


def test_a_message_to_a_worker_that_just_died_is_dropped_and_its_death_reported():
    with WorkerPool(1, threads=1, runner=run_task) as workers:
        worker = wait_ready(workers)
        worker.process.kill()
        worker.process.join()
        worker.reply(pool.Reply.CONTINUE)  # the pipe is broken: no error
        worker.send("a task")
        deaths = [w for w, message in workers.events(5.0) if message is None]
        assert deaths == [worker] and worker.task == "a task"


def test_a_wider_worker_takes_the_idle_cores_and_gives_them_back():
    with WorkerPool(2, threads=1, runner=run_task) as workers:
        deadline = time.monotonic() + 120
        while len(workers.idle()) < 2 and time.monotonic() < deadline:
            for _ in workers.events(1.0):
                pass
        moved, other = workers.idle()
        wide = workers.widen(moved, 2)
        assert workers.workers == [wide] and wide.threads == 2
        assert not moved.process.is_alive() and not other.process.is_alive()
        assert wait_ready(workers) is wide
        workers.trial_done(wide)  # its run ended: two workers of one thread again
        assert not wide.process.is_alive()
        assert [w.threads for w in workers.workers] == [1, 1]


def report_gpu_env(conn, task):
    """A task runner that answers with the GPU variables its worker started with."""
    conn.send({name: os.environ.get(name) for name in (
        "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", MEMORY_VAR)})


def test_each_worker_starts_with_its_gpus_and_a_replacement_takes_them_over():
    two = (Gpu(0, "NVIDIA L4", 16000), Gpu(1, "NVIDIA L4", 16000))
    with WorkerPool(2, threads=1, runner=report_gpu_env,
                    placements=place(two, 2, 0.5)) as workers:
        deadline = time.monotonic() + 120
        while len(workers.idle()) < 2 and time.monotonic() < deadline:
            for _ in workers.events(1.0):
                pass
        seen = {}
        for worker in workers.idle():
            worker.send("env")
            seen[worker.slot] = workers.result_of(worker, 1.0)
        assert seen == {0: {"CUDA_VISIBLE_DEVICES": "0", "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
                            MEMORY_VAR: "7488"},
                        1: {"CUDA_VISIBLE_DEVICES": "1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
                            MEMORY_VAR: "7488"}}
        second = next(w for w in workers.workers if w.slot == 1)
        second.process.kill()
        second.process.join()
        replacement = workers.replace(second)
        assert wait_ready(workers) in workers.workers and replacement.slot == 1
        replacement.send("env")
        assert workers.result_of(replacement, 1.0)["CUDA_VISIBLE_DEVICES"] == "1"


def test_the_fork_servers_imports_initialise_no_device():
    """Listing devices is what initialises CUDA: a fork server that did it would hand every
    worker a CUDA context made before the worker's CUDA_VISIBLE_DEVICES was set."""
    modules = ", ".join([*pool.PRELOAD, run_task.__module__])
    code = (f"import importlib\nfor m in {modules.split(', ')!r}: importlib.import_module(m)\n"
            "from tensorflow.python.eager import context\n"
            "print(context.context()._physical_devices is None)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=True)
    assert done.stdout.strip().splitlines()[-1] == "True"

"""The worker pool: forked workers, replaced when they die or have trained enough trials."""

import time

import pytest

from cifar_search.execution import local as pool
from cifar_search.execution.local import WorkerPool
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

"""The local executor: worker processes on this machine, and the pipes to them.

Workers are forked from a fork server (``multiprocessing``'s ``forkserver``) that has imported
TensorFlow and Keras once, and nothing else: each worker starts in well under a second instead
of paying a ~4 s import, yet inherits no MLflow, database or TensorFlow runtime state (no
TensorFlow op has run in the server, so each worker still sets its own thread pools and GPU
memory). Where there is no fork server (Windows), workers are spawned, each importing
TensorFlow itself. A worker serves tasks with the pool's task runner (a module-level function
the caller gives, e.g. :func:`cifar_search.session.worker.run_task`; its module is preloaded by
the fork server too) until stopped; one that dies — a crash, ``kill -9``, out of memory — is
noticed through its process sentinel, and the coordinator replaces it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from cifar_search.execution import oom, worker
from cifar_search.execution.placement import Placement, worker_env
from cifar_search.execution.protocol import Message, Ready, Reply, StopTask
from cifar_search.execution.threads import available_cores
from cifar_search.execution.worker import TaskRunner

#: Trials a worker process trains before it is replaced by a fresh one: a bound on memory
#: growth should some library keep state per trial again (see
#: :func:`cifar_search.model.build.clear_session`).
TRIALS_PER_WORKER = 100

#: What the fork server imports once for every worker it forks (TensorFlow, quietly).
PRELOAD = ["cifar_search.execution.preload"]


def worker_context(
        runner: TaskRunner,
) -> multiprocessing.context.SpawnContext | multiprocessing.context.ForkServerContext:
    """Forked from a fork server that has imported TensorFlow and the module of ``runner``
    (spawned where there is none). The server starts with the first worker and inherits the
    environment then (quiet TensorFlow logs)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*PRELOAD, runner.__module__])
    return context


def use_backend(backend: str) -> None:
    """Train the workers started from now on with Keras's ``backend``: ``KERAS_BACKEND`` is
    set in this process's environment, which the fork server inherits when it starts and
    reads when it imports Keras once for every worker; a fork server that this process
    started for another backend is stopped first (a process that runs sweeps of both)."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") != backend:
        import multiprocessing.forkserver

        server = multiprocessing.forkserver._forkserver
        if getattr(server, "_forkserver_pid", None) is not None:
            # the public API has no stop; the next worker starts a server on ``backend``
            server._stop()  # type: ignore[attr-defined]
    os.environ["KERAS_BACKEND"] = backend


def start_fork_server(runner: TaskRunner) -> None:
    """Start the fork server for workers that run ``runner`` now, so that it imports
    TensorFlow while the caller does other set-up (the first worker started would otherwise
    wait for that import); nothing where workers are spawned, or when it runs already."""
    context = worker_context(runner)
    if context.get_start_method() == "forkserver":
        import multiprocessing.forkserver

        multiprocessing.forkserver.ensure_running()


def threads_per_worker(workers: int) -> int:
    """Cores divided among ``workers``, at least one thread each."""
    return max(1, available_cores() // workers)


@dataclass(eq=False)
class Worker:
    """One worker process, its pipe, its threads, and the task it is working on (None: idle);
    ``moving_to`` is the threads of the wider worker its run moves to at its epoch's end;
    ``oom_counts`` the out-of-memory kills counted when it was given its task (see
    :meth:`death`); ``slot`` the pool's place it fills, whose GPUs it trains on."""

    process: Any
    conn: Connection
    threads: int = 1
    slot: int = 0
    task: Any = None
    ready: bool = False
    trials: int = 0
    moving_to: int | None = None
    oom_counts: oom.OomCounts | None = None

    def send(self, task: Any) -> None:
        """Hand the worker a task (a ``TrialTask`` or an ``EvaluateTask``). A worker that has
        just died keeps the task: its death, reported by :meth:`WorkerPool.events`, decides
        what becomes of it."""
        self.task = task
        self.oom_counts = oom.count(self.process.pid)
        self._write(task)

    def death(self) -> oom.Death:
        """Why the worker died: out of memory when the kernel's OOM killer ended it during
        its task (:func:`cifar_search.execution.oom.worker_death`), else its exit code."""
        after = oom.recount(self.oom_counts) if self.oom_counts is not None else None
        return oom.worker_death(self.exitcode, self.oom_counts, after)

    def reply(self, reply: Reply) -> None:
        """Answer an epoch report (a worker that died after sending it gets nothing)."""
        self._write(reply)

    def _write(self, message: Any) -> None:
        try:
            self.conn.send(message)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the process is gone; its sentinel tells the pool

    @property
    def exitcode(self) -> int | None:
        """The process's exit code once it has died."""
        return self.process.exitcode


class WorkerPool:
    """``size`` worker processes with ``threads`` threads each, and on a GPU machine
    ``gpu_memory_mb`` MiB of GPU memory each (None: each grows its memory as needed); their
    output (TensorFlow's logs and warnings) goes to ``log_path`` when given. Each worker runs
    the tasks it is sent with ``runner``. ``placements`` gives each of the ``size`` slots its
    GPUs and memory cap (:func:`cifar_search.execution.devices.placements`); a worker that
    replaces another takes its slot, and so its GPUs.

    Example:
        >>> with WorkerPool(2, threads=1, runner=run_task) as pool:  # doctest: +SKIP
        ...     pool.wait_idle(1.0).send(task)
    """

    def __init__(self, size: int, threads: int, gpu_memory_mb: int | None = None,
                 log_path: str | None = None, *, runner: TaskRunner,
                 placements: Sequence[Placement] | None = None) -> None:
        self.size = size
        self.placements = tuple(placements or (Placement(),) * size)
        self.threads = threads
        self.gpu_memory_mb = gpu_memory_mb
        self.log_path = log_path  # where workers' output goes (None: the terminal)
        self.runner = runner
        self._context = worker_context(runner)
        self.workers: list[Worker] = []
        # never written to: it closes when this process ends, however it ends, and each
        # worker ends with it (cifar_search.execution.worker._die_with_coordinator)
        self._lifeline, self._lifeline_writer = self._context.Pipe(duplex=False)

    def __enter__(self) -> WorkerPool:
        for slot in range(self.size):
            self._spawn(slot=slot)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def cores(self) -> int:
        """The cores the pool may keep busy: its workers times their threads, at most the
        machine's (more workers than cores share them; a wider worker gets no more)."""
        return max(self.threads, min(self.size * self.threads, available_cores()))

    def _spawn(self, threads: int | None = None, slot: int = 0) -> Worker:
        threads = threads or self.threads
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=worker.main,
            args=(child, self._lifeline, self.runner, threads, self.gpu_memory_mb,
                  self.log_path, worker_env(self.placements[slot])),
            daemon=True, name=worker.PROCESS_NAME,
        )
        process.start()
        child.close()
        new = Worker(process, parent, threads, slot=slot)
        self.workers.append(new)
        return new

    def idle(self) -> list[Worker]:
        """Workers that are started and have no task."""
        return [w for w in self.workers if w.ready and w.task is None]

    def busy(self) -> list[Worker]:
        """Workers with a task."""
        return [w for w in self.workers if w.task is not None]

    def free_cores(self) -> int:
        """The pool's cores that no busy worker uses."""
        return max(0, self.cores - sum(w.threads for w in self.busy()))

    def events(self, timeout: float | None) -> Iterator[tuple[Worker, Message | None]]:
        """Messages from workers as (worker, message); message None means the worker died."""
        sources: dict[Any, Worker] = {}
        for w in self.workers:
            sources[w.conn] = w
            sources[w.process.sentinel] = w
        seen: set[int] = set()
        for source in wait(list(sources), timeout):
            w = sources[source]
            if id(w) in seen:
                continue
            seen.add(id(w))
            message = self._receive(w)
            if isinstance(message, Ready):
                w.ready = True
                continue
            yield w, message

    def wait_idle(self, poll: float) -> Worker:
        """An idle worker, once one is (replacing workers that die meanwhile)."""
        while not self.idle():
            for w, message in self.events(poll):
                if message is None:
                    self.replace(w)
        return self.idle()[0]

    def result_of(self, busy: Worker, poll: float) -> Message | None:
        """The next message of ``busy`` (None: it died); it is idle afterwards."""
        while True:
            for w, message in self.events(poll):
                if w is busy:
                    busy.task = None
                    return message

    @staticmethod
    def _receive(w: Worker) -> Message | None:
        try:
            if w.conn.poll():
                return w.conn.recv()
        except (EOFError, OSError):
            pass
        w.process.join(timeout=5)
        return None

    def replace(self, dead: Worker) -> Worker:
        """Drop a dead worker and start a new one of the pool's size."""
        self.workers.remove(dead)
        dead.conn.close()
        return self._spawn(slot=dead.slot)

    def widen(self, moved: Worker, threads: int) -> Worker:
        """A worker of ``threads`` threads for the run that ``moved`` (now idle) trained: it
        takes the cores of ``moved`` and of as many idle workers as it needs, which stop.
        A task sent to it before it is ready waits in its pipe."""
        retired, freed = [moved], moved.threads
        for idle in self.idle():
            if freed >= threads:
                break
            if idle is not moved:
                retired.append(idle)
                freed += idle.threads
        for old in retired:
            self._retire(old)
        return self._spawn(threads, slot=moved.slot)

    def trial_done(self, done: Worker) -> None:
        """Count a finished trial. A wider worker (see :meth:`widen`) gives its cores back
        to workers of the pool's size. After :data:`TRIALS_PER_WORKER` trials a worker is
        stopped and replaced by a fresh process, which costs one TensorFlow import. Trials
        start from :func:`cifar_search.model.build.clear_session`, which frees what
        TensorFlow keeps of earlier models; the replacement bounds whatever a future version
        keeps besides."""
        done.trials += 1
        if done.threads != self.threads:
            self._retire(done)
            self._refill()
        elif done.trials >= TRIALS_PER_WORKER:
            self._retire(done)
            self._spawn(slot=done.slot)

    def _retire(self, old: Worker) -> None:
        self._stop(old)
        self.workers.remove(old)

    def _refill(self) -> None:
        """Start workers of the pool's size in its empty slots."""
        taken = {w.slot for w in self.workers}
        for slot in range(self.size):
            if slot not in taken:
                self._spawn(slot=slot)

    @staticmethod
    def _ask_to_stop(w: Worker) -> None:
        try:
            w.conn.send(StopTask())
        except (OSError, BrokenPipeError):
            pass

    @classmethod
    def _stop(cls, w: Worker, timeout: float = 10.0) -> None:
        """Ask one worker to stop; terminate it if it does not within ``timeout``."""
        cls._ask_to_stop(w)
        w.process.join(timeout=timeout if w.task is None else 0.5)
        if w.process.is_alive():
            w.process.terminate()
            w.process.join(timeout=5)
        w.conn.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every worker to stop; terminate those that do not within ``timeout``."""
        for w in self.workers:
            self._ask_to_stop(w)
        for w in self.workers:
            self._stop(w, timeout)
        self.workers.clear()

"""The session loop: what every engine's coordinator does around its own decisions.

A :class:`Session` prepares the data, takes the sweep's lock, starts the fork server, opens
the worker pool and runs the loop: idle workers get work, each worker message goes to the
engine, Ctrl-C and SIGTERM stop the sweep at a point where the stores agree, a run in flight
moves to a wider worker when the tail rule says so, a dead worker is replaced, and the parent
run's summary is refreshed every few trials (:mod:`cifar_search.session.refresh`). At the end
it has the best model evaluated on the test set (the summary's plots drawn meanwhile), logs
the summary and closes the parent run.

An engine's coordinator subclasses it and keeps only its decisions and its store, the hooks of
:class:`cifar_search.session.hooks.EngineHooks`. A machine's fault (a full disk) stops the
sweep with the trial interrupted and one line (:mod:`cifar_search.execution.faults`). A worker runs
:func:`cifar_search.session.worker.run_task` in its own process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cifar_search.config.sweep import Sweep
from cifar_search.errors import CifarSearchError
from cifar_search.execution.local import Worker, WorkerPool
from cifar_search.execution.protocol import (
    Done,
    EpochEnd,
    Failed,
    Faulted,
    Message,
    Reply,
    RunEnd,
    TrialTask,
)
from cifar_search.search.states import RunStatus, StudyAttr
from cifar_search.model.data import read_meta
from cifar_search.session.best import evaluate_best
from cifar_search.session.data import check_subset
from cifar_search.session.hooks import EngineHooks, RunningT
from cifar_search.session.limits import (
    Ended,
    Limit,
    Limits,
    Stop,
    deadline_of,
    reached,
    time_line,
)
from cifar_search.session.model_check import prepared
from cifar_search.session.outcome import Outcome
from cifar_search.session.pool import POLL_SECONDS, open_pool, start_fork_server
from cifar_search.session.refresh import RefreshesSummary
from cifar_search.session.signals import signals_to
from cifar_search.session.tail import wider_threads
from cifar_search.workspace import Workspace

if TYPE_CHECKING:
    from cifar_search.tracking.writer import Tracker

#: The step line of the study's and MLflow's stores opening (imports included).
OPENING = "opening the study and its MLflow runs"


#: The step line of the best model's test-set evaluation.
TESTING = "evaluating the best model on the test set"

#: The step line of the data's preparation (a download or decode when it is new).
LOADING = "loading the data (a new source is decoded once into the user cache)"


def step(progress: Any, text: str) -> AbstractContextManager[None]:
    """A step the terminal shows while it lasts (:meth:`cifar_search.progress.Progress.step`);
    nothing without progress."""
    return progress.step(text) if progress else contextlib.nullcontext()


def prepared_data(sweep: Sweep, workspace: Workspace, progress: Any) -> tuple[Sweep, Path]:
    """The sweep (its own model checked; a check run's on its few images) and its decoded-data
    folder, before any study or run is made."""
    with step(progress, LOADING):
        sweep, data_dir = prepared(sweep, workspace)
    if workspace.scratch:
        sweep = check_subset(sweep, int(read_meta(data_dir)["train"]))
    return sweep, data_dir


def study_limits(sweep: Sweep, store: Any, say: Callable[[str], None]) -> Limits:
    """The budget's limits, with the study's deadline (recorded in ``store``, the study's
    attributes, when this run opens a new window: every machine of the study reads the same
    one)."""
    budget, deadline = sweep.budget, None
    if budget.time is not None:
        recorded = store.attr(StudyAttr.DEADLINE)
        deadline = deadline_of(recorded, budget.time, time.time())
        if deadline != recorded:
            store.set_attr(StudyAttr.DEADLINE, deadline)
            store.set_attr(StudyAttr.TIME_BUDGET, budget.time)
        say(time_line(deadline, budget.time, time.time()) + " (deadline "
            + time.strftime("%H:%M:%S", time.localtime(deadline)) + ")")
    flags = "" if sweep.source is None else f" {sweep.source}"
    return Limits(deadline, budget.time, budget.max_failures, budget.max_failures_in_a_row,
                  budget.stop_after, budget.min_delta, sweep.objective.direction,
                  f"python -m cifar_search status{flags} --failed")


class Scheduler(Protocol):
    """What a session asks of an engine's pure decisions (its ``scheduler`` module)."""

    def finished(self, trials: list[Any], /) -> int:
        """Trials that count toward the target."""

    def resume_line(self, name: str, plan: Any, trials: list[Any], /) -> str:
        """What the study holds, as said when it resumes."""

    def nothing_to_do(self, plan: Any, trials: list[Any], finalised: int | None, /) -> bool:
        """Whether running again would change nothing."""

    def ended(self, trials: list[Any], /) -> list[Ended]:
        """The trials that ended (complete, pruned or failed), in the order they ended."""


class Session(RefreshesSummary, EngineHooks[RunningT]):
    """Runs one sweep's trials in a pool of worker processes; the engine decides.

    Args:
        sweep: a validated sweep.
        workspace: where the stores, data cache and trial files live.
        say: prints one line for the user.
        progress: a :class:`cifar_search.progress.Progress`, or None.
        scheduler: the engine's pure decisions (its ``scheduler`` module).
        plan: the engine's settings for its scheduler.
        target: trials the sweep ends with.
        trial_epochs: epochs one trial trains, all its seeds together (for the progress bar).
        workers: worker processes, as the engine sizes its pool.
    """

    tracker: Tracker  # the MLflow writer, opened by the engine's :meth:`_open`
    pool: WorkerPool
    data_dir: Path

    def __init__(self, sweep: Sweep, workspace: Workspace, say: Callable[[str], None],
                 progress: Any, scheduler: Scheduler, plan: Any, target: int,
                 trial_epochs: int, workers: int) -> None:
        self.sweep, self.workspace, self.say, self.progress = sweep, workspace, say, progress
        self.scheduler, self.plan = scheduler, plan  # the engine's decisions and settings
        self.target, self.trial_epochs, self.workers = target, trial_epochs, workers
        self.running: dict[int, RunningT] = {}
        self.stopping = False  # no new work; runs end after their epoch
        self.fault: str | None = None  # what the machine failed at: the sweep stops, exit 1
        self.aborting = False  # stop at once, between two store writes
        self.drawn: Any = None  # the summary's plots, drawn while the best model is evaluated
        self.limits = Limits()  # the budget's time, failure and stop_after limits
        self.closed: Stop | None = None  # a limit reached: no new trial starts
        self.ends_here = 0  # runs ended or workers died in this process: limits to check
        self.ends_checked = -1  # ends_here when the trials' limits were last checked

    def _finished(self) -> int:
        """Trials finished so far."""
        return self.scheduler.finished(self._trials())

    def _resume_line(self) -> str:
        """What the study holds, as said when it resumes."""
        return self.scheduler.resume_line(self.sweep.name, self.plan, self._trials())

    def _nothing_to_do(self) -> bool:
        """Whether the study is finished and summarised already (nothing is written)."""
        finalised = self._study_store().attr(StudyAttr.FINALISED)
        return self.scheduler.nothing_to_do(self.plan, self._trials(), finalised)

    def _evaluates(self) -> bool:
        """Whether this machine evaluates the best model on the test set now."""
        return not self.stopping and (self._is_done() or self._ended_early())

    def _ended_early(self) -> bool:
        """Whether a time budget or ``stop_after`` ended the sweep (as its target would)."""
        return self.closed is not None and not self.closed.limit.is_failure

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Run (or resume) the sweep until it has its target of finished trials."""
        from cifar_search.tracking import outage, summary

        # TensorFlow is imported in the fork server while the data is prepared and the stores
        # are opened here (seconds to the first result; wasted only on a finished study)
        start_fork_server(self.sweep)
        self.sweep, self.data_dir = prepared_data(self.sweep, self.workspace, self.progress)
        with step(self.progress, OPENING):
            self._create_stores()
        lock = self.workspace.lock(self.sweep.name)
        try:
            with outage.announced(self.say, self.workspace.tracking_uri):
                return self._run_locked()
        finally:
            summary.discard(self.drawn)
            lock.close()

    def _run_locked(self) -> Outcome:
        """The run, under the sweep's lock."""
        self._load()
        if self._nothing_to_do():
            return self._nothing_done()
        with step(self.progress, OPENING):
            self._open()
        self.limits = study_limits(self.sweep, self._study_store(), self.say)
        outcome = self._end(self._run_workers())
        if self.fault is not None:
            raise CifarSearchError(self.fault)
        if self.closed is not None and self.closed.limit.is_failure:
            raise CifarSearchError(self.closed.line)
        return outcome

    def _nothing_done(self) -> Outcome:
        """A finished, summarised study: say so and write nothing."""
        from cifar_search.tracking.tables import best_trial

        self.say(self._resume_line() + "; nothing to do (raise --trials to run more)")
        return Outcome(self._finished(), self.target, False, best_trial(self._study()))

    def _run_workers(self) -> dict[str, Any] | None:
        """Train until the target or a stop; the test results of a new best model."""
        with open_pool(self.sweep, self.workspace, self.workers) as self.pool:
            if self.progress:
                self.progress.start(self.target, self._finished(), self.trial_epochs)
            try:
                with signals_to(self._on_signal):
                    self._loop()
                    # a check run's workspace is thrown away: no test-set evaluation
                    if not self.workspace.scratch and self._evaluates():
                        with step(self.progress, TESTING):
                            return evaluate_best(self._study_store(), self.pool, self.data_dir,
                                                 self.say, self._locate, self._draw_ahead,
                                                 self.sweep.user_model)
            except KeyboardInterrupt:
                self._abandon_running()
            finally:
                self._refresh_close()
                if self.progress:
                    self.progress.close()
        return None

    def _draw_ahead(self) -> None:
        """The summary's plots, drawn while a worker evaluates the best model."""
        from cifar_search.tracking import summary

        with step(self.progress, "drawing the summary's plots"):
            self.drawn = summary.draw_ahead(self._study(), self.sweep, self.tracker)

    def _end(self, test: dict[str, Any] | None) -> Outcome:
        """Log the summary and close the parent run: FINISHED (and the study marked
        summarised) at the end, KILLED before it; a machine that does not finalise leaves
        the parent run as it is (other machines may still run the study)."""
        from cifar_search.tracking import summary

        interrupted = self.stopping and not self._ended_early()
        if not self._finalises():
            return Outcome(self._finished(), self.target, interrupted, finalised_here=False)
        if self.workspace.scratch:  # a check run: no summary, plots or registered model
            self.tracker.close_parent(RunStatus.KILLED if interrupted else RunStatus.FINISHED)
            return Outcome(self._finished(), self.target, interrupted)
        with step(self.progress, "logging the summary" + (" and registering the best model"
                                                  if test is not None else "")):
            best = summary.log_study(self._study(), self.sweep, self.tracker, test, self.drawn)
        done = self._is_done() or (self._ended_early() and not self.stopping)
        self.tracker.close_parent(RunStatus.FINISHED if done else RunStatus.KILLED)
        finished = self._finished()
        if done:
            self._study_store().set_attr(StudyAttr.FINALISED, finished)
        return Outcome(finished, self.target, interrupted, best, test)

    # -- the loop --------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            self._before_work()
            self._check_limits()
            self._give_work()  # with the sweep closed, only the seeds of trials in flight
            closed = self.closed is not None and not self.running
            if not self.pool.busy() and (self.stopping or closed or self._nothing_left()):
                return
            for worker, message in self.pool.events(POLL_SECONDS):
                self._check_abort()
                self._handle(worker, message)
            self._check_abort()
            self._refresh_turn()  # the summary refreshed during the run
            if self.progress and any(w.ready for w in self.pool.workers):
                self.progress.started()

    # -- limits ----------------------------------------------------------------------------

    def _check_limits(self) -> None:
        """Close the sweep to new trials when a limit is reached (the trials' limits are read
        again only when a trial ended since the last look)."""
        if self.closed is not None or self.stopping:
            return
        now = time.time()
        ended: list[Ended] = []
        if self.limits.deadline is None or now < self.limits.deadline:
            if self.ends_here == self.ends_checked:
                return
            self.ends_checked = self.ends_here
            ended = self.scheduler.ended(self._trials())
        self.closed = reached(self.limits, ended, now)
        if self.closed is None:
            return
        if not self.closed.limit.is_failure:  # a failure limit ends the run with its line
            self.say(self.closed.line)
        at_deadline = self.closed.limit == Limit.TIME and self.sweep.budget.stop_at_deadline
        if self.running and (at_deadline or self.closed.limit.is_failure):
            self.stopping = True  # runs in flight end after their epoch, resumable
            self.say("running trials end after their current epoch; they go on from their "
                     "checkpoints when the same command runs again")

    def _check_abort(self) -> None:
        """Stop at once (second Ctrl-C, SIGTERM) at a point where the stores are consistent."""
        if self.aborting:
            raise KeyboardInterrupt

    def _on_signal(self, signum: int) -> None:
        """First Ctrl-C: hand out no new trial and stop running ones after their epoch.
        Second Ctrl-C, or SIGTERM: stop at once. Either way every trial in flight is recorded
        as interrupted and continues from its checkpoint on resume."""
        if self.stopping or signum == signal.SIGTERM:
            self.stopping = self.aborting = True  # acted on between two store writes
            return
        self.stopping = True
        self.say("stopping: running trials end after their current epoch "
                 "(Ctrl-C again to stop at once)")

    def _abandon_running(self) -> None:
        """Interrupt every trial in flight (their checkpoints stay)."""
        for number in list(self.running):
            self._interrupt(self.running.pop(number))

    # -- worker messages -------------------------------------------------------------------

    def _handle(self, worker: Worker, message: Message | None) -> None:
        if message is None:
            self._on_death(worker)
        elif isinstance(message, EpochEnd):
            worker.reply(self._on_epoch(worker, message))
        elif isinstance(message, Done) and message.result.state == RunEnd.MOVED:
            self._move(worker, message.number)
        else:
            task, worker.task, worker.moving_to = worker.task, None, None
            try:
                self._on_end(task, message)
            finally:
                self.pool.trial_done(worker)

    def _on_end(self, task: TrialTask, message: Message) -> None:
        """A run ended or failed (its worker is idle again)."""
        self.ends_here += 1
        if isinstance(message, Done):
            self._on_done(task, message)
        elif isinstance(message, Failed) and message.number in self.running:
            self._on_failed(self.running.pop(message.number), task, message.reason)
        elif isinstance(message, Faulted) and message.number in self.running:
            self._on_fault(self.running.pop(message.number), message)

    def _on_fault(self, running: RunningT, message: Faulted) -> None:
        """The machine failed a run (a full disk): its trial is interrupted, not failed, and
        the sweep stops; :meth:`run` ends with one line saying what to fix."""
        self._interrupt(running)
        if self.fault is None:
            self.fault = (f"trial {message.number}: {message.reason}; the sweep stopped with "
                          "the trial interrupted: fix that and run the same command again "
                          "to finish it")
        self.stopping = True

    def _on_epoch(self, worker: Worker, message: EpochEnd) -> Reply:
        running = self.running.get(message.number)
        if running is None:  # another seed of this trial was interrupted: stop this one too
            return Reply.STOP
        prune = self._record_epoch(running, worker.task, message)
        if self.stopping or prune:
            return Reply.STOP if self.stopping else Reply.PRUNE
        if not (self.widens_tail and self.sweep.compute.widen_tail):
            return Reply.CONTINUE
        worker.moving_to = wider_threads(self.pool, worker, message.epoch + 1,
                                         message.logs.get("epoch_seconds", 0.0), self._trained,
                                         self._work_waiting)
        return Reply.CONTINUE if worker.moving_to is None else Reply.MOVE

    def _on_death(self, worker: Worker) -> None:
        """A worker died: replace it; the engine decides what becomes of its trial (one the
        OOM killer ended fails at once: its own demand on memory would be killed again)."""
        if not worker.ready:
            raise CifarSearchError(f"a worker process exited while starting (exit code "
                                   f"{worker.exitcode}); run with --debug for details")
        task = worker.task
        self.ends_here += 1
        try:
            if isinstance(task, TrialTask) and task.number in self.running:
                death = worker.death()
                self._trial_died(task.number, death.reason, death.out_of_memory)
        finally:
            self.pool.replace(worker)

    # -- the tail: runs in flight move to wider workers ------------------------------------

    def _move(self, worker: Worker, number: int) -> None:
        """The run of ``worker`` ended its epoch to move: it goes on from its checkpoint in a
        worker with the free cores."""
        task, worker.task = worker.task, None
        threads, worker.moving_to = worker.moving_to, None
        running = self.running.get(number)
        if running is None or threads is None or self.stopping:
            if running is not None:  # the sweep is stopping: as if told to stop
                self._interrupt(self.running.pop(number))
            self.pool.trial_done(worker)
            return
        wider = self.pool.widen(worker, threads)
        wider.send(dataclasses.replace(task, resume_dir=task.trial_dir))
        self._moved(running, task, threads)

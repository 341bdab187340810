"""The KerasTuner engine's coordinator: the oracle chooses, the worker pool trains.

One process (this one) owns the oracle, the records and the MLflow runs (one writer for each,
as for the Optuna engine). For an idle worker it asks the oracle for a trial
(``create_trial``), lets :mod:`.scheduler` decide how it starts, opens its MLflow run and hands
the worker a :class:`~cifar_search.execution.protocol.TrialTask`; each epoch goes to MLflow and
to the oracle (``update_trial``), and the trial's end to both (``end_trial``). Hyperband's later
rounds and trials interrupted by a crash go on from a checkpoint. ``tuner.search()`` is never
called: KerasTuner's Tuner would train in this process, one trial at a time.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Callable

from cifar_search.config.sweep import Sweep
from cifar_search.engines.kerastuner import scheduler
from cifar_search.engines.kerastuner.oracle import Asked, OracleStore
from cifar_search.engines.kerastuner.record import FOLDER, RecordStore
from cifar_search.engines.kerastuner.recorder import Recorder, Running
from cifar_search.engines.kerastuner.scheduler import Plan, Train, Verdict
from cifar_search.engines.kerastuner.space import params_of
from cifar_search.engines.kerastuner.study_view import KtKey, study_of
from cifar_search.engines.optuna.coordinator import (
    POLL_SECONDS,
    evaluate_best,
    prepare_data,
    signals_to,
    trial_task,
)
from cifar_search.errors import CifarSearchError, debugging
from cifar_search.execution.local import (Worker, WorkerPool, start_fork_server,
                                           threads_per_worker)
from cifar_search.execution.sizing import worker_count
from cifar_search.execution.protocol import Done, EpochEnd, Failed, Message, Reply, TrialResult
from cifar_search.model import data
from cifar_search.search.states import RunKind, StudyAttr, Tag, TrialOutcome
from cifar_search.workspace import Workspace

if TYPE_CHECKING:
    from cifar_search.engines.base import RunReport


def record_store(sweep: Sweep, workspace: Workspace) -> RecordStore:
    """The engine's folder of the sweep in the workspace."""
    return RecordStore(workspace.root / FOLDER / sweep.name)


class ViewStore:
    """The records as :func:`~cifar_search.engines.optuna.coordinator.evaluate_best` reads a
    study store: the best trial, and the study attribute of the test-evaluated trial."""

    def __init__(self, records: RecordStore, sweep: Sweep) -> None:
        self.records, self.sweep = records, sweep

    def study(self) -> Any:
        return study_of(self.records.records(), self.records.study(), self.sweep)

    def best(self) -> Any:
        try:
            return self.study().best_trial
        except ValueError:
            return None

    def attr(self, key: StudyAttr, default: Any = None) -> Any:
        return self.records.study().get(key, default)

    def set_attr(self, key: StudyAttr, value: Any) -> None:
        self.records.set_study(**{key: value})


class Coordinator:
    """Runs one sweep with a KerasTuner oracle to its number of trials.

    Args:
        sweep: a validated sweep with engine ``kerastuner``.
        workspace: where the stores, data cache and the engine's folder live.
        say: prints one line for the user.
        progress: a :class:`cifar_search.progress.Progress`, or None.
    """

    def __init__(self, sweep: Sweep, workspace: Workspace, say: Callable[[str], None] = print,
                 progress: Any = None) -> None:
        self.sweep, self.workspace, self.say, self.progress = sweep, workspace, say, progress
        self.plan = Plan.of(sweep)
        self.store = record_store(sweep, workspace)
        self.running: dict[int, Running] = {}
        self.retries: list[Any] = []  # KerasTuner trials whose worker died: continued first
        self.exhausted = False        # the oracle has no new trial (max_trials, or done)
        self.waiting = False          # Hyperband waits for a round to end
        self.stopping = self.aborting = False
        self.drawn: Any = None        # the summary's plots, drawn while the best is evaluated

    # -- set-up ----------------------------------------------------------------------------

    def _check_fingerprint(self) -> None:
        """Refuse to resume with settings or data other than the sweep's first run's."""
        import json

        from cifar_search.engines.optuna.study import check_fingerprint, fingerprint_of

        wanted = fingerprint_of(self.sweep, data.identity(self.data_dir))
        wanted["oracle"] = {"kind": self.plan.kind,
                            "options": scheduler.oracle_options(self.sweep)}
        stored = self.store.study().get(StudyAttr.FINGERPRINT)
        if stored is None:
            self.store.set_study(**{StudyAttr.FINGERPRINT: json.dumps(wanted, sort_keys=True),
                                    StudyAttr.MLFLOW_TOKEN: uuid.uuid4().hex})
            return
        check_fingerprint(stored, wanted, self.sweep, str(self.store.root))

    def _open(self) -> bool:
        """Oracle, parent run and recovery of what a crash left; whether the sweep existed."""
        from cifar_search.tracking import integrity
        from cifar_search.tracking.writer import Tracker

        existed = self.store.exists()
        self.oracle = OracleStore(self.sweep, self.store.root, self.plan.target)
        self._check_fingerprint()
        self.oracle.open()
        self.tracker = Tracker(self.workspace, self.sweep)
        attrs = self.store.study()
        parent = self.tracker.open_parent(attrs.get(StudyAttr.MLFLOW_PARENT_RUN_ID),
                                          attrs[StudyAttr.MLFLOW_TOKEN])
        self.store.set_study(**{StudyAttr.MLFLOW_PARENT_RUN_ID: parent})
        self.tracker.set_tags(parent, {Tag.ENGINE: "kerastuner", Tag.KIND: RunKind.STUDY,
                                       KtKey.ORACLE: self.plan.kind})
        self.tracker.update_parent({"trials": self.plan.target,
                                    "workers": worker_count(self.sweep),
                                    "oracle": self.plan.kind})
        self.recorder = Recorder(self.store, self.oracle, self.tracker, self.plan,
                                 self.sweep.space.swept(), self.say, self.progress)
        for record in scheduler.running(self.store.records()):  # the last run was killed
            self.recorder.interrupt(record, "interrupted")
        integrity.repair(self.tracker, integrity.reconcile(self._study(), self.tracker, False))
        return existed

    def _study(self) -> Any:
        return study_of(self.store.records(), self.store.study(), self.sweep)

    # -- starting work ---------------------------------------------------------------------

    def _ask(self) -> Asked:
        if self.retries:
            return Asked(self.retries.pop(0))
        if self.exhausted:
            return Asked(stopped=True)
        asked = self.oracle.create()
        self.exhausted = asked.stopped
        self.waiting = asked.idle
        return asked

    def _start(self, worker: Worker) -> bool:
        """Give ``worker`` the oracle's next trial; False when there is none now."""
        while True:
            asked = self._ask()
            if asked.trial is None:
                return False
            values = self.oracle.values(asked.trial)
            params = params_of(self.sweep.space, values)
            start = scheduler.start_of(self.plan, asked.trial.trial_id, values, params,
                                       self.store.records())
            if isinstance(start, Train):
                self._train(worker, start)
                return True
            self.oracle.end(start.kt_id, start.outcome)  # ended just before a crash

    def _train(self, worker: Worker, start: Train) -> None:
        """Record, open the MLflow run of, and hand out one run of a trial."""
        running, resume_dir = self.recorder.start(start)
        record = running.record
        self.running[record.number] = running
        task = trial_task(self.sweep, record, 0, record.seed, self.data_dir,
                          self.store.trial_dir(record.number), resume_dir)
        worker.send(_with_epochs(task, record.epochs))

    def _give_work(self) -> None:
        for worker in self.pool.idle():
            if self.stopping or not self._start(worker):
                return

    # -- worker messages -------------------------------------------------------------------

    def _handle(self, worker: Worker, message: Message | None) -> None:
        if message is None:
            self._on_death(worker)
            return
        if isinstance(message, EpochEnd):
            worker.reply(self._on_epoch(message))
            return
        worker.task = None
        running = self.running.pop(message.number, None)
        if running is not None and isinstance(message, Done):
            self._on_done(running, message.result)
        elif running is not None and isinstance(message, Failed):
            self.recorder.finish(running, TrialOutcome.FAILED, reason=message.reason)
        self.pool.trial_done(worker)

    def _on_epoch(self, message: EpochEnd) -> Reply:
        running = self.running.get(message.number)
        if running is None:
            return Reply.STOP
        self.recorder.epoch(running.record, message.epoch, message.logs)
        return Reply.STOP if self.stopping else Reply.CONTINUE

    def _on_done(self, running: Running, result: TrialResult) -> None:
        kind = scheduler.verdict(result)
        if kind == Verdict.INTERRUPT:
            self.recorder.interrupt(running.record, "interrupted")
        elif kind == Verdict.NO_VALUE:
            self.recorder.finish(running, TrialOutcome.FAILED, info=dict(result.config),
                         reason="no finite objective value was logged")
        else:
            running.record.model_path = result.model_path
            self.recorder.finish(running, TrialOutcome.COMPLETE, result.value,
                                 dict(result.config))

    def _on_death(self, worker: Worker) -> None:
        """A worker died: its trial continues from its checkpoint once, and fails if its
        continuation kills a worker too."""
        if not worker.ready:
            raise CifarSearchError(f"a worker process exited while starting (exit code "
                                   f"{worker.exitcode}); run with --debug for details")
        task, reason = worker.task, f"worker process died (exit code {worker.exitcode})"
        running = self.running.pop(task.number, None) if task is not None else None
        if running is not None:
            records = {r.number: r for r in self.store.records()}
            if scheduler.fails_after_worker_death(running.record, records):
                self.recorder.finish(running, TrialOutcome.FAILED, reason=reason)
            else:
                self.say(f"trial {running.record.number:>3} interrupted: {reason}; it "
                         "continues from its checkpoint")
                self.recorder.interrupt(running.record, reason)
                self.retries.append(self.oracle.trial(running.record.kt_id))
        self.pool.replace(worker)

    # -- ending trials ---------------------------------------------------------------------

    def _abandon_running(self) -> None:
        for number in list(self.running):
            self.recorder.interrupt(self.running.pop(number).record, "interrupted")

    # -- the loop --------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            self._give_work()
            if not self.pool.busy():
                if self.stopping or self.exhausted or (self.waiting and not self.retries):
                    return
            for worker, message in self.pool.events(POLL_SECONDS):
                if self.aborting:
                    raise KeyboardInterrupt
                self._handle(worker, message)
                self.waiting = False  # a trial ended or moved on: ask the oracle again
            if self.aborting:
                raise KeyboardInterrupt

    def _on_signal(self, signum: int) -> None:
        import signal

        if self.stopping or signum == signal.SIGTERM:
            self.stopping = self.aborting = True
            return
        self.stopping = True
        self.say("stopping: running trials end after their current epoch "
                 "(Ctrl-C again to stop at once)")

    def _run_workers(self) -> dict[str, Any] | None:
        threads = threads_per_worker(worker_count(self.sweep))
        log = None if debugging() else str(self.workspace.log_file(self.sweep.name))
        with WorkerPool(worker_count(self.sweep), threads, self.sweep.compute.gpu_memory_mb,
                        log) as self.pool:
            if self.progress:
                self.progress.start(self.plan.target, scheduler.finished(self.store.records()),
                                    self.plan.epochs)
            try:
                with signals_to(self._on_signal):
                    self._loop()
                    if not self.stopping and self._done():
                        return evaluate_best(ViewStore(self.store, self.sweep), self.pool,
                                             self.data_dir, self.say,
                                             meanwhile=self._draw_ahead)
            except KeyboardInterrupt:
                self._abandon_running()
            finally:
                if self.progress:
                    self.progress.close()
        return None

    def _draw_ahead(self) -> None:
        """The summary's plots, drawn while a worker evaluates the best model."""
        from cifar_search.tracking import summary

        self.drawn = summary.draw_ahead(self._study(), self.sweep, self.tracker)

    def _done(self) -> bool:
        return scheduler.is_done(self.plan, self.store.records(),
                                 self.exhausted and not self.running)

    def run(self) -> tuple[int, int, bool, Any, Any]:
        """Run (or resume) the sweep: (finished, target, interrupted, best, test results)."""
        from cifar_search.tracking import summary
        from cifar_search.tracking.store import create_mlflow_store
        from cifar_search.tracking.tables import best_trial

        self.data_dir = prepare_data(self.sweep, self.workspace)
        self.workspace.create()
        lock = self.workspace.lock(self.sweep.name)
        try:
            records = self.store.records()
            if scheduler.nothing_to_do(self.plan, records,
                                       self.store.study().get(StudyAttr.FINALISED)):
                self.say(scheduler.resume_line(self.sweep.name, self.plan, records)
                         + "; nothing to do (raise --trials to run more)")
                return (scheduler.finished(records), self.plan.target, False,
                        best_trial(self._study()), None)
            # The fork server imports TensorFlow while this process creates the MLflow store
            # and imports KerasTuner (which imports TensorFlow too): two cores, both at once.
            start_fork_server()
            create_mlflow_store(self.workspace)
            existed = self._open()
            self.say(scheduler.resume_line(self.sweep.name, self.plan, self.store.records())
                     if existed else f"new KerasTuner search {self.sweep.name!r} "
                     f"({self.plan.kind} oracle): {self.plan.target} trials, "
                     f"{worker_count(self.sweep)} worker(s), in {self.store.root}")
            test = self._run_workers()
            best = summary.log_study(self._study(), self.sweep, self.tracker, test,
                                     self.drawn)
            done = self._done() and not self.stopping
            self.tracker.close_parent("FINISHED" if done else "KILLED")
            finished = scheduler.finished(self.store.records())
            if done:
                self.store.set_study(**{StudyAttr.FINALISED: finished})
            return finished, self.plan.target, self.stopping, best, test
        finally:
            summary.discard(self.drawn)
            lock.close()


def _with_epochs(task: Any, epochs: int) -> Any:
    """The task with the epochs its trial trains to (Hyperband's ``tuner/epochs``)."""
    import dataclasses

    return dataclasses.replace(task, epochs=epochs)


def run_sweep(sweep: Sweep, workspace: Workspace, say: Callable[[str], None],
              progress: Any = None) -> "RunReport":
    """Run the sweep; the closing lines for the user."""
    from cifar_search.engines.base import RunReport
    from cifar_search.search.labels import best_line

    finished, target, interrupted, best, test = Coordinator(sweep, workspace, say,
                                                            progress).run()
    count = f"{finished}/{target} trials finished"
    flags = f" --engine kerastuner{workspace.flags}"
    if interrupted:
        return RunReport([f"interrupted with {count}; run the same command again to resume: "
                          f"python -m cifar_search run {sweep.source}{flags}"], interrupted=True)
    tested = ([] if test is None else
              [f"test set: trial {test['trial']} accuracy={test['test_accuracy']:.4f} "
               f"loss={test['test_loss']:.4f}"])
    return RunReport([best_line(best, sweep.objective.metric), *tested,
                      f"{count}; compare the engines: python -m cifar_search compare "
                      f"{sweep.source}{workspace.flags}"])

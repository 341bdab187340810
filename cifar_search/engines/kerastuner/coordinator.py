"""The KerasTuner engine's coordinator: the oracle chooses, the worker pool trains.

One process (this one) owns the oracle, the records and the MLflow runs (one writer for each,
as for the Optuna engine). The pool, its loop, signals and the end are the session's
(:class:`cifar_search.session.loop.Session`). For an idle worker this coordinator asks the
oracle for a trial (``create_trial``), lets :mod:`.scheduler` decide how it starts, opens its
MLflow run and hands the worker a :class:`~cifar_search.execution.protocol.TrialTask`; each
epoch goes to MLflow and to the oracle (``update_trial``), and the trial's end to both
(``end_trial``). Hyperband's later rounds and trials interrupted by a crash go on from a
checkpoint. ``tuner.search()`` is never called: KerasTuner's Tuner would train in this
process, one trial at a time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cifar_search.config.sweep import Sweep
from cifar_search.engines.kerastuner import scheduler
from cifar_search.engines.kerastuner.oracle import Asked, OracleStore
from cifar_search.engines.kerastuner.record import FOLDER, RecordStore, TrialRecord
from cifar_search.engines.kerastuner.recorder import Recorder, Running
from cifar_search.engines.kerastuner.scheduler import Plan, Train, Verdict
from cifar_search.engines.kerastuner.space import params_of
from cifar_search.engines.kerastuner.study_view import KtKey, study_of
from cifar_search.execution.local import Worker
from cifar_search.execution.protocol import Done, EpochEnd, Message, TrialTask
from cifar_search.execution.sizing import worker_count
from cifar_search.model import data
from cifar_search.search.states import RunKind, StudyAttr, Tag, TrialOutcome
from cifar_search.session.best import BestStore
from cifar_search.session.fingerprint import check_fingerprint, fingerprint_of
from cifar_search.session.loop import Session
from cifar_search.session.outcome import Outcome
from cifar_search.session.tasks import trial_task
from cifar_search.workspace import Workspace

if TYPE_CHECKING:
    import optuna

    from cifar_search.engines.base import RunReport


def record_store(sweep: Sweep, workspace: Workspace) -> RecordStore:
    """The engine's folder of the sweep in the workspace."""
    return RecordStore(workspace.root / FOLDER / sweep.name)


class ViewStore:
    """The records as :func:`~cifar_search.session.best.evaluate_best` reads a study store:
    the best trial, and the study attribute of the test-evaluated trial."""

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


class Coordinator(Session[Running]):
    """Runs one sweep with a KerasTuner oracle to its number of trials.

    Args:
        sweep: a validated sweep with engine ``kerastuner``.
        workspace: where the stores, data cache and the engine's folder live.
        say: prints one line for the user.
        progress: a :class:`cifar_search.progress.Progress`, or None.
    """

    #: Runs stay in their worker (this engine's recorder has no record of a run that moves).
    widens_tail = False

    def __init__(self, sweep: Sweep, workspace: Workspace, say: Callable[[str], None] = print,
                 progress: Any = None) -> None:
        plan = Plan.of(sweep)
        super().__init__(sweep, workspace, say, progress, scheduler, plan, plan.target,
                         plan.epochs, worker_count(sweep))
        self.plan: Plan = plan
        self.store = record_store(sweep, workspace)
        self.retries: list[Any] = []  # KerasTuner trials whose worker died: continued first
        self.exhausted = False        # the oracle has no new trial (max_trials, or done)
        self.waiting = False          # Hyperband waits for a round to end

    # -- the records -----------------------------------------------------------------------

    def _load(self) -> None:
        """The records are read as needed: nothing to load."""

    def _check_fingerprint(self) -> None:
        """Refuse to resume with settings or data other than the sweep's first run's."""
        wanted = fingerprint_of(self.sweep, data.identity(self.data_dir))
        wanted["oracle"] = {"kind": self.plan.kind,
                            "options": scheduler.oracle_options(self.sweep)}
        stored = self.store.study().get(StudyAttr.FINGERPRINT)
        if stored is None:
            self.store.set_study(**{StudyAttr.FINGERPRINT: json.dumps(wanted, sort_keys=True),
                                    StudyAttr.MLFLOW_TOKEN: uuid.uuid4().hex})
            return
        check_fingerprint(stored, wanted, self.sweep, str(self.store.root))

    def _open(self) -> None:
        """Oracle, parent run and recovery of what a crash left; say how the search starts.
        The MLflow store is created here, while the fork server imports TensorFlow (and
        KerasTuner imports it here too): two cores, both at once."""
        existed = self._open_oracle()
        self.say(self._resume_line() if existed else
                 f"new KerasTuner search {self.sweep.name!r} ({self.plan.kind} oracle): "
                 f"{self.plan.target} trials, {self.workers} worker(s), "
                 f"in {self.store.root}")

    def _open_oracle(self) -> bool:
        """The MLflow store, the oracle, the parent run and the recorder; whether the sweep
        existed."""
        from cifar_search.tracking import integrity
        from cifar_search.quiet import import_tensorflow

        import_tensorflow("keras_tuner")  # KerasTuner's oracle lives in this process
        from cifar_search.tracking.store import create_mlflow_store
        from cifar_search.tracking.writer import Tracker

        create_mlflow_store(self.workspace)
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
        self.tracker.update_parent({"trials": self.plan.target, "workers": self.workers,
                                    "oracle": self.plan.kind})
        self.recorder = Recorder(self.store, self.oracle, self.tracker, self.plan,
                                 self.sweep.space.swept(), self.say, self.progress)
        for record in scheduler.running(self.store.records()):  # the last run was killed
            self.recorder.interrupt(record, TrialOutcome.INTERRUPTED)
        integrity.repair(self.tracker, integrity.reconcile(self._study(), self.tracker, False))
        return existed

    def _study(self) -> optuna.Study:
        return study_of(self.store.records(), self.store.study(), self.sweep)

    def _trials(self) -> list[TrialRecord]:
        return self.store.records()

    def _study_store(self) -> BestStore:
        return ViewStore(self.store, self.sweep)

    def _is_done(self) -> bool:
        return not self.stopping and scheduler.is_done(self.plan, self.store.records(),
                                                       self.exhausted and not self.running)

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
        """Record, open the MLflow run of, and hand out one run of a trial (to the epochs
        of its round: Hyperband's ``tuner/epochs``)."""
        running, resume_dir = self.recorder.start(start)
        record = running.record
        self.running[record.number] = running
        worker.send(trial_task(self.sweep, record, 0, record.seed, self.data_dir,
                               self.store.trial_dir(record.number), resume_dir,
                               epochs=record.epochs))

    def _give_work(self) -> None:
        for worker in self.pool.idle():
            if self.stopping or self.closed is not None or not self._start(worker):
                return

    def _nothing_left(self) -> bool:
        return self.exhausted or (self.waiting and not self.retries)

    # -- worker messages -------------------------------------------------------------------

    def _handle(self, worker: Worker, message: Message | None) -> None:
        super()._handle(worker, message)
        self.waiting = False  # a trial ended or moved on: ask the oracle again

    def _record_epoch(self, running: Running, task: TrialTask, message: EpochEnd) -> bool:
        self.recorder.epoch(running.record, message.epoch, message.logs)
        return False  # the oracle judges a trial at its end, not at each epoch

    def _on_done(self, task: TrialTask, message: Done) -> None:
        running = self.running.pop(message.number, None)
        if running is None:
            return
        result = message.result
        kind = scheduler.verdict(result)
        if kind == Verdict.INTERRUPT:
            self.recorder.interrupt(running.record, TrialOutcome.INTERRUPTED)
        elif kind == Verdict.NO_VALUE:
            self.recorder.finish(running, TrialOutcome.FAILED, info=dict(result.config),
                                 reason="no finite objective value was logged")
        else:
            running.record.model_path = result.model_path
            self.recorder.finish(running, TrialOutcome.COMPLETE, result.value,
                                 dict(result.config))

    def _on_failed(self, running: Running, task: TrialTask, reason: str) -> None:
        self.recorder.finish(running, TrialOutcome.FAILED, reason=reason)

    def _interrupt(self, running: Running) -> None:
        self.recorder.interrupt(running.record, TrialOutcome.INTERRUPTED)

    def _trial_died(self, number: int, reason: str, out_of_memory: bool = False) -> None:
        """The trial continues from its checkpoint once, and fails if its continuation kills
        a worker too; killed by the OOM killer, it fails at once."""
        running = self.running.pop(number)
        records = {r.number: r for r in self.store.records()}
        if scheduler.fails_after_worker_death(running.record, records, out_of_memory):
            self.recorder.finish(running, TrialOutcome.FAILED, reason=reason)
        else:
            self.say(f"trial {running.record.number:>3} interrupted: {reason}; it "
                     "continues from its checkpoint")
            self.recorder.interrupt(running.record, reason)
            self.retries.append(self.oracle.trial(running.record.kt_id))


def run_sweep(sweep: Sweep, workspace: Workspace, say: Callable[[str], None],
              progress: Any = None) -> RunReport:
    """Run the sweep; the closing lines for the user."""
    from cifar_search.engines.base import RunReport
    from cifar_search.search.labels import best_line

    outcome: Outcome = Coordinator(sweep, workspace, say, progress).run()
    if outcome.interrupted:
        return RunReport([outcome.interrupted_line()], interrupted=True)
    return RunReport([best_line(outcome.best, sweep.objective.metric), *outcome.test_lines(),
                      f"{outcome.count}; compare the engines: python -m cifar_search compare "
                      f"{sweep.source}{workspace.flags}"])

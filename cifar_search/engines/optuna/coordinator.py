"""The Optuna engine's coordinator: runs a sweep's study to its end with a pool of worker
processes.

One process (this one) owns the Optuna study and the MLflow runs, so neither SQLite store ever
has two writers; worker processes only train. The pool, its loop, signals, the tail and the
end are the session's (:class:`cifar_search.session.loop.Session`); this coordinator hands
idle workers what :mod:`.scheduler` decides (a seed of a trial in flight, else a new trial),
answers each epoch report with the pruner's verdict, and has :mod:`.recorder` write every event
to both stores. A sweep's lock file keeps a second coordinator off the study in one workspace.

On a shared storage (a database server, one coordinator per machine) the coordinators
cooperate through it (:mod:`.machines`): each beats for its trials in flight and takes over the
trials of machines that stopped beating, checks its claim to a new trial against the study's
target, stays until the study is over anywhere, and one of them, elected through the storage,
finalises the study.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cifar_search.config.sweep import Sweep
from cifar_search.engines.optuna import machines, recovery, scheduler, warm_start
from cifar_search.engines.optuna.machines import Machine
from cifar_search.engines.optuna.options import OptunaOptions
from cifar_search.engines.optuna.parts import resolve_sampler, sampler_lines
from cifar_search.engines.optuna.peers import grid_to_queue, peers_of
from cifar_search.engines.optuna.pool import worker_count
from cifar_search.engines.optuna.recorder import Recorder, import_trial
from cifar_search.engines.optuna.scheduler import (
    Next,
    Plan,
    Running,
    Train,
    TrialView,
    Verdict,
)
from cifar_search.engines.optuna.space import suggest
from cifar_search.engines.optuna.study import StudyStore, TakenOver, create_optuna_store, is_shared
from cifar_search.engines.optuna.warm_start import SourceStudy
from cifar_search.execution.local import Worker
from cifar_search.execution.protocol import Done, EpochEnd, Message, Reply, TrialTask
from cifar_search.model import data
from cifar_search.search.fidelity import rung_attrs
from cifar_search.search.states import Attr, StudyAttr, Tag, TrialOutcome
from cifar_search.session.best import BestStore
from cifar_search.session.fingerprint import DATA_KEY
from cifar_search.session.loop import Session
from cifar_search.session.outcome import Outcome
from cifar_search.session.tasks import no_result, trial_task
from cifar_search.tracking.store import create_mlflow_store
from cifar_search.workspace import Workspace

if TYPE_CHECKING:
    import optuna

    from cifar_search.engines.base import RunReport
    from cifar_search.tracking.writer import Tracker


class Coordinator(Session[Running]):
    """Runs one sweep to its number of finished trials.

    Args:
        sweep: a validated sweep (from :func:`cifar_search.config.sweep.load_sweep`).
        workspace: where the stores, data cache and trial files live.
        say: prints one line for the user.
        progress: a :class:`cifar_search.progress.Progress` (or None for none).
        source: the earlier study whose fitting trials the study imports before its first
            trial (see :func:`warm_source`); None: none.
    """

    def __init__(self, sweep: Sweep, workspace: Workspace, say: Callable[[str], None] = print,
                 progress: Any = None, source: SourceStudy | None = None) -> None:
        sweep = resolve_sampler(sweep)  # sampler 'auto': the kind its rule picks
        for line in sampler_lines(sweep):
            say(line)
        plan = Plan.of(sweep)
        self.source = source  # the earlier study to import from (a warm start), else None
        super().__init__(sweep, workspace, say, progress, scheduler, plan, plan.target,
                         sweep.budget.epochs * sweep.repeats, worker_count(sweep))
        self.plan: Plan = plan
        self.shared = is_shared(workspace)
        self.machine = Machine.current(salted=self.shared)
        self.finalises = not self.shared  # one machine finalises even when stopped at once
        self.lost: set[int] = set()  # trials another machine took over from this one

    # -- the study -------------------------------------------------------------------------

    def trial_dir(self, number: int, repeat: int) -> Path:
        """Files of one seed run (the trial's folder itself when the sweep has one repeat)."""
        folder = self.workspace.trial_dir(self.sweep.name, number)
        return folder / f"seed-{repeat}" if self.sweep.repeats > 1 else folder

    def _create_stores(self) -> None:
        create_optuna_store(self.workspace)
        create_mlflow_store(self.workspace)

    def _load(self) -> None:
        queued = [*(grid_to_queue(self.plan, self.shared) or []),
                  *(dict(point) for point in OptunaOptions.of(self.sweep).start)]
        self.store = StudyStore(self.sweep, self.workspace, data.identity(self.data_dir),
                                self.machine, queued)

    def _open(self) -> None:
        """Open the parent run and the recorder, recover a crash, and say how it starts."""
        if self.store.existed:  # a study without its data's identity gets it (compatibility C4)
            self.store.record_fingerprint()
        self.peers = peers_of(self.store, self.plan, self.machine)
        self.tracker = open_tracker(self.store, self.sweep, self.workspace, self.plan)
        self.recorder = self.peers.recorder = recorder_of(
            self.tracker, self.store, self.sweep, self.plan, self.trial_dir, self.say,
            self.progress)
        if self.store.existed:
            self.say(self._resume_line())
        else:
            self.say(f"new study {self.sweep.name!r}: {self.target} trials, "
                     f"{self.workers} worker(s), "
                     f"storage {self.workspace.shown_optuna_url}")
        if self.source is not None and (self.store.created or not self.shared):
            self.say(import_source(self.recorder, self.tracker, self.source))
        for line in self.peers.lines(self.workspace):
            self.say(line)

    def _study(self) -> optuna.Study:
        return self.store.study

    def _trials(self) -> list[TrialView]:
        return self.store.view()

    def _study_store(self) -> BestStore:
        return self.store

    def _is_done(self) -> bool:
        return scheduler.is_done(self.plan, self.store.view())

    def _evaluates(self) -> bool:
        """One machine, elected through the storage, finalises; it evaluates the best model
        when the study reached its target (and was not stopped)."""
        finished = self._finished()
        self.finalises = self.peers.elect(finished, self.stopping)
        return self.finalises and not self.stopping and (finished >= self.target
                                                         or self._ended_early())

    def _finalises(self) -> bool:
        return self.finalises

    def _locate(self, number: int, recorded: str) -> str:
        """Where this machine finds trial ``number``'s model, recorded at ``recorded`` by the
        machine that trained it (the same file when the trial folders are shared)."""
        from cifar_search.model.checkpoint_store import local_model

        return str(local_model(recorded, self.workspace.trial_dir(self.sweep.name, number)))

    # -- starting work ---------------------------------------------------------------------

    def _more_to_start(self) -> bool:
        return self.closed is None and self.peers.may_start(self.store.view())

    def _ask(self) -> tuple[Any, dict[str, Any]] | None:
        """The next trial and its full parameters (grid points are queued exactly once: here
        with one machine, when the study is created with several); None when, with several
        machines, the trial is beyond the target and was released."""
        if self.plan.grid is not None and not self.shared:  # only a grid reads it before asking
            point = scheduler.grid_point_to_queue(self.plan, self.store.view())
            if point is not None:
                self.store.enqueue(point)
        promote(self.store, self.plan, self.say)
        trial = self.store.ask()
        if not self.peers.claim(trial.number):
            return None
        params = suggest(self.sweep.space, trial)
        self.store.set_trial_attrs(trial.number, {Attr.PARAMS: params,
                                                  **self.peers.trial_attrs(),
                                                  **new_rung(self.plan, trial.user_attrs)})
        return trial, params

    def _saved_epochs(self, number: int) -> int | None:
        from cifar_search.model.checkpoint import saved_epochs

        return saved_epochs(self.trial_dir(number, 0), self.say)

    def _start_trial(self, worker: Worker) -> None:
        """Ask for trials until one trains (with ``same_seed`` a drawn configuration may take
        an earlier result instead) and hand it to ``worker``."""
        while True:
            asked = self._ask()
            if asked is None:
                return
            trial, params = asked
            attrs = self.store.trial(trial.number).attrs
            # only same_seed compares a new trial with earlier ones: read them only then
            earlier = self.store.view() if self.plan.same_seed else []
            start = scheduler.start_of(self.plan, attrs, params, earlier, self._saved_epochs)
            if isinstance(start, Train):
                break
            self.recorder.take_result(trial, params, start)
            if not self._more_to_start():
                return
        running = self.recorder.start(trial, params, start.continues)
        self.running[running.number] = running
        if not self._start_seed(worker, running) and self._more_to_start():
            self._start_trial(worker)  # pruned again on its earlier epochs: the worker is free

    def _start_seed(self, worker: Worker, running: Running) -> bool:
        """Hand the next seed of ``running`` to ``worker`` (the trial itself for one repeat);
        False when the trial was pruned on the epochs it continues from instead."""
        run = self.recorder.start_seed(running, worker.process.pid)
        resume_dir, pruned = self.recorder.replay(running, run)
        if pruned:
            self.running.pop(running.number)
            self.recorder.pruned(running, run, no_result(run.epochs))
            return False
        epochs = (scheduler.rung_epochs(self.plan, self.store.trial(running.number).attrs)
                  if self.plan.ladder else None)  # pruner 'asha' only: the rung's epochs
        worker.send(trial_task(self.sweep, running, run.repeat, run.seed, self.data_dir,
                               self.trial_dir(running.number, run.repeat), resume_dir, epochs))
        return True

    def _give_work(self) -> None:
        """Hand every idle worker a seed of a trial in flight, else a new trial."""
        for worker in self.pool.idle():
            work = scheduler.next_work(self.stopping, self.running.values(), self._more_to_start)
            if work is None:
                return
            if work is Next.NEW_TRIAL:
                self._start_trial(worker)
            else:
                self._start_seed(worker, work)

    def _work_waiting(self) -> bool:
        return scheduler.next_work(False, self.running.values(),
                                   self._more_to_start) is not None

    def _nothing_left(self) -> bool:
        """Whether this machine, idle, may leave: nothing more to start here, and (several
        machines) the study is over everywhere: until then it stays to take over the trials
        of a machine that stops beating."""
        return not self._work_waiting() and self.peers.may_leave()

    def _before_work(self) -> None:
        """Beat for the trials in flight; drop those another machine took over."""
        for number in self.peers.keep_alive(list(self.running)):
            self._lose(number)

    # -- worker messages (a trial another machine took over is dropped) -------------------

    @contextlib.contextmanager
    def _unless_taken_over(self, number: int | None) -> Iterator[None]:
        """Drop trial ``number`` here when another machine took it over meanwhile."""
        try:
            yield
        except TakenOver:
            if number is not None:
                self._lose(number)

    def _lose(self, number: int) -> None:
        """Another machine took trial ``number`` over (this one's heartbeat came too late):
        nothing more is recorded for it here, and its worker is told it lost the trial (it
        ends without writing into the trial's folder again)."""
        self.lost.add(number)
        if self.running.pop(number, None) is not None:
            self.say(f"trial {number:>3} was taken over by another machine; dropped here")

    def _on_epoch(self, worker: Worker, message: EpochEnd) -> Reply:
        if message.number not in self.lost:
            with self._unless_taken_over(message.number):
                return super()._on_epoch(worker, message)
        return Reply.LOST

    def _move(self, worker: Worker, number: int) -> None:
        with self._unless_taken_over(number):
            super()._move(worker, number)

    def _on_end(self, task: TrialTask, message: Message) -> None:
        with self._unless_taken_over(getattr(message, "number", None)):
            super()._on_end(task, message)

    def _record_epoch(self, running: Running, task: TrialTask, message: EpochEnd) -> bool:
        run = running.runs[task.repeat]
        return self.recorder.epoch(running, run, message.epoch, message.logs,
                                   last=message.epoch + 1 >= task.epochs)

    def _trained(self, task: TrialTask) -> int | None:
        running = self.running.get(task.number)
        if running is None or task.repeat not in running.runs:
            return None
        return running.runs[task.repeat].epochs

    def _moved(self, running: Running, task: TrialTask, threads: int) -> None:
        self.recorder.moved(running, running.runs[task.repeat], threads)

    def _on_done(self, task: TrialTask, message: Done) -> None:
        running = self.running.get(message.number)
        if running is None:  # a seed of an interrupted trial
            return
        result, repeat = message.result, task.repeat
        kind = scheduler.verdict(result, running.repeated)
        if kind == Verdict.SEED_DONE:
            self.recorder.seed_done(running, repeat, result)
            if running.all_seeds_done():
                self.running.pop(message.number)
            return
        self.running.pop(message.number)
        if kind == Verdict.INTERRUPT:
            self.recorder.interrupt(running)
        elif kind == Verdict.INFEASIBLE:
            self.recorder.infeasible(running, running.runs[repeat], result)
        elif kind == Verdict.NO_VALUE:
            self.recorder.finish(running, TrialOutcome.FAILED, info=dict(result.config),
                                 reason="no objective value was logged")
        elif kind == Verdict.PRUNED:
            self.recorder.pruned(running, running.runs[repeat], result)
        else:
            self.recorder.complete(running, result)

    def _on_failed(self, running: Running, task: TrialTask, reason: str) -> None:
        self.recorder.seed_failed(running, task.repeat, reason)

    def _interrupt(self, running: Running) -> None:
        self.recorder.interrupt(running)

    def _trial_died(self, number: int, reason: str, out_of_memory: bool = False) -> None:
        """The trial continues from its checkpoint once, and fails if its continuation kills
        a worker too; killed by the OOM killer, it fails at once."""
        with self._unless_taken_over(number):
            running = self.running.pop(number)
            attrs = self.store.trial(number).attrs
            if scheduler.fails_after_worker_death(attrs, out_of_memory):
                self.recorder.finish(running, TrialOutcome.FAILED, reason=reason)
            else:
                self.store.set_trial_attrs(number, {Attr.DEATHS: attrs.get(Attr.DEATHS, 0) + 1})
                self.say(f"trial {number:>3} interrupted: {reason}; it continues from its "
                         "checkpoint")
                self.recorder.interrupt(running, reason)


def promote(store: StudyStore, plan: Plan, say: Callable[[str], None]) -> None:
    """Pruner 'asha': queue the promotion the scheduler decides (if any), so that the next
    trial asked for trains its origin's parameters at the next rung."""
    if plan.ladder is None:
        return
    promoted = scheduler.next_promotion(plan, store.view())
    if promoted is None:
        return
    store.enqueue(promoted.params, rung_attrs(plan.ladder, promoted.rung, promoted.origin))
    say(f"trial {promoted.origin:>3} promoted to rung {promoted.rung} "
        f"({plan.ladder.epochs_at(promoted.rung)} epochs)")


def new_rung(plan: Plan, attrs: dict[str, Any]) -> dict[str, Any]:
    """Pruner 'asha': the lowest rung's attributes for a trial that was not queued on a rung
    (drawn by the sampler, or a start point); nothing otherwise."""
    if plan.ladder is None or Attr.RUNG in attrs:
        return {}
    return rung_attrs(plan.ladder, 0, None)


def open_recorder(store: StudyStore, sweep: Sweep, workspace: Workspace, plan: Plan,
                  trial_dir: Callable[[int, int], Path], say: Callable[[str], None],
                  progress: Any = None) -> Recorder:
    """Open the study's MLflow parent run and the recorder that writes both; recover what a
    crash left behind."""
    return recorder_of(open_tracker(store, sweep, workspace, plan), store, sweep, plan,
                       trial_dir, say, progress)


def open_tracker(store: StudyStore, sweep: Sweep, workspace: Workspace, plan: Plan) -> Tracker:
    """The MLflow writer of the study, its parent run open (and recorded on the study)."""
    from cifar_search.tracking.writer import DatasetInfo, Tracker

    recorded = _parent_run_id(store)  # first: the creator makes the experiment and the run
    tracker = Tracker(workspace, sweep, DatasetInfo.of(sweep, store.fingerprint.get(DATA_KEY)))
    parent = tracker.open_parent(recorded, _tracking_token(store))
    store.set_attr(StudyAttr.MLFLOW_PARENT_RUN_ID, parent)
    settings = {"trials": plan.target, "workers": worker_count(sweep),
                "sampler": sweep.sampler.kind}  # --sampler may change it on a resume
    if sweep.sampler.picked:
        settings["sampler_auto"] = sweep.sampler.picked
    tracker.update_parent(settings)
    return tracker


def recorder_of(tracker: Tracker, store: StudyStore, sweep: Sweep, plan: Plan,
                trial_dir: Callable[[int, int], Path], say: Callable[[str], None],
                progress: Any = None) -> Recorder:
    """The recorder that writes the study and ``tracker``'s runs, after recovering what a
    crash left behind."""
    recorder = Recorder(store, tracker, plan, sweep.objective.metric, trial_dir, say, progress)
    if store.shared:  # other machines' trials live while they beat: only stale ones are taken
        recovery.take_over(recorder, store.fail_stale(), machines.liveness().grace_s)
    else:
        recovery.recover(recorder)
    recovery.reconcile_runs(store.study, tracker, live=store.shared)
    return recorder


def import_source(recorder: Recorder, tracker: Tracker, source: SourceStudy) -> str:
    """Import the earlier study's trials that fit the space (those a crash left imported
    already are kept), record on the study and its parent run that it imported, and return
    what to tell the user."""
    store = recorder.store
    done = {t.attrs[Attr.IMPORTED_FROM].get("trial") for t in store.view()
            if t.outcome == TrialOutcome.IMPORTED
            and t.attrs[Attr.IMPORTED_FROM].get("study") == source.name}
    fitting = warm_start.fitting(source.trials, store.sweep.space, recorder.plan.objectives)
    for trial in fitting:
        if trial.number not in done:
            import_trial(recorder, source, trial)
    store.set_attr(StudyAttr.WARM_START, {"study": source.name, "storage": source.storage,
                                          "imported": len(fitting), "of": len(source.trials)})
    tracker.set_tags(tracker.parent_id or "", {
        Tag.WARM_START: f"{source.name} ({len(fitting)} of {len(source.trials)} complete "
                        "trials imported)"})
    return warm_start.import_line(source, len(fitting))


def _parent_run_id(store: StudyStore) -> str | None:
    """The parent run the study recorded; on a shared storage a machine that did not create
    the study waits (up to :data:`READY_WAIT_S`) for the creator to record it, so that the
    study gets one parent run."""
    from cifar_search.engines.optuna.study import READY_WAIT_S

    deadline = time.monotonic() + (READY_WAIT_S if store.shared and not store.created else 0)
    run_id = store.attr(StudyAttr.MLFLOW_PARENT_RUN_ID)
    while run_id is None and time.monotonic() < deadline:
        time.sleep(0.2)
        run_id = store.attr(StudyAttr.MLFLOW_PARENT_RUN_ID)
    return run_id


def _tracking_token(store: StudyStore) -> str:
    """The study's tag on its MLflow parent run, recorded before the run is made."""
    token = store.attr(StudyAttr.MLFLOW_TOKEN)
    if token is None:
        token = uuid.uuid4().hex
        store.set_attr(StudyAttr.MLFLOW_TOKEN, token)
    return token


def run_sweep(sweep: Sweep, workspace: Workspace, say: Callable[[str], None],
              progress: Any = None) -> RunReport:
    """Run the sweep with a coordinator; the closing lines for the user."""
    from cifar_search.engines.base import RunReport
    from cifar_search.search.labels import best_line

    source = warm_source(sweep, workspace)  # before anything is created
    outcome: Outcome = Coordinator(sweep, workspace, say, progress, source).run()
    if outcome.interrupted:
        return RunReport([outcome.interrupted_line()], interrupted=True)
    if not outcome.finalised_here:
        return RunReport([f"{outcome.count}; another machine finalises the study (summary, "
                          f"plots, test set): python -m cifar_search status {sweep.source} "
                          "--storage URL --tracking-uri URI (the same as this run's) shows it"])
    test, tested = outcome.test, outcome.test_lines()
    if test is not None and test.get("registered"):
        tested.append(f"best model registered: models:/{sweep.name}/{test['registered']} "
                      "(mlflow.pyfunc.load_model or mlflow.keras.load_model)")
    return RunReport([best_line(outcome.best, sweep.objective.chosen_by), *tested,
                      f"{outcome.count}; compare them in the MLflow UI: python -m cifar_search "
                      f"ui {sweep.source}{workspace.flags}"])


def warm_source(sweep: Sweep, workspace: Workspace) -> SourceStudy | None:
    """The earlier study the sweep's study imports from now (``warm_start``), read and
    checked; None when it names none, or the study imported already (see
    :func:`.warm_start.imports`). Nothing is created.

    Raises:
        ConfigError: ``--from-study`` / ``--from-storage``: no such study, a study whose
            values mean something else here, or a study that cannot import now.
    """
    from cifar_search.engines.optuna.study import find_study, read_source, trial_views

    if sweep.warm_start is None:
        return None
    study = find_study(sweep, workspace)
    recorded, trained = None, 0
    if study is not None:
        recorded = study.user_attrs.get(StudyAttr.WARM_START)
        trained = sum(t.outcome not in (TrialOutcome.WAITING, TrialOutcome.IMPORTED)
                      for t in trial_views(study))
    if not warm_start.imports(sweep, recorded, trained, study is not None and workspace.shared):
        return None
    source = read_source(sweep, workspace)
    warm_start.check_source(source, sweep)
    return source


def check_resumable(sweep: Sweep, workspace: Workspace) -> None:
    """Refuse to resume a study that does not exist or has nothing left to do."""
    from cifar_search.engines.optuna.study import find_study, trial_views
    from cifar_search.errors import ConfigError, NoStudyError

    study = find_study(sweep, workspace)
    if study is None:
        raise NoStudyError(f"{sweep.source}: no study {sweep.name!r} to resume; start it with "
                           f"python -m cifar_search run {sweep.source}")
    trials = trial_views(study)
    plan = Plan.of(sweep)
    finished = scheduler.finished(trials)
    if scheduler.at_target(plan, trials):
        raise ConfigError("", f"study {sweep.name!r} is finished ({finished}/{plan.target} "
                          "trials); nothing to resume (raise --trials to run more)", sweep.source)

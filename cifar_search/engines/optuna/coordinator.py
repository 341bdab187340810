"""The coordinator: runs a sweep's study to its end with a pool of worker processes.

One process (this one) owns the Optuna study and the MLflow runs, so neither SQLite store ever
has two writers; worker processes only train (:mod:`cifar_search.execution.worker`). The loop
hands idle workers what :mod:`.scheduler` decides (a seed of a trial in flight, else a new
trial), answers each epoch report with the pruner's verdict, and has :mod:`.recorder` write
every event to both stores. A sweep's lock file keeps a second coordinator off the study in
one workspace.

On a shared storage (a database server, one coordinator per machine) the coordinators
cooperate through it (:mod:`.machines`): each beats for its trials in flight and takes over the
trials of machines that stopped beating, checks its claim to a new trial against the study's
target, stays until the study is over anywhere, and one of them, elected through the storage,
finalises the study.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from cifar_search.config.sweep import Sweep
from cifar_search.engines.optuna import machines, recovery, scheduler
from cifar_search.engines.optuna.machines import Machine
from cifar_search.engines.optuna.options import OptunaOptions
from cifar_search.engines.optuna.peers import grid_to_queue, peers_of
from cifar_search.engines.optuna.recorder import Recorder
from cifar_search.engines.optuna.pool import worker_count
from cifar_search.engines.optuna.scheduler import Next, Plan, Running, Train, Verdict
from cifar_search.engines.optuna.space import suggest
from cifar_search.engines.optuna.study import (DATA_KEY, StudyStore, TakenOver,
                                               create_optuna_store, is_shared)
from cifar_search.errors import CifarSearchError, DataError, debugging
from cifar_search.execution import tail
from cifar_search.execution.local import (Worker, WorkerPool, start_fork_server,
                                           threads_per_worker)
from cifar_search.execution.protocol import (
    Done,
    EpochEnd,
    EvaluateTask,
    Evaluated,
    Failed,
    Message,
    Reply,
    RunEnd,
    TrialTask,
)
from cifar_search.model import data
from cifar_search.search.states import Attr, StudyAttr, TrialOutcome
from cifar_search.tracking.store import create_mlflow_store
from cifar_search.workspace import Workspace

if TYPE_CHECKING:
    from cifar_search.engines.base import RunReport

#: Seconds the coordinator waits for worker messages before checking on itself again.
POLL_SECONDS = 1.0


@dataclass
class Outcome:
    """What a run of the coordinator achieved."""

    finished: int
    target: int
    interrupted: bool = False
    best: dict[str, Any] | None = None
    test: dict[str, Any] | None = None
    finalised_here: bool = True  # False: another machine finalises the study


class Coordinator:
    """Runs one sweep to its number of finished trials.

    Args:
        sweep: a validated sweep (from :func:`cifar_search.config.sweep.load_sweep`).
        workspace: where the stores, data cache and trial files live.
        say: prints one line for the user.
        progress: a :class:`cifar_search.progress.Progress` (or None for none).
    """

    def __init__(self, sweep: Sweep, workspace: Workspace, say: Callable[[str], None] = print,
                 progress: Any = None) -> None:
        self.sweep = sweep
        self.workspace = workspace
        self.say = say
        self.progress = progress
        self.plan = Plan.of(sweep)
        self.target = self.plan.target
        self.running: dict[int, Running] = {}
        self.stopping = False
        self.aborting = False
        self.shared = is_shared(workspace)
        self.machine = Machine.current(salted=self.shared)
        self.drawn: Any = None  # the summary's plots, drawn while the best model is evaluated

    # -- set-up ----------------------------------------------------------------------------

    def trial_dir(self, number: int, repeat: int) -> Path:
        """Files of one seed run (the trial's folder itself when the sweep has one repeat)."""
        folder = self.workspace.trial_dir(self.sweep.name, number)
        return folder / f"seed-{repeat}" if self.sweep.repeats > 1 else folder

    def _open(self) -> bool:
        """Open the study, its parent run and the recorder; recover a crash. Return whether
        the study existed."""
        if self.store.existed:  # a study made before its data was fingerprinted gets it now
            self.store.record_fingerprint()
        self.peers = peers_of(self.store, self.plan, self.machine)
        self.recorder = self.peers.recorder = open_recorder(
            self.store, self.sweep, self.workspace, self.plan, self.trial_dir, self.say,
            self.progress)
        self.tracker = self.recorder.tracker
        return self.store.existed

    def _announce(self, existed: bool) -> None:
        if existed:
            self.say(scheduler.resume_line(self.sweep.name, self.plan, self.store.view()))
        else:
            self.say(f"new study {self.sweep.name!r}: {self.target} trials, "
                     f"{worker_count(self.sweep)} worker(s), "
                     f"storage {self.workspace.shown_optuna_url}")
        for line in self.peers.lines(self.workspace):
            self.say(line)

    # -- starting work ---------------------------------------------------------------------

    def _more_to_start(self) -> bool:
        return self.peers.may_start(self.store.view())

    def _ask(self) -> tuple[Any, dict[str, Any]] | None:
        """The next trial and its full parameters (grid points are queued exactly once: here
        with one machine, when the study is created with several); None when, with several
        machines, the trial is beyond the target and was released."""
        if self.plan.grid is not None and not self.shared:  # only a grid reads it before asking
            point = scheduler.grid_point_to_queue(self.plan, self.store.view())
            if point is not None:
                self.store.enqueue(point)
        trial = self.store.ask()
        if not self.peers.claim(trial.number):
            return None
        params = suggest(self.sweep.space, trial)
        self.store.set_trial_attrs(trial.number, {Attr.PARAMS: params,
                                                  **self.peers.trial_attrs()})
        return trial, params

    def _saved_epochs(self, number: int) -> int | None:
        from cifar_search.model.checkpoint import saved_epochs

        return saved_epochs(self.trial_dir(number, 0))

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
            self.recorder.pruned(running, run, _no_result(run.epochs))
            return False
        worker.send(trial_task(self.sweep, running, run.repeat, run.seed, self.data_dir,
                               self.trial_dir(running.number, run.repeat), resume_dir))
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

    # -- worker messages -------------------------------------------------------------------

    def _handle(self, worker: Worker, message: Message | None) -> None:
        if message is None:
            self._on_death(worker)
        elif isinstance(message, EpochEnd):
            try:
                reply = self._on_epoch(worker, message)
            except TakenOver:
                self._lose(message.number)
                reply = Reply.STOP
            worker.reply(reply)
        elif isinstance(message, Done) and message.result.state == RunEnd.MOVED:
            try:
                self._move(worker, message.number)
            except TakenOver:
                self._lose(message.number)
        else:
            task, worker.task, worker.moving_to = worker.task, None, None
            try:
                if isinstance(message, Done):
                    self._on_done(message.number, task.repeat, message)
                elif isinstance(message, Failed) and message.number in self.running:
                    running = self.running.pop(message.number)
                    self.recorder.seed_failed(running, task.repeat, message.reason)
            except TakenOver:
                self._lose(message.number)
            finally:
                self.pool.trial_done(worker)

    def _lose(self, number: int) -> None:
        """Another machine took trial ``number`` over (this one's heartbeat came too late):
        nothing more is recorded for it here, and its worker is told to stop."""
        if self.running.pop(number, None) is not None:
            self.say(f"trial {number:>3} was taken over by another machine; dropped here")

    def _on_epoch(self, worker: Worker, message: EpochEnd) -> Reply:
        running = self.running.get(message.number)
        if running is None:  # another seed of this trial was interrupted: stop this one too
            return Reply.STOP
        run = running.runs[worker.task.repeat]
        prune = self.recorder.epoch(running, run, message.epoch, message.logs)
        if self.stopping or prune:
            return Reply.STOP if self.stopping else Reply.PRUNE
        return self._widen(worker, message.epoch + 1, message.logs.get("epoch_seconds", 0.0))

    def _widen(self, worker: Worker, epochs: int, seconds: float) -> Reply:
        """Move the run of ``worker`` (``epochs`` trained, the last in ``seconds``) to a wider
        worker when the tail rule says so (:func:`cifar_search.execution.tail.move_to`)."""
        lane = tail.Lane(worker, worker.threads, worker.task.epochs - epochs)
        if (not self.sweep.compute.widen_tail or not self.pool.free_cores()
                or not tail.worth_moving(lane, seconds)):
            return Reply.CONTINUE  # (before reading the study for what is left to start)
        lanes = {w: tail.Lane(w, w.threads, self._epochs_left(w)) for w in self.pool.busy()}
        lanes[worker] = lane
        waiting = scheduler.next_work(False, self.running.values(),
                                      self._more_to_start) is not None
        worker.moving_to = tail.move_to(self.pool.cores, list(lanes.values()), lanes[worker],
                                        waiting, seconds)
        return Reply.CONTINUE if worker.moving_to is None else Reply.MOVE

    def _epochs_left(self, worker: Worker) -> int:
        """Epochs the run of a busy worker still has to train (0: an evaluation)."""
        task = worker.task
        running = self.running.get(task.number) if isinstance(task, TrialTask) else None
        if running is None or task.repeat not in running.runs:
            return 0
        return task.epochs - running.runs[task.repeat].epochs

    def _move(self, worker: Worker, number: int) -> None:
        """The run of ``worker`` ended its epoch to move: it goes on from its checkpoint in a
        worker with the free cores."""
        task, worker.task = worker.task, None
        threads, worker.moving_to = worker.moving_to, None
        running = self.running.get(number)
        if running is None or threads is None or self.stopping:
            if running is not None:  # the sweep is stopping: as if told to stop
                self.recorder.interrupt(self.running.pop(number))
            self.pool.trial_done(worker)
            return
        wider = self.pool.widen(worker, threads)
        wider.send(dataclasses.replace(task, resume_dir=task.trial_dir))
        self.recorder.moved(running, running.runs[task.repeat], threads)

    def _on_done(self, number: int, repeat: int, message: Done) -> None:
        running = self.running.get(number)
        if running is None:  # a seed of an interrupted trial
            return
        result = message.result
        kind = scheduler.verdict(result, running.repeated)
        if kind == Verdict.SEED_DONE:
            self.recorder.seed_done(running, repeat, result)
            if running.all_seeds_done():
                self.running.pop(number)
            return
        self.running.pop(number)
        if kind == Verdict.INTERRUPT:
            self.recorder.interrupt(running)
        elif kind == Verdict.NO_VALUE:
            self.recorder.finish(running, TrialOutcome.FAILED, info=dict(result.config),
                                 reason="no objective value was logged")
        elif kind == Verdict.PRUNED:
            self.recorder.pruned(running, running.runs[repeat], result)
        else:
            self.recorder.complete(running, result)

    def _on_death(self, worker: Worker) -> None:
        """A worker died: replace it; a trial it was training continues from its checkpoint
        once, and fails if its continuation kills a worker too."""
        if not worker.ready:
            raise CifarSearchError(f"a worker process exited while starting (exit code "
                                   f"{worker.exitcode}); run with --debug for details")
        task = worker.task
        try:
            if isinstance(task, TrialTask) and task.number in self.running:
                self._trial_died(task.number, f"worker process died (exit code "
                                              f"{worker.exitcode})")
        except TakenOver:
            self._lose(task.number)
        finally:
            self.pool.replace(worker)

    def _trial_died(self, number: int, reason: str) -> None:
        running = self.running.pop(number)
        attrs = self.store.trial(number).attrs
        if scheduler.fails_after_worker_death(attrs):
            self.recorder.finish(running, TrialOutcome.FAILED, reason=reason)
        else:
            self.store.set_trial_attrs(number, {Attr.DEATHS: attrs.get(Attr.DEATHS, 0) + 1})
            self.say(f"trial {number:>3} interrupted: {reason}; it continues from its "
                     "checkpoint")
            self.recorder.interrupt(running, reason)

    # -- the loop --------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            for number in self.peers.keep_alive(list(self.running)):
                self._lose(number)
            self._give_work()
            if not self.pool.busy() and (self.stopping or self._nothing_left()):
                return
            for worker, message in self.pool.events(POLL_SECONDS):
                self._check_abort()
                self._handle(worker, message)
            self._check_abort()

    def _nothing_left(self) -> bool:
        """Whether this machine, idle, may leave: nothing more to start here, and (several
        machines) the study is over everywhere: until then it stays to take over the trials
        of a machine that stops beating."""
        if scheduler.next_work(False, self.running.values(), self._more_to_start) is not None:
            return False
        return self.peers.may_leave()

    def _check_abort(self) -> None:
        """Stop at once (second Ctrl-C, SIGTERM) at a point where the stores are consistent."""
        if self.aborting:
            raise KeyboardInterrupt

    def _abandon_running(self) -> None:
        """Interrupt every trial in flight (their checkpoints stay)."""
        for number in list(self.running):
            self.recorder.interrupt(self.running.pop(number))

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

    # -- the end ---------------------------------------------------------------------------

    def _run_workers(self) -> dict[str, Any] | None:
        """Train until the target or a stop; return the test results of a new best model
        (evaluated by the finalising machine only)."""
        threads = threads_per_worker(worker_count(self.sweep))
        log = None if debugging() else str(self.workspace.log_file(self.sweep.name))
        with WorkerPool(worker_count(self.sweep), threads, self.sweep.compute.gpu_memory_mb,
                        log) as self.pool:
            if self.progress:
                self.progress.start(self.target, scheduler.finished(self.store.view()),
                                    self.sweep.budget.epochs * self.sweep.repeats)
            try:
                with signals_to(self._on_signal):
                    self._loop()
                    finished = scheduler.finished(self.store.view())
                    self.finalises = self.peers.elect(finished, self.stopping)
                    if self.finalises and not self.stopping and finished >= self.target:
                        return evaluate_best(self.store, self.pool, self.data_dir, self.say,
                                             self._model_path, self._draw_ahead)
            except KeyboardInterrupt:
                self._abandon_running()
            finally:
                if self.progress:
                    self.progress.close()
        return None

    def _draw_ahead(self) -> None:
        """The summary's plots, drawn while a worker evaluates the best model."""
        from cifar_search.tracking import summary

        self.drawn = summary.draw_ahead(self.store.study, self.sweep, self.tracker)

    def _model_path(self, number: int, recorded: str) -> str:
        """Where this machine finds trial ``number``'s model, recorded at ``recorded`` by the
        machine that trained it (the same file when the trial folders are shared)."""
        from cifar_search.model.checkpoint_store import local_model

        return str(local_model(recorded, self.workspace.trial_dir(self.sweep.name, number)))

    def run(self) -> Outcome:
        """Run (or resume, or join) the sweep until it has its target of finished trials."""
        from cifar_search.tracking import summary

        self.data_dir = prepare_data(self.sweep, self.workspace)
        create_optuna_store(self.workspace)
        create_mlflow_store(self.workspace)
        lock = self.workspace.lock(self.sweep.name)
        try:
            queued = [*(grid_to_queue(self.plan, self.shared) or []),
                      *(dict(point) for point in OptunaOptions.of(self.sweep).start)]
            self.store = StudyStore(self.sweep, self.workspace, data.identity(self.data_dir),
                                    self.machine, queued)
            if scheduler.nothing_to_do(self.plan, self.store.view(),
                                       self.store.attr(StudyAttr.FINALISED)):
                return self._nothing_to_do()
            start_fork_server()  # TensorFlow is imported there while the runs are opened
            self._announce(self._open())
            self.finalises = not self.shared  # one machine finalises even when stopped at once
            test = self._run_workers()
            if not self.finalises:  # another machine finalises, or this one was stopped
                return self._leave()
            best = summary.log_study(self.store.study, self.sweep, self.tracker, test,
                                     self.drawn)
            return self._close(best, test)
        finally:
            summary.discard(self.drawn)
            lock.close()

    def _leave(self) -> Outcome:
        """A machine that does not finalise leaves the parent run as it is (other machines
        may still run the study)."""
        trials = self.store.view()
        return Outcome(scheduler.finished(trials), self.target, self.stopping,
                       finalised_here=False)

    def _close(self, best: dict[str, Any] | None, test: dict[str, Any] | None) -> Outcome:
        """Close the parent run: FINISHED (and the study marked summarised) at the end."""
        trials = self.store.view()
        done = scheduler.is_done(self.plan, trials)
        self.tracker.close_parent("FINISHED" if done else "KILLED")
        if done:
            self.store.set_attr(StudyAttr.FINALISED, scheduler.finished(trials))
        return Outcome(scheduler.finished(trials), self.target, self.stopping, best, test)

    def _nothing_to_do(self) -> Outcome:
        """A finished, summarised study: say so and write nothing."""
        from cifar_search.tracking.tables import best_trial

        trials = self.store.view()
        self.say(scheduler.resume_line(self.sweep.name, self.plan, trials)
                 + "; nothing to do (raise --trials to run more)")
        return Outcome(scheduler.finished(trials), self.target, False,
                       best_trial(self.store.study))


def prepare_data(sweep: Sweep, workspace: Workspace) -> Path:
    """The sweep's decoded-data folder, after everything that can fail on bad input (before
    any study or run is made)."""
    data_dir = data.prepared(sweep.data.source, workspace.data_cache)
    workspace.create()
    train = data.read_meta(data_dir)["train"]
    subset = sweep.data.subset
    source = data.resolve_source(sweep.data.source) or "CIFAR-10"
    if subset is not None and subset > train:
        raise DataError(f"{sweep.source}: data.subset: {subset} is more than the "
                        f"{train} training images in {source}")
    every = data.read_meta(data_dir)["classes"]
    missing = [name for name in sweep.data.classes or () if name not in every]
    if missing:
        raise DataError(f"{sweep.source}: data.classes: {missing[0]!r} is not a class of "
                        f"{source}; its classes are {', '.join(every)}")
    return data_dir


def open_recorder(store: StudyStore, sweep: Sweep, workspace: Workspace, plan: Plan,
                  trial_dir: Callable[[int, int], Path], say: Callable[[str], None],
                  progress: Any = None) -> Recorder:
    """Open the study's MLflow parent run and the recorder that writes both; recover what a
    crash left behind."""
    from cifar_search.tracking.writer import DatasetInfo, Tracker

    recorded = _parent_run_id(store)  # first: the creator makes the experiment and the run
    tracker = Tracker(workspace, sweep, DatasetInfo.of(sweep, store.fingerprint.get(DATA_KEY)))
    parent = tracker.open_parent(recorded, _tracking_token(store))
    store.set_attr(StudyAttr.MLFLOW_PARENT_RUN_ID, parent)
    tracker.update_parent({"trials": plan.target, "workers": worker_count(sweep)})
    recorder = Recorder(store, tracker, plan, sweep.objective.metric, trial_dir, say, progress)
    if store.shared:  # other machines' trials live while they beat: only stale ones are taken
        recovery.take_over(recorder, store.fail_stale(), machines.liveness().grace_s)
    else:
        recovery.recover(recorder)
    recovery.reconcile_runs(store.study, tracker, live=store.shared)
    return recorder


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


def trial_task(sweep: Sweep, running: Running, repeat: int, seed: int, data_dir: Path,
               trial_dir: Path, resume_dir: str | None) -> TrialTask:
    """What a worker needs to train one seed run of ``running``."""
    return TrialTask(
        number=running.number, params=running.params, family=sweep.model,
        epochs=sweep.budget.epochs, batch_size=sweep.budget.batch_size,
        patience=sweep.budget.patience, metric=sweep.objective.metric,
        direction=sweep.objective.direction, seed=seed, data_dir=str(data_dir),
        validation=sweep.data.validation, subset=sweep.data.subset, split_seed=sweep.seed,
        trial_dir=str(trial_dir), resume_dir=resume_dir,
        repeat=repeat, mixed_precision=sweep.compute.mixed_precision, xla=sweep.compute.xla,
        steps_per_execution=sweep.compute.steps_per_execution,
    )


@contextlib.contextmanager
def signals_to(handler: Callable[[int], None]) -> Iterator[None]:
    """Inside the block, SIGINT and SIGTERM call ``handler(signum)``; the previous handlers
    are put back after it."""
    previous = {sig: signal.signal(sig, lambda signum, frame: handler(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def evaluate_best(store: StudyStore, pool: WorkerPool, data_dir: Path,
                  say: Callable[[str], None],
                  locate: Callable[[int, str], str] = lambda number, path: path,
                  meanwhile: Callable[[], None] = lambda: None,
                  ) -> dict[str, Any] | None:
    """Evaluate the best trial's model on the test set in an idle worker (once per best
    trial); its test results, or None. ``locate(number, recorded_path)`` finds the model on
    this machine; ``meanwhile()`` runs here while the worker evaluates (e.g. drawing the
    summary's plots)."""
    best = store.best()
    if best is None or store.attr(StudyAttr.TEST_EVALUATED_TRIAL) == best.number:
        return None
    model_path = best.user_attrs.get(Attr.MODEL_PATH)
    if not model_path:
        return None
    model_path = locate(best.number, model_path)
    worker = pool.wait_idle(POLL_SECONDS)
    worker.send(EvaluateTask(model_path, str(data_dir), str(mlflow_model_dir(model_path))))
    meanwhile()
    message = pool.result_of(worker, POLL_SECONDS)
    if not isinstance(message, Evaluated):
        reason = message.reason if isinstance(message, Failed) else "worker died"
        say(f"could not evaluate trial {best.number} on the test set: {reason}")
        return None
    store.set_attr(StudyAttr.TEST_EVALUATED_TRIAL, best.number)
    return {**message.results, "trial": best.number, "model_path": model_path}


def mlflow_model_dir(model_path: str) -> Path:
    """Where the worker saves the best model as an MLflow Model folder for the tracker to log
    (beside the model; emptied first)."""
    folder = Path(model_path).parent / "mlflow_model"
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def _no_result(epochs: int) -> Any:
    """The result of a continued trial pruned on the epochs it already had."""
    from cifar_search.execution.protocol import RunEnd, TrialResult

    return TrialResult(RunEnd.PRUNED, None, epochs)


def run_sweep(sweep: Sweep, workspace: Workspace, say: Callable[[str], None],
              progress: Any = None) -> "RunReport":
    """Run the sweep with a coordinator; the closing lines for the user."""
    from cifar_search.engines.base import RunReport
    from cifar_search.search.labels import best_line

    outcome = Coordinator(sweep, workspace, say, progress).run()
    count = f"{outcome.finished}/{outcome.target} trials finished"
    if outcome.interrupted:
        return RunReport([f"interrupted with {count}; run the same command again to resume: "
                          f"python -m cifar_search run {sweep.source}"], interrupted=True)
    if not outcome.finalised_here:
        return RunReport([f"{count}; another machine finalises the study (summary, plots, "
                          f"test set): python -m cifar_search status {sweep.source} "
                          "--storage URL --tracking-uri URI (the same as this run's) shows it"])
    test = outcome.test
    tested = ([] if test is None else
              [f"test set: trial {test['trial']} accuracy={test['test_accuracy']:.4f} "
               f"loss={test['test_loss']:.4f}"])
    if test is not None and test.get("registered"):
        tested.append(f"best model registered: models:/{sweep.name}/{test['registered']} "
                      "(mlflow.pyfunc.load_model or mlflow.keras.load_model)")
    return RunReport([best_line(outcome.best, sweep.objective.metric), *tested,
                      f"{count}; compare them in the MLflow UI: python -m cifar_search ui "
                      f"{sweep.source}{workspace.flags}"])


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

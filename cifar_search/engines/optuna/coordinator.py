"""The coordinator: creates or resumes a sweep's study and hands its trials to workers.

One process (this one) owns the Optuna study and the MLflow runs, so neither SQLite store ever
has two writers; worker processes only train (:mod:`cifar_search.execution.worker`). Per epoch a worker
reports its metrics, the coordinator logs them, reports them to the trial and answers whether to
prune. A sweep's lock file keeps a second coordinator off the same study, so any trial found
RUNNING at start-up has no live owner: it is marked failed (interrupted), its MLflow run killed,
and its parameters queued again.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import optuna
from optuna.trial import TrialState

from cifar_search.model import data
from cifar_search.tracking import summary
from cifar_search.errors import CifarSearchError, ConfigError, DataError
from cifar_search.execution.local import WorkerPool, threads_per_worker
from cifar_search.config.sweep import Sweep
from cifar_search.execution.protocol import (
    CONTINUE,
    PRUNE,
    STOP,
    EvaluateTask,
    TrialResult,
    TrialTask,
    read_state,
    trial_seed,
)
from cifar_search.workspace import Workspace

optuna.logging.set_verbosity(optuna.logging.WARNING)

#: Fingerprint settings left out when at their default (so older studies still match).
UNSET = {"repeats": 1, "same_seed": False}

#: Seconds the coordinator waits for worker messages before checking on itself again.
POLL_SECONDS = 1.0


# --------------------------------------------------------------------------------------------
# Study
# --------------------------------------------------------------------------------------------


def _storage(workspace: Workspace) -> optuna.storages.BaseStorage:
    """The Optuna storage; SQLite waits for readers (e.g. ``status``) instead of failing."""
    url = workspace.optuna_url
    if url.startswith("sqlite:"):
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    return optuna.storages.get_storage(url)


def find_study(sweep: Sweep, workspace: Workspace) -> optuna.Study | None:
    """The sweep's existing study, or None."""
    if workspace.storage is None and not (workspace.root / "optuna.db").is_file():
        return None
    storage = _storage(workspace)
    if sweep.name not in optuna.study.get_all_study_names(storage):
        return None
    return optuna.load_study(study_name=sweep.name, storage=storage)


def _check_fingerprint(study: optuna.Study, sweep: Sweep, storage_url: str) -> None:
    """Refuse to resume a study with settings that would make its trials incomparable."""
    stored = json.loads(study.user_attrs.get("fingerprint", "{}"))
    wanted = json.loads(json.dumps(sweep.fingerprint()))
    stored, wanted = {**UNSET, **stored}, {**UNSET, **wanted}
    changed = sorted(k for k in wanted if stored.get(k) != wanted[k])
    if len(stored) > len(UNSET) and changed:
        key = changed[0]
        raise ConfigError(
            key, f"{json.dumps(wanted[key])} differs from the study's {json.dumps(stored.get(key))}"
            f"; the existing study {sweep.name!r} in {storage_url} was run with other settings "
            "(rename the sweep or use another --workspace to start afresh)", sweep.source
        )


def open_study(sweep: Sweep, workspace: Workspace) -> tuple[optuna.Study, bool]:
    """Load the sweep's study (checking it matches) or create it; return (study, existed)."""
    sampler = sweep.sampler.build(sweep.seed)
    pruner = sweep.pruner.build(sweep.budget.epochs)
    existing = find_study(sweep, workspace)
    if existing is not None:
        _check_fingerprint(existing, sweep, workspace.optuna_url)
        study = optuna.load_study(study_name=sweep.name, storage=_storage(workspace),
                                  sampler=sampler, pruner=pruner)
        return study, True
    study = optuna.create_study(study_name=sweep.name, storage=_storage(workspace),
                                sampler=sampler, pruner=pruner,
                                direction=sweep.objective.direction)
    study.set_user_attr("fingerprint", json.dumps(sweep.fingerprint(), sort_keys=True))
    study.set_user_attr("metric", sweep.objective.metric)
    return study, False


def is_interrupted(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether a failed trial failed because its sweep was interrupted (it is re-run)."""
    return trial.state == TrialState.FAIL and bool(trial.user_attrs.get("interrupted"))


def counts_as_finished(trial: optuna.trial.FrozenTrial) -> bool:
    """Complete, pruned, or failed for a reason of its own: counts toward ``trials``."""
    return trial.state.is_finished() and not is_interrupted(trial)


def _param_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def _params_of(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """The parameters a trial has got so far: all of them, those drawn, or those it was given."""
    return (trial.user_attrs.get("params") or trial.params
            or trial.system_attrs.get("fixed_params") or {})


def repeat_seed(seed: int, repeat: int) -> int:
    """The seed of a trial's ``repeat``-th run (the trial's own seed for the first)."""
    return (seed + 7919 * repeat) % (2**31 - 1)


def _mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


# --------------------------------------------------------------------------------------------
# Coordinator
# --------------------------------------------------------------------------------------------


@dataclass
class SeedRun:
    """One training run of a trial: the trial itself, or one of its seeds when the sweep
    repeats each trial (each seed then has its own MLflow run, nested in the trial's)."""

    repeat: int
    run_id: str
    seed: int
    epochs: int = 0


@dataclass
class Running:
    """A trial being trained: its seed runs started so far and their results."""

    trial: optuna.Trial
    run_id: str
    params: dict[str, Any]
    seed: int
    pending: list[int]
    repeated: bool = False  # trains several seeds, each its own run
    judge_first: bool = False
    started: float = field(default_factory=time.perf_counter)
    runs: dict[int, SeedRun] = field(default_factory=dict)
    results: dict[int, TrialResult] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        """Epochs trained, over all seeds."""
        return sum(run.epochs for run in self.runs.values())

    @property
    def may_start_seed(self) -> bool:
        """Whether a further seed may start: with a pruner, only once the first seed (the one
        the pruner judges) has completed."""
        return bool(self.pending) and (not self.judge_first or 0 in self.results)

    def reports(self, run: SeedRun) -> bool:
        """Whether ``run``'s epochs go to the pruner: the trial's own, or its first seed's."""
        return not self.repeated or (self.judge_first and run.repeat == 0)


@dataclass
class Outcome:
    """What a run of the coordinator achieved."""

    finished: int
    target: int
    interrupted: bool = False
    best: dict[str, Any] | None = None


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
        self.running: dict[int, Running] = {}
        self.stopping = False
        self.aborting = False
        self.grid = sweep.space.grid() if sweep.sampler.kind == "grid" else None
        self.target = len(self.grid) if self.grid is not None else sweep.trials
        if sweep.trials is not None:
            self.target = min(self.target, sweep.trials)

    # -- set-up ----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Everything that can fail on bad input, before any study or run is made."""
        source = data.resolve_source(self.sweep.data.source)
        self.workspace.create()
        self.data_dir = data.prepare(source, self.workspace.data_cache)
        train = data.read_meta(self.data_dir)["train"]
        subset = self.sweep.data.subset
        if subset is not None and subset > train:
            raise DataError(f"{self.sweep.source}: data.subset: {subset} is more than the "
                            f"{train} training images in {source or 'CIFAR-10'}")

    def _recover(self, tracker: Any) -> None:
        """Fail trials left RUNNING by an interrupted sweep and queue their parameters again
        (failed first, then queued: a crash in between can lose a retry, never duplicate one)."""
        for frozen in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            storage = self.study._storage
            if not frozen.user_attrs.get("mlflow_run_id"):  # died before recording its run
                run_id = tracker.recorded_run(frozen.number, _params_of(frozen),
                                              self._seed_of(frozen))
                storage.set_trial_user_attr(frozen._trial_id, "mlflow_run_id", run_id)
                frozen = storage.get_trial(frozen._trial_id)
            storage.set_trial_user_attr(frozen._trial_id, "interrupted", True)
            storage.set_trial_user_attr(frozen._trial_id, "fail_reason", "interrupted")
            self.study.tell(frozen.number, state=TrialState.FAIL)
            for run_id in self._run_ids(frozen):
                tracker.kill_run(run_id, "interrupted")
            self._requeue(frozen)

    @staticmethod
    def _run_ids(trial: optuna.trial.BaseTrial) -> list[str]:
        """The trial's MLflow run and its seed runs."""
        run_id = trial.user_attrs.get("mlflow_run_id")
        return ([run_id] if run_id else []) + list(trial.user_attrs.get("repeat_run_ids") or [])

    def _requeue(self, trial: optuna.trial.FrozenTrial) -> None:
        """Queue an interrupted trial's parameters again, to continue from its checkpoint (a
        trial that died before its parameters were drawn or given has nothing to continue)."""
        params = trial.params or trial.system_attrs.get("fixed_params")
        if not params:
            return
        attrs = {"retry_of": trial.number, "seed": trial.user_attrs.get("seed"),
                 "deaths": trial.user_attrs.get("deaths", 0)}
        self.study.enqueue_trial(params, user_attrs=attrs)

    def _announce(self, existed: bool) -> None:
        trials = self.study.get_trials(deepcopy=False)
        finished = [t for t in trials if counts_as_finished(t)]
        self.finished = len(finished)
        if not existed:
            self.say(f"new study {self.sweep.name!r}: {self.target} trials, "
                     f"{self.sweep.workers} worker(s), storage {self.workspace.optuna_url}")
            return
        by_state: dict[str, int] = {}
        for trial in finished:
            name = trial.state.name.lower()
            by_state[name] = by_state.get(name, 0) + 1
        parts = [f"{n} {state}" for state, n in sorted(by_state.items())]
        queued = [t for t in trials if t.state == TrialState.WAITING and "retry_of" in t.user_attrs]
        if queued:
            parts.append(f"{len(queued)} interrupted (re-queued)")
        left = max(0, self.target - self.finished)
        parts.append(f"{left} left")
        self.say(f"resuming study {self.sweep.name!r}: {', '.join(parts)}")

    # -- asking for trials -----------------------------------------------------------------

    def _claimed(self) -> set[str]:
        """Grid points that are finished, running or queued."""
        claimed = set()
        for trial in self.study.get_trials(deepcopy=False):
            if is_interrupted(trial):
                continue
            if "params" in trial.user_attrs:
                claimed.add(_param_key(trial.user_attrs["params"]))
        return claimed

    def _queued(self) -> bool:
        return bool(self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))

    def _next_grid_point(self) -> dict[str, Any] | None:
        claimed = self._claimed()
        for point in self.grid:
            if _param_key(point) not in claimed:
                return point
        return None

    def _more_to_start(self) -> bool:
        if self.finished + len(self.running) >= self.target:
            return False
        return self.grid is None or self._queued() or self._next_grid_point() is not None

    def _ask(self) -> tuple[optuna.Trial, dict[str, Any]]:
        """The next trial and its full parameters (grid points enqueued exactly once)."""
        if self.grid is not None and not self._queued():
            point = self._next_grid_point()
            swept = set(self.sweep.space.swept())
            self.study.enqueue_trial({k: v for k, v in point.items() if k in swept})
        trial = self.study.ask()
        params = self.sweep.space.suggest(trial)
        trial.set_user_attr("params", params)
        return trial, params

    def _trial_dir(self, number: int, repeat: int) -> Path:
        """Files of one seed run (the trial's folder itself when the sweep has one repeat)."""
        folder = self.workspace.trial_dir(self.sweep.name, number)
        return folder / f"seed-{repeat}" if self.sweep.repeats > 1 else folder

    def _task(self, running: Running, run: SeedRun, resume_dir: str | None) -> TrialTask:
        sweep = self.sweep
        return TrialTask(
            number=running.trial.number, params=running.params, family=sweep.model,
            epochs=sweep.budget.epochs, batch_size=sweep.budget.batch_size,
            patience=sweep.budget.patience, metric=sweep.objective.metric,
            direction=sweep.objective.direction, seed=run.seed, data_dir=str(self.data_dir),
            validation=sweep.data.validation, subset=sweep.data.subset, split_seed=sweep.seed,
            trial_dir=str(self._trial_dir(running.trial.number, run.repeat)),
            resume_dir=resume_dir, repeat=run.repeat,
            mixed_precision=sweep.compute.mixed_precision, xla=sweep.compute.xla,
            steps_per_execution=sweep.compute.steps_per_execution,
        )

    def _seed_of(self, trial: optuna.Trial) -> int:
        """The trial's seed: its own (a retry keeps its predecessor's), or the sweep's first
        trial seed for every trial with ``same_seed``."""
        if "seed" in trial.user_attrs and trial.user_attrs["seed"] is not None:
            return trial.user_attrs["seed"]
        return trial_seed(self.sweep.seed, 0 if self.sweep.same_seed else trial.number)

    def _earlier(self, params: dict[str, Any]) -> optuna.trial.FrozenTrial | None:
        """With ``same_seed``, an earlier trial of these parameters that training them again
        would only repeat: a complete one (its result is taken), else the pruned one that got
        furthest and left a checkpoint (training goes on from there)."""
        if not self.sweep.same_seed:
            return None
        key = _param_key(params)
        same = [t for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,
                                                                         TrialState.PRUNED))
                if _param_key(t.user_attrs.get("params") or {}) == key]
        complete = [t for t in same if t.state == TrialState.COMPLETE]
        if complete:
            return complete[0]
        paused = [(state["epochs"], t.number, t) for t in same
                  if (state := read_state(self._trial_dir(t.number, 0))) is not None]
        return max(paused, key=lambda p: p[:2])[2] if paused else None

    def _take_earlier(self, trial: optuna.Trial, params: dict[str, Any],
                      earlier: optuna.trial.FrozenTrial) -> None:
        """Complete ``trial`` with the result of ``earlier`` (same parameters, same seed),
        without training: its run records ``duplicate_of`` and no epochs."""
        origin = earlier.user_attrs.get("duplicate_of", earlier.number)
        seed = self._seed_of(trial)
        run_id = self.tracker.start_trial(trial.number, params, seed)
        for key, value in (("mlflow_run_id", run_id), ("seed", seed), ("duplicate_of", origin),
                           ("epochs_trained", 0), ("duration_s", 0.0)):
            trial.set_user_attr(key, value)
        for key in ("model_path", "repeat_values", "value_std"):
            if earlier.user_attrs.get(key) is not None:
                trial.set_user_attr(key, earlier.user_attrs[key])
        self.study.tell(trial, earlier.value)
        self.tracker.end_trial(run_id, "complete", earlier.value,
                               {"duplicate_of": origin, "epochs_trained": 0, "duration_s": 0.0})
        self.finished += 1
        if self.progress:
            self.progress.trial(0)
        self.say(self._line(trial.number, "complete", earlier.value, params,
                            f"(duplicate of trial {origin}, not trained)"))

    def _start_trial(self, worker: Any) -> None:
        trial, params = self._ask()
        while "retry_of" not in trial.user_attrs and (earlier := self._earlier(params)):
            if earlier.state == TrialState.PRUNED:  # go on from where it was stopped
                trial.set_user_attr("continues", earlier.number)
                break
            self._take_earlier(trial, params, earlier)
            if not self._more_to_start():
                return
            trial, params = self._ask()
        seed = self._seed_of(trial)
        run_id = self.tracker.start_trial(trial.number, params, seed,
                                          trial.user_attrs.get("retry_of"),
                                          trial.user_attrs.get("continues"))
        trial.set_user_attr("mlflow_run_id", run_id)
        trial.set_user_attr("seed", seed)
        repeats = self.sweep.repeats
        running = Running(trial, run_id, params, seed, list(range(repeats)), repeats > 1,
                          judge_first=self.sweep.pruner.kind != "none")
        self.running[trial.number] = running
        if not self._start_seed(worker, running) and self._more_to_start():
            self._start_trial(worker)  # pruned again on its earlier epochs: the worker is free

    def _waiting_seed(self) -> Running | None:
        """A trial in flight with a seed that may start (seeds go before new trials)."""
        return next((r for r in self.running.values() if r.may_start_seed), None)

    def _start_seed(self, worker: Any, running: Running) -> bool:
        """Hand the next seed of ``running`` to ``worker`` (the trial itself for one repeat);
        False when the trial was pruned on the epochs it continues from instead."""
        repeat = running.pending.pop(0)
        trial = running.trial
        if running.repeated:
            seed = repeat_seed(running.seed, repeat)
            run_id = self.tracker.start_seed(running.run_id, trial.number, repeat, seed)
            trial.set_user_attr("repeat_run_ids",
                                [*(trial.user_attrs.get("repeat_run_ids") or []), run_id])
            run = SeedRun(repeat, run_id, seed)
        else:
            run = SeedRun(repeat, running.run_id, running.seed)
        running.runs[repeat] = run
        trial.set_user_attr("worker_pid", worker.process.pid)
        resume_dir, pruned = self._replay(running, run)
        if pruned:
            self._pruned(running, run, TrialResult("pruned", None, run.epochs))
            return False
        worker.send("train", self._task(running, run, resume_dir))
        return True

    @staticmethod
    def _predecessor(attrs: dict[str, Any]) -> int | None:
        """The trial a trial goes on from: the interrupted one it retries, or (``same_seed``)
        the pruned one with its parameters."""
        return attrs.get("retry_of", attrs.get("continues"))

    def _checkpoint_folder(self, number: int | None, repeat: int) -> Path | None:
        """The newest checkpoint of seed ``repeat`` along a chain of trials that went on from
        one another, starting at trial ``number``."""
        trials = {t.number: t for t in self.study.get_trials(deepcopy=False)}
        while number is not None:
            folder = self._trial_dir(number, repeat)
            if read_state(folder) is not None:
                return folder
            number = self._predecessor(trials[number].user_attrs) if number in trials else None
        return None

    def _replay(self, running: Running, run: SeedRun) -> tuple[str | None, bool]:
        """Give a seed run that goes on from a predecessor the epochs that one completed
        (MLflow history and pruner reports). Return the predecessor's folder (None: start
        afresh) and whether the pruner stopped the trial on those epochs; only a continued
        pruned trial is judged on them (they are its own: same parameters, same seed), a
        retry goes on regardless, as it would have before the interruption."""
        attrs = running.trial.user_attrs
        folder = self._checkpoint_folder(self._predecessor(attrs), run.repeat)
        if folder is None:
            return None, False
        state = read_state(folder)
        for epoch, logs in enumerate(state["history"]):
            if self._record_epoch(running, run, epoch, logs) and "continues" in attrs:
                running.trial.set_user_attr("resumed_at_epoch", epoch + 1)
                return str(folder), True
        running.trial.set_user_attr("resumed_at_epoch", state["epochs"])
        return str(folder), False

    # -- handling worker messages ----------------------------------------------------------

    def _record_epoch(self, running: Running, run: SeedRun, epoch: int,
                      logs: dict[str, float]) -> bool:
        """Log one epoch to MLflow and report it to the pruner; return whether to prune.
        (Of a repeated trial only the first seed is reported, and only to a pruner.)"""
        step = epoch + 1
        run.epochs = step
        self.tracker.log_epoch(run.run_id, step, logs)
        if self.progress:
            self.progress.epoch()
        value = logs.get(self.sweep.objective.metric)
        if not running.reports(run) or value is None or not math.isfinite(value):
            return False
        running.trial.report(value, step)
        return running.trial.should_prune()

    def _on_epoch(self, worker: Any, number: int, epoch: int, logs: dict[str, float]) -> None:
        running = self.running.get(number)
        if running is None:  # another seed of this trial was interrupted: stop this one too
            worker.reply(STOP)
            return
        prune = self._record_epoch(running, running.runs[worker.task.repeat], epoch, logs)
        worker.reply(STOP if self.stopping else PRUNE if prune else CONTINUE)

    def _finish(self, number: int, state: str, value: float | None = None,
                info: dict[str, Any] | None = None, reason: str | None = None) -> None:
        running = self.running.pop(number)
        trial = running.trial
        seconds = time.perf_counter() - running.started
        for run in running.runs.values():
            if run.run_id != running.run_id and run.repeat not in running.results:
                self.tracker.kill_run(run.run_id, reason or "the trial ended")
        info = {**(info or {}), "duration_s": round(seconds, 3), "epochs_trained": running.epochs}
        trial.set_user_attr("duration_s", round(seconds, 3))
        trial.set_user_attr("epochs_trained", running.epochs)
        if reason:
            trial.set_user_attr("fail_reason", reason)
        optuna_state = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED,
                        "failed": TrialState.FAIL}[state]
        self.study.tell(trial, value if state == "complete" else None, state=optuna_state)
        self.tracker.end_trial(running.run_id, state, value, info, reason)
        self.finished += 1
        if self.progress:
            self.progress.trial(running.epochs)
        tail = f"({running.epochs} epochs, {seconds:.1f} s)" + (f" reason: {reason}" if reason
                                                                 else "")
        self.say(self._line(number, state, value, running.params, tail))

    def _line(self, number: int, state: str, value: float | None, params: dict[str, Any],
              tail: str) -> str:
        params = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in params.items() if k in self.sweep.space.swept())
        score = f"{self.sweep.objective.metric}={value:.4f}" if value is not None else ""
        return " ".join(p for p in (f"trial {number:>3} {state:<8}", score, params, tail) if p)

    def _on_done(self, number: int, repeat: int, result: TrialResult) -> None:
        running = self.running.get(number)
        if running is None:  # a seed of an interrupted trial
            return
        config = {k: v for k, v in result.config.items()}
        if result.state == "stopped":
            self._interrupt(number)
            return
        if result.state == "complete" and result.value is None:
            self._finish(number, "failed", info=config, reason="no objective value was logged")
            return
        if result.state == "pruned":
            self._pruned(running, running.runs[repeat], result)
            return
        if running.repeated:
            self._seed_done(running, repeat, result)
            return
        if result.model_path:
            running.trial.set_user_attr("model_path", result.model_path)
        self._finish(number, result.state, result.value, config)

    def _pruned(self, running: Running, run: SeedRun, result: TrialResult) -> None:
        """End a pruned trial; with repeats its first seed was pruned and the other seeds
        never start."""
        if result.model_path:
            running.trial.set_user_attr("model_path", result.model_path)
        if running.repeated:
            running.results[run.repeat] = result
            running.pending.clear()
            self.tracker.end_trial(run.run_id, "pruned", result.value,
                                   {**result.config, "epochs_trained": run.epochs})
        self._finish(running.trial.number, "pruned", result.value, result.config)

    def _seed_done(self, running: Running, repeat: int, result: TrialResult) -> None:
        """Close one seed's run; when every seed is done the trial's value is their mean."""
        run = running.runs[repeat]
        running.results[repeat] = result
        self.tracker.end_trial(run.run_id, result.state, result.value,
                               {**result.config, "epochs_trained": run.epochs})
        if running.pending or len(running.results) < len(running.runs):
            return
        results = [running.results[r] for r in sorted(running.results)]
        values = [r.value for r in results]
        mean, std = _mean_std(values)
        trial = running.trial
        best = (min if self.sweep.objective.direction == "minimize" else max)(
            range(len(values)), key=lambda i: values[i])
        if results[best].model_path:
            trial.set_user_attr("model_path", results[best].model_path)
        trial.set_user_attr("repeat_values", values)
        trial.set_user_attr("value_std", std)
        self._finish(running.trial.number, "complete", mean,
                     {**results[best].config, "value_std": std, "repeats": len(values)})

    def _handle(self, worker: Any, message: Any) -> None:
        if message is None:
            if not worker.ready:
                raise CifarSearchError(f"a worker process exited while starting (exit code "
                                       f"{worker.exitcode}); run with --debug for details")
            task = worker.task
            if isinstance(task, TrialTask) and task.number in self.running:
                self._on_worker_death(task.number, worker.exitcode)
            self.pool.replace(worker)
            return
        kind = message[0]
        if kind == "epoch":
            self._on_epoch(worker, *message[1:])
            return
        repeat = worker.task.repeat if isinstance(worker.task, TrialTask) else 0
        worker.task = None
        if kind == "done":
            self._on_done(message[1], repeat, message[2])
        elif kind == "failed" and message[1] in self.running:
            running = self.running[message[1]]
            if running.repeated:  # the seed's own run fails; the trial fails with it
                running.results[repeat] = TrialResult("failed", None, running.runs[repeat].epochs)
                self.tracker.end_trial(running.runs[repeat].run_id, "failed",
                                       reason=message[2])
            self._finish(message[1], "failed", reason=message[2])
        self.pool.trial_done(worker)

    # -- the loop --------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            for worker in self.pool.idle():
                if self.stopping:
                    break
                waiting = self._waiting_seed()
                if waiting is not None:
                    self._start_seed(worker, waiting)
                elif self._more_to_start():
                    self._start_trial(worker)
                else:
                    break
            if not self.pool.busy() and (self.stopping or not (self._more_to_start()
                                                               or self._waiting_seed())):
                return
            for worker, message in self.pool.events(POLL_SECONDS):
                self._check_abort()
                self._handle(worker, message)
            self._check_abort()

    def _check_abort(self) -> None:
        """Stop at once (second Ctrl-C, SIGTERM) at a point where the stores are consistent."""
        if self.aborting:
            raise KeyboardInterrupt

    def _on_worker_death(self, number: int, exitcode: int | None) -> None:
        """A worker died mid-trial: continue the trial from its checkpoint once; if its
        continuation kills a worker too, the trial fails (it is the trial's fault)."""
        reason = f"worker process died (exit code {exitcode})"
        trial = self.running[number].trial
        if trial.user_attrs.get("deaths", 0) >= 1:
            self._finish(number, "failed", reason=reason)
            return
        trial.set_user_attr("deaths", trial.user_attrs.get("deaths", 0) + 1)
        self.say(f"trial {number:>3} interrupted: {reason}; it continues from its checkpoint")
        self._interrupt(number, reason)

    def _interrupt(self, number: int, reason: str = "interrupted") -> None:
        """Mark a trial in flight as interrupted (Optuna FAIL + MLflow KILLED) and queue it
        to continue from its checkpoint."""
        running = self.running.pop(number)
        running.trial.set_user_attr("interrupted", True)
        running.trial.set_user_attr("fail_reason", reason)
        self.study.tell(running.trial, state=TrialState.FAIL)
        self._requeue(self.study._storage.get_trial(running.trial._trial_id))
        self.tracker.kill_run(running.run_id, reason)
        for run in running.runs.values():
            if run.run_id != running.run_id and run.repeat not in running.results:
                self.tracker.kill_run(run.run_id, reason)

    def _abandon_running(self) -> None:
        """Interrupt every trial in flight (their checkpoints stay)."""
        for number in list(self.running):
            self._interrupt(number)

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """First Ctrl-C: hand out no new trial and stop running ones after their epoch.
        Second Ctrl-C, or SIGTERM: stop at once. Either way every trial in flight is recorded
        as interrupted and continues from its checkpoint on resume."""
        def on_signal(signum: int, frame: Any) -> None:
            if self.stopping or signum == signal.SIGTERM:
                self.stopping = self.aborting = True  # acted on between two store writes
                return
            self.stopping = True
            self.say("stopping: running trials end after their current epoch "
                     "(Ctrl-C again to stop at once)")

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # -- summary ---------------------------------------------------------------------------

    def _evaluate_best(self) -> dict[str, Any] | None:
        """Evaluate the best trial's model on the test set (once per best trial)."""
        try:
            best = self.study.best_trial
        except ValueError:
            return None
        if self.study.user_attrs.get("test_evaluated_trial") == best.number:
            return None
        model_path = best.user_attrs.get("model_path")
        if not model_path:
            return None
        worker = self._idle_worker()
        worker.send("evaluate", EvaluateTask(model_path, str(self.data_dir)))
        while True:
            for w, message in self.pool.events(POLL_SECONDS):
                if w is not worker:
                    continue
                worker.task = None
                if message is None or message[0] != "evaluated":
                    reason = message[2] if message else "worker died"
                    self.say(f"could not evaluate trial {best.number} on the test set: {reason}")
                    return None
                results = {**message[1], "trial": best.number, "model_path": model_path}
                self.study.set_user_attr("test_evaluated_trial", best.number)
                return results

    def _idle_worker(self) -> Any:
        """A started worker with no task (waiting for one to start, replacing dead ones)."""
        while not self.pool.idle():
            for worker, message in self.pool.events(POLL_SECONDS):
                if message is None:
                    self.pool.replace(worker)
        return self.pool.idle()[0]

    def run(self) -> Outcome:
        """Run (or resume) the sweep until it has ``target`` finished trials."""
        from cifar_search.tracking import integrity
        from cifar_search.tracking.mlflow import Tracker

        self.prepare()
        self.workspace.create_stores()
        lock = self.workspace.lock(self.sweep.name)
        try:
            self.study, existed = open_study(self.sweep, self.workspace)
            self.tracker = Tracker(self.workspace, self.sweep)
            parent = self.tracker.open_parent(self.study.user_attrs.get("mlflow_parent_run_id"),
                                              self._tracking_token())
            self.study.set_user_attr("mlflow_parent_run_id", parent)
            self.tracker.update_parent({"trials": self.target, "workers": self.sweep.workers})
            self._recover(self.tracker)
            integrity.repair(self.tracker, integrity.reconcile(self.study, self.tracker, False))
            self._announce(existed)
            outcome = self._run_workers()
        finally:
            lock.close()
        return outcome

    def _tracking_token(self) -> str:
        """The study's tag on its MLflow parent run, recorded before the run is made."""
        token = self.study.user_attrs.get("mlflow_token")
        if token is None:
            token = uuid.uuid4().hex
            self.study.set_user_attr("mlflow_token", token)
        return token

    def _run_workers(self) -> Outcome:
        threads = threads_per_worker(self.sweep.workers)
        with WorkerPool(self.sweep.workers, threads,
                        gpu_memory_mb=self.sweep.compute.gpu_memory_mb) as self.pool:
            if self.progress:
                self.progress.start(self.target, self.finished,
                                    self.sweep.budget.epochs * self.sweep.repeats)
            try:
                with self._signals():
                    self._loop()
                    test = None
                    if not self.stopping and self.finished >= self.target:
                        test = self._evaluate_best()
            except KeyboardInterrupt:
                test = None
                self._abandon_running()
            finally:
                if self.progress:
                    self.progress.close()
        interrupted = self.stopping
        best = summary.log_study(self.study, self.sweep, self.tracker, test)
        done = self.finished >= self.target or (self.grid is not None and not self._more_to_start())
        self.tracker.close_parent("FINISHED" if done else "KILLED")
        return Outcome(self.finished, self.target, interrupted, best)

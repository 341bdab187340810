"""What happens to a trial, recorded in Optuna and MLflow together.

The coordinator decides (with :mod:`.scheduler`) and the recorder writes: a trial's MLflow run
and its Optuna attributes when it starts, each epoch (MLflow history, the pruner's report),
and its end: complete, pruned, failed, interrupted (queued again), or completed with an
earlier trial's result. Each write goes through the study adapter (:mod:`.study`) or the
tracker (:class:`cifar_search.tracking.protocol.TrialTracker`), never to a store directly.

A trial that breaks a constraint: one whose built model breaks a limit known before training
(``params``) is never trained and ends as an Optuna PRUNED trial, never COMPLETE with a
made-up worst value: TPE and GP, given its constraint values, learn where the infeasible
region lies, NSGA-II and the pruners leave pruned trials out, and no objective is invented.
One that breaks a limit known only after training completes with its real value. Either is
``infeasible`` (user attribute and MLflow ``state``), counts toward ``trials`` as a pruned
trial does, never counts as a failure and is never the best
(:func:`cifar_search.search.feasibility.feasible`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cifar_search.config.constraints import excess_by_measure, violations
from cifar_search.engines.optuna import scheduler, warm_start
from cifar_search.engines.optuna.scheduler import Plan, Running, SeedRun, TakeResult
from cifar_search.engines.optuna.study import StudyStore
from cifar_search.engines.optuna.warm_start import SourceStudy, SourceTrial
from cifar_search.execution.protocol import TrialResult
from cifar_search.model.checkpoint import read_sound_state
from cifar_search.search.fidelity import rung_record
from cifar_search.search.labels import params_text
from cifar_search.search.states import Attr, Tag, TrialOutcome
from cifar_search.tracking.protocol import TrialTracker


class Recorder:
    """Writes one sweep's trials to its study and its MLflow runs.

    Args:
        store: the study.
        tracker: the sweep's MLflow runs (:class:`cifar_search.tracking.protocol.TrialTracker`).
        plan: the sweep's settings for decisions.
        metric: the objective metric.
        trial_dir: the folder of a trial's seed run, ``(number, repeat) -> Path``.
        say: prints one line for the user.
        progress: progress bars, or None.
    """

    def __init__(self, store: StudyStore, tracker: TrialTracker, plan: Plan, metric: str,
                 trial_dir: Callable[[int, int], Path], say: Callable[[str], None],
                 progress: Any = None) -> None:
        self.store = store
        self.tracker = tracker
        self.plan = plan
        self.metric = metric
        self.trial_dir = trial_dir
        self.say = say
        self.progress = progress

    # -- starting ----------------------------------------------------------------------------

    def start(self, trial: Any, params: dict[str, Any], continues: int | None) -> Running:
        """Open the MLflow run of a trial about to train and record it on the trial."""
        if continues is not None:  # first: a crash before the run is made keeps the chain
            self.store.set_trial_attrs(trial.number, {Attr.CONTINUES: continues})
        attrs = self.store.trial(trial.number).attrs
        seed = scheduler.seed_of(self.plan, trial.number, attrs, self._earlier(attrs))
        run_id = self.tracker.start_trial(trial.number, params, seed, attrs.get(Attr.RETRY_OF),
                                          continues)
        rung = rung_record(attrs)  # pruner 'asha': the rung, shown in the UI
        if rung:
            self.tracker.set_tags(run_id, rung)
        self.store.set_trial_attrs(trial.number, {Attr.MLFLOW_RUN_ID: run_id, Attr.SEED: seed,
                                                  Attr.STATE: TrialOutcome.RUNNING.value,
                                                  **self._link(run_id)})
        return Running.start(self.plan, trial, trial.number, run_id, params, seed)

    def _earlier(self, attrs: Any) -> list[scheduler.TrialView]:
        """The study's trials, which a new trial's seed counts (none read for a trial whose
        seed is already set: :func:`scheduler.seed_of`)."""
        return [] if attrs.get(Attr.SEED) is not None else self.store.view()

    def take_result(self, trial: Any, params: dict[str, Any], taken: TakeResult) -> None:
        """Complete ``trial`` with an earlier result (same parameters, same seed), untrained:
        its run records ``duplicate_of`` and no epochs."""
        attrs = self.store.trial(trial.number).attrs
        seed = scheduler.seed_of(self.plan, trial.number, attrs, self._earlier(attrs))
        run_id = self.tracker.start_trial(trial.number, params, seed)
        self.store.set_trial_attrs(trial.number, {
            Attr.MLFLOW_RUN_ID: run_id, Attr.SEED: seed, Attr.DUPLICATE_OF: taken.origin,
            Attr.EPOCHS_TRAINED: 0, Attr.DURATION_S: 0.0,
            Attr.STATE: TrialOutcome.COMPLETE.value, **self._link(run_id), **taken.copied})
        measures = dict(taken.copied.get(Attr.MEASURES) or {})
        infeasible = self.judge(trial.number, measures)  # the earlier trial's constraints too
        scores = {m: measures[m] for m in self.plan.objectives} or None
        self.store.tell(trial.number, TrialOutcome.COMPLETE,
                        list(scores.values()) if scores else taken.value)
        logged = {k: v for k, v in measures.items() if scores and not k.startswith("val_")}
        shown = TrialOutcome.INFEASIBLE if infeasible else TrialOutcome.COMPLETE
        self.tracker.end_trial(run_id, shown, taken.value,
                               {Attr.DUPLICATE_OF: taken.origin, Attr.EPOCHS_TRAINED: 0,
                                Attr.DURATION_S: 0.0, **logged}, infeasible)
        if self.progress:
            self.progress.trial(0)
        self.say(self.line(trial.number, shown, taken.value, params,
                           f"(duplicate of trial {taken.origin}, not trained)", scores))

    def start_seed(self, running: Running, worker_pid: int) -> SeedRun:
        """The next seed run of ``running`` (its own nested MLflow run when repeated)."""
        repeat, seed = running.next_seed()
        run_id = running.run_id
        if running.repeated:
            run_id = self.tracker.start_seed(running.run_id, running.number, repeat, seed)
            ids = self.store.trial(running.number).attrs.get(Attr.REPEAT_RUN_IDS) or []
            self.store.set_trial_attrs(running.number, {Attr.REPEAT_RUN_IDS: [*ids, run_id]})
        run = SeedRun(repeat, run_id, seed)
        running.runs[repeat] = run
        self.store.set_trial_attrs(running.number, {Attr.WORKER_PID: worker_pid})
        return run

    def replay(self, running: Running, run: SeedRun) -> tuple[str | None, bool]:
        """Give a seed run that goes on from a predecessor the epochs that one completed
        (MLflow history and pruner reports). Return the predecessor's folder (None: start
        afresh) and whether the pruner stopped the trial on those epochs: only a continued
        pruned trial is judged on them (same parameters, same seed); a retry goes on
        regardless, as it would have before the interruption."""
        trial = self.store.trial(running.number)
        if trial.predecessor is None:  # a new trial: the whole study need not be read
            return None, False
        source = scheduler.checkpoint_source(
            trial.predecessor, {t.number: t for t in self.store.view()},
            lambda n: read_sound_state(self.trial_dir(n, run.repeat), self.say) is not None)
        if source is None:
            return None, False
        folder = self.trial_dir(source, run.repeat)
        state = read_sound_state(folder, self.say)
        if state is None:  # gone since it was chosen: the run starts afresh
            return None, False
        for epoch, logs in enumerate(state["history"]):
            if self.epoch(running, run, epoch, logs) and Attr.CONTINUES in trial.attrs:
                self.store.set_trial_attrs(running.number, {Attr.RESUMED_AT_EPOCH: epoch + 1})
                return str(folder), True
        self.store.set_trial_attrs(running.number, {Attr.RESUMED_AT_EPOCH: state["epochs"]})
        return str(folder), False

    # -- epochs ------------------------------------------------------------------------------

    def epoch(self, running: Running, run: SeedRun, epoch: int, logs: dict[str, float],
              last: bool = False) -> bool:
        """Log one epoch to MLflow and report it to the pruner; return whether to prune (never
        after the ``last`` epoch of the budget: the trial is complete, its training spent).
        (Of a repeated trial only the first seed is reported, and only to a pruner.)"""
        step = epoch + 1
        run.epochs = step
        self.tracker.log_epoch(run.run_id, step, logs)
        if self.progress:
            self.progress.epoch()
        value = logs.get(self.metric)
        if not running.reports(run) or value is None or not math.isfinite(value):
            return False
        return self.store.report(running.trial, value, step) and not last

    def moved(self, running: Running, run: SeedRun, threads: int) -> None:
        """A seed run went on, after ``run.epochs`` epochs, in a worker of ``threads`` threads
        (the tail rule): recorded on the trial and its run."""
        moves = self.store.trial(running.number).attrs.get(Attr.WIDENED) or []
        self.store.set_trial_attrs(running.number, {
            Attr.WIDENED: [*moves, {"epoch": run.epochs, "threads": threads}]})
        self.tracker.set_tags(run.run_id, {Tag.WIDENED_AT_EPOCH: run.epochs,
                                           Tag.THREADS: threads})
        self.say(f"trial {running.number:>3} goes on with {threads} threads from epoch "
                 f"{run.epochs} (cores were free)")

    # -- ending ------------------------------------------------------------------------------

    def finish(self, running: Running, outcome: TrialOutcome, value: float | None = None,
               info: dict[str, Any] | None = None, reason: str | None = None,
               infeasible: str | None = None, measures: dict[str, float] | None = None) -> None:
        """End a trial: its seed runs, the Optuna trial, its MLflow run, one line;
        ``infeasible``: the constraint it broke (its run's ``state`` is then ``infeasible``,
        whether Optuna's trial completed or was never trained); with several objectives a
        complete trial is told its ``measures`` of the objectives, in order (all of them are
        kept on the trial and its run)."""
        seconds = time.perf_counter() - running.started
        for run in running.unfinished_seed_runs():
            self.tracker.kill_run(run.run_id, reason or "the trial ended")
        attrs: dict[str, Any] = {Attr.DURATION_S: round(seconds, 3),
                                 Attr.EPOCHS_TRAINED: running.epochs,
                                 Attr.STATE: TrialOutcome(outcome).value}
        if reason or outcome == TrialOutcome.FAILED:  # a FAIL without one reads as taken over
            attrs[Attr.FAIL_REASON] = reason or "failed"
        self.store.set_trial_attrs(running.number, attrs)  # measures: recorded by judge()
        told = [measures[m] for m in self.plan.objectives] if measures else value
        self.store.tell(running.number, outcome,
                        told if outcome == TrialOutcome.COMPLETE else None)
        logged = {k: v for k, v in (measures or {}).items() if not k.startswith("val_")}
        info = {**(info or {}), **logged, Attr.DURATION_S: round(seconds, 3),
                Attr.EPOCHS_TRAINED: running.epochs}
        shown = TrialOutcome.INFEASIBLE if infeasible else outcome
        self.tracker.end_trial(running.run_id, shown, value, info, reason or infeasible)
        if self.progress:
            self.progress.trial(running.epochs)
        why = reason or infeasible
        tail = f"({running.epochs} epochs, {seconds:.1f} s)" + (f" reason: {why}" if why else "")
        scores = {m: measures[m] for m in self.plan.objectives} if measures else None
        self.say(self.line(running.number, shown, value, running.params, tail, scores))

    def infeasible(self, running: Running, run: SeedRun, result: TrialResult) -> None:
        """End a trial whose built model broke a constraint known before training: untrained,
        an Optuna PRUNED trial (see :meth:`judge`); with repeats the other seeds never start."""
        reason = "; ".join(violations(self.plan.constraints, result.measures))
        if running.repeated:
            running.results[run.repeat] = result
            running.pending.clear()
            self.tracker.end_trial(run.run_id, TrialOutcome.INFEASIBLE, reason=reason)
        self.judge(running.number, result.measures)
        self.finish(running, TrialOutcome.INFEASIBLE, None, result.config, infeasible=reason)

    def judge(self, number: int, measures: dict[str, float]) -> str | None:
        """Record a trial's measures, its constraint values (how far each limit is exceeded, 0
        for a measure it lacks) and, when they break a constraint, why, before Optuna is told;
        return the reason, or None (the rule for infeasible trials: the module's docstring)."""
        constraints = self.plan.constraints
        reason = "; ".join(violations(constraints, measures)) or None
        attrs: dict[str, Any] = {Attr.MEASURES: measures}
        if reason:
            attrs[Attr.INFEASIBLE] = reason
        self.store.set_trial_attrs(number, attrs)
        if constraints:  # where Optuna's samplers read them
            self.store.set_constraints(number, excess_by_measure(constraints, measures))
        return reason

    def pruned(self, running: Running, run: SeedRun, result: TrialResult) -> None:
        """End a pruned trial; with repeats its first seed was pruned and the other seeds
        never start."""
        self._keep_model(running, result)
        self.judge(running.number, result.measures)  # what it measured: params, no final metric
        if running.repeated:
            running.results[run.repeat] = result
            running.pending.clear()
            self.tracker.end_trial(run.run_id, TrialOutcome.PRUNED, result.value,
                                   {**result.config, Attr.EPOCHS_TRAINED: run.epochs})
        self.finish(running, TrialOutcome.PRUNED, result.value, result.config)

    def complete(self, running: Running, result: TrialResult) -> None:
        """End a trial that trained to its end (one seed); with several objectives it fails
        when one of them was not measured (a model without an accuracy metric)."""
        self._keep_model(running, result)
        missing = [m for m in self.plan.objectives if m not in result.measures]
        if missing:
            self.finish(running, TrialOutcome.FAILED, info=dict(result.config),
                        reason=f"no {', '.join(missing)} was measured")
            return
        self.finish(running, TrialOutcome.COMPLETE, result.value, result.config,
                    infeasible=self.judge(running.number, result.measures),
                    measures=dict(result.measures) if self.plan.objectives else None)

    def seed_done(self, running: Running, repeat: int, result: TrialResult) -> None:
        """Close one seed's run; when every seed is done the trial's value is their mean."""
        run = running.runs[repeat]
        running.results[repeat] = result
        self.tracker.end_trial(run.run_id, result.state, result.value,
                               {**result.config, Attr.EPOCHS_TRAINED: run.epochs})
        if not running.all_seeds_done():
            return
        results = [running.results[r] for r in sorted(running.results)]
        values = [r.value for r in results if r.value is not None]
        if len(values) != len(results):  # a seed that is done trained at least one epoch
            raise RuntimeError(f"trial {running.number}: a finished seed run has no value")
        mean, std = scheduler.mean_std(values)
        best = results[scheduler.best_index(values, self.plan.direction)]
        self._keep_model(running, best)
        self.store.set_trial_attrs(running.number, {Attr.REPEAT_VALUES: values,
                                                    Attr.VALUE_STD: std})
        measures = scheduler.mean_measures(results)  # several objectives: each a mean
        self.store.set_trial_attrs(running.number, {Attr.REPEAT_MEASURES: {  # for the verdict
            name: [r.measures[name] for r in results] for name in measures}})
        info = {**best.config, Attr.VALUE_STD: std, "repeats": len(values)}
        missing = [m for m in self.plan.objectives if m not in measures]
        if missing:  # a seed without it: no mean to tell
            self.finish(running, TrialOutcome.FAILED, info=info,
                        reason=f"no {', '.join(missing)} was measured on every seed")
            return
        self.finish(running, TrialOutcome.COMPLETE, mean, info,
                    infeasible=self.judge(running.number, measures),
                    measures=measures if self.plan.objectives else None)

    def seed_failed(self, running: Running, repeat: int, reason: str) -> None:
        """A seed of a repeated trial failed: its own run fails, and the trial with it."""
        if running.repeated:
            running.closed.add(repeat)
            self.tracker.end_trial(running.runs[repeat].run_id, TrialOutcome.FAILED,
                                   reason=reason)
        self.finish(running, TrialOutcome.FAILED, reason=reason)

    def interrupt(self, running: Running, reason: str = TrialOutcome.INTERRUPTED) -> None:
        """Mark a trial in flight as interrupted (Optuna FAIL + MLflow KILLED) and queue it
        to continue from its checkpoint."""
        self.store.set_trial_attrs(running.number, {
            Attr.INTERRUPTED: True, Attr.FAIL_REASON: reason,
            Attr.STATE: TrialOutcome.INTERRUPTED.value})
        self.store.tell(running.number, TrialOutcome.INTERRUPTED)
        self.requeue(self.store.trial(running.number))
        self.tracker.kill_run(running.run_id, reason)
        for run in running.unfinished_seed_runs():
            self.tracker.kill_run(run.run_id, reason)

    def requeue(self, trial: scheduler.TrialView) -> None:
        """Queue an interrupted trial's parameters again (nothing for one that had none)."""
        queued = scheduler.requeue(trial)
        if queued is not None:
            self.store.enqueue(*queued)

    def _link(self, run_id: str) -> dict[str, str]:
        """The run's page on the tracking server as a trial attribute (a dashboard shows it
        beside ``mlflow_run_id``); nothing where no server is known."""
        url = self.tracker.run_link(run_id)
        return {Attr.MLFLOW_RUN_URL: url} if url else {}

    def _keep_model(self, running: Running, result: TrialResult) -> None:
        if result.model_path:
            self.store.set_trial_attrs(running.number, {Attr.MODEL_PATH: result.model_path})

    def line(self, number: int, outcome: str, value: float | None, params: dict[str, Any],
             tail: str, measures: dict[str, float] | None = None) -> str:
        """``trial   3 complete val_loss=0.8123 dropout_rate=0.3 (10 epochs, 41.2 s)`` (with
        several objectives, each: ``val_accuracy=0.71 params=12,394``)."""
        from cifar_search.tracking.objectives import values_text

        score = f"{self.metric}={value:.4f}" if value is not None else ""
        if measures:
            score = values_text(measures)
        swept = params_text(params, self.plan.swept, sep=" ")
        return " ".join(p for p in (f"trial {number:>3} {outcome:<8}", score, swept, tail) if p)


def import_trial(recorder: Recorder, source: SourceStudy, trial: SourceTrial) -> int:
    """Add a trial of an earlier study (a warm start), untrained: its run first (RUNNING until
    the trial exists, so that a crash in between leaves a run that the next start closes),
    then the complete trial with its link to the source, its values (several objectives: its
    measures of them) and this sweep's constraint values on its measures, then the run
    numbered and ended; return its number."""
    plan, store, tracker = recorder.plan, recorder.store, recorder.tracker
    link = warm_start.imported_attrs(source, trial)
    measures = dict(trial.measures)
    value = measures.get(recorder.metric, trial.value) if plan.objectives else trial.value
    run_id = tracker.start_import(trial.params, value, link)
    reason = "; ".join(violations(plan.constraints, measures))
    number = store.add_imported(
        warm_start.swept_values(trial, store.sweep.space),
        warm_start.values_of(trial, plan.objectives),
        {Attr.PARAMS: dict(trial.params), Attr.IMPORTED_FROM: link,
         Attr.MLFLOW_RUN_ID: run_id, Attr.EPOCHS_TRAINED: 0, Attr.MEASURES: measures,
         Attr.STATE: TrialOutcome.IMPORTED.value, **recorder._link(run_id),
         **({Attr.INFEASIBLE: reason} if reason else {})},
        excess_by_measure(plan.constraints, measures))
    tracker.end_import(run_id, number)
    return number

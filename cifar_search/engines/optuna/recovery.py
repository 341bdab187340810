"""Trials whose coordinator is gone are interrupted and queued again.

With the embedded store, a sweep's lock keeps a second coordinator off a study, so any trial
found RUNNING when one starts has no live owner (:func:`recover`): it is marked failed with
reason ``interrupted`` (first), its MLflow runs are killed, and its parameters are queued again
to continue from its checkpoint (last: a crash in between can lose a retry, never duplicate
one). A trial that died before it recorded its MLflow run gets the run it had created, found by
its tags, or a new one.

On a shared storage other machines' trials are alive as long as they beat: only the trials
whose heartbeat went stale are taken over (:func:`take_over`), each by exactly one machine,
with the same bookkeeping; Optuna has already failed them, so the reason goes on their MLflow
runs and their retries.
"""

from __future__ import annotations

from typing import Any

from cifar_search.engines.optuna import scheduler
from cifar_search.engines.optuna.recorder import Recorder
from cifar_search.search.states import Attr, TrialOutcome


def run_ids(trial: scheduler.TrialView) -> list[str]:
    """The trial's MLflow run and its seed runs."""
    run_id = trial.attrs.get(Attr.MLFLOW_RUN_ID)
    return ([run_id] if run_id else []) + list(trial.attrs.get(Attr.REPEAT_RUN_IDS) or [])


def recover(recorder: Recorder) -> int:
    """Interrupt every RUNNING trial of the study; return how many there were."""
    store, tracker, plan = recorder.store, recorder.tracker, recorder.plan
    orphans = [t for t in store.view() if t.outcome == TrialOutcome.RUNNING]
    for trial in orphans:
        if not trial.attrs.get(Attr.MLFLOW_RUN_ID):  # died before recording its run
            seed = scheduler.seed_of(plan, trial.number, trial.attrs)
            run_id = tracker.recorded_run(trial.number, trial.params, seed)
            store.set_trial_attrs(trial.number, {Attr.MLFLOW_RUN_ID: run_id})
        store.set_trial_attrs(trial.number, {Attr.INTERRUPTED: True,
                                             Attr.FAIL_REASON: "interrupted"})
        store.tell(trial.number, TrialOutcome.INTERRUPTED)
        trial = store.trial(trial.number)
        for run_id in run_ids(trial):
            tracker.kill_run(run_id, "interrupted")
        recorder.requeue(trial)
    return len(orphans)


def take_over(recorder: Recorder, numbers: list[int], grace_s: int) -> list[int]:
    """Kill the MLflow runs of trials that a heartbeat check failed (their machine stopped
    beating for ``grace_s`` seconds) and queue each again to continue from its checkpoint;
    return the numbers of the retries' predecessors."""
    store, tracker, plan = recorder.store, recorder.tracker, recorder.plan
    for number in numbers:
        trial = store.trial(number)
        machine = trial.attrs.get(Attr.MACHINE)
        reason = (f"interrupted: {machine} sent no heartbeat for {grace_s} s" if machine
                  else trial.attrs.get(Attr.FAIL_REASON)  # it never beat: it says so
                  or f"interrupted: its machine sent no heartbeat for {grace_s} s")
        ids = run_ids(trial)
        if not ids:  # its machine died before recording the run: find or make it
            seed = scheduler.seed_of(plan, number, trial.attrs)
            ids = [tracker.recorded_run(number, trial.params, seed)]
        for run_id in ids:
            tracker.kill_run(run_id, reason)
        recorder.requeue(trial)
        recorder.say(f"trial {number:>3} taken over: {reason}; it continues from its "
                     "checkpoint")
    return numbers


def reconcile_runs(study: Any, tracker: Any, live: bool = False) -> list[str]:
    """Close MLflow runs that a crash left RUNNING after their trial ended (``live``: other
    machines run the study too, so their runs in flight are left alone)."""
    from cifar_search.tracking import integrity

    return integrity.repair(tracker, integrity.reconcile(study, tracker, live))

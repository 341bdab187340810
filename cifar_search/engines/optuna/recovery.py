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
runs and their retries. ``check`` sorts the RUNNING trials into alive and lost
(:func:`in_flight`), and ``check --repair`` takes the lost ones over (:func:`take_over_lost`).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from cifar_search.engines.base import InFlight
from cifar_search.engines.optuna import machines, scheduler
from cifar_search.engines.optuna.recorder import Recorder
from cifar_search.search.states import Attr, StudyAttr, TrialOutcome

if TYPE_CHECKING:
    from cifar_search.config.sweep import Sweep
    from cifar_search.tracking.writer import Tracker
    from cifar_search.workspace import Workspace


def run_ids(trial: scheduler.TrialView) -> list[str]:
    """The trial's MLflow run and its seed runs."""
    run_id = trial.attrs.get(Attr.MLFLOW_RUN_ID)
    return ([run_id] if run_id else []) + list(trial.attrs.get(Attr.REPEAT_RUN_IDS) or [])


def recover(recorder: Recorder, numbers: Collection[int] | None = None) -> int:
    """Interrupt every RUNNING trial of the study (or those among ``numbers``); return how
    many there were."""
    store, tracker, plan = recorder.store, recorder.tracker, recorder.plan
    orphans = [t for t in store.view() if t.outcome == TrialOutcome.RUNNING
               and (numbers is None or t.number in numbers)]
    for trial in orphans:
        if not trial.attrs.get(Attr.MLFLOW_RUN_ID):  # died before recording its run
            seed = scheduler.seed_of(plan, trial.number, trial.attrs, store.view())
            run_id = tracker.recorded_run(trial.number, trial.params, seed)
            store.set_trial_attrs(trial.number, {Attr.MLFLOW_RUN_ID: run_id})
        store.set_trial_attrs(trial.number, {Attr.INTERRUPTED: True,
                                             Attr.FAIL_REASON: TrialOutcome.INTERRUPTED})
        store.tell(trial.number, TrialOutcome.INTERRUPTED)
        trial = store.trial(trial.number)
        for run_id in run_ids(trial):
            tracker.kill_run(run_id, TrialOutcome.INTERRUPTED)
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
            seed = scheduler.seed_of(plan, number, trial.attrs, store.view())
            ids = [tracker.recorded_run(number, trial.params, seed)]
        for run_id in ids:
            tracker.kill_run(run_id, reason)
        recorder.requeue(trial)
        recorder.say(f"trial {number:>3} taken over: {reason}; it continues from its "
                     "checkpoint")
    return numbers


def reconcile_runs(study: Any, tracker: Tracker, live: bool = False) -> list[str]:
    """Close MLflow runs that a crash left RUNNING after their trial ended (``live``: other
    machines run the study too, so their runs in flight are left alone)."""
    from cifar_search.tracking import integrity

    return integrity.repair(tracker, integrity.reconcile(study, tracker, live))


def in_flight(sweep: Sweep, workspace: Workspace, repair: bool,
              say: Callable[[str], None]) -> InFlight:
    """The study's RUNNING trials, alive or lost; with ``repair`` the lost ones are taken over
    first. On a shared storage, as their heartbeats tell (see :func:`.machines.in_flight`); on
    the embedded store, the trials of a machine on another host are lost (it is for one
    machine: that machine is gone, or should not be there)."""
    from cifar_search.engines.optuna.study import find_study, stale_trials, trial_views

    if not workspace.shared:
        return _other_hosts(sweep, workspace, repair, say)
    if repair:
        take_over_lost(sweep, workspace, say)
    study = find_study(sweep, workspace)
    trials = [] if study is None else trial_views(study)
    return machines.in_flight(trials, stale_trials(sweep.name, workspace),
                              machines.liveness().grace_s)


def take_over_lost(sweep: Sweep, workspace: Workspace,
                   say: Callable[[str], None]) -> list[int]:
    """Take over the trials of machines that are gone, as a machine that runs the sweep would:
    those whose heartbeat is stale at once, those with no machine once they stayed so for the
    grace period (waited for here); return their numbers."""
    recorder = _recorder(sweep, workspace, say, machines.Machine.current(salted=True))
    store = recorder.store
    grace = store.beats.grace_s
    numbers = take_over(recorder, store.fail_stale(), grace)
    if store.unmarked:  # no machine yet: gone only if still so after the grace period
        waiting = ", ".join(str(number) for number in sorted(store.unmarked))
        say(f"trial(s) {waiting} RUNNING with no machine: waiting {grace + 1} s for a "
            "heartbeat before taking them over")
        time.sleep(grace + 1)
        numbers += take_over(recorder, store.fail_stale(), grace)
    return numbers


def _other_hosts(sweep: Sweep, workspace: Workspace, repair: bool,
                 say: Callable[[str], None]) -> InFlight:
    """The embedded store's RUNNING trials of machines on other hosts, as lost; with
    ``repair`` they are interrupted and queued again, as after a crash."""
    from cifar_search.engines.optuna.study import find_study, trial_views

    study = find_study(sweep, workspace)
    others = machines.other_hosts([] if study is None else trial_views(study),
                                  socket.gethostname())
    if not (repair and others):
        return InFlight({}, {number: f"it runs on {machine}, another host (the "
                                      "embedded SQLite store is for one machine)"
                                      for number, machine in others.items()})
    recover(_recorder(sweep, workspace, say, machines.Machine.current(salted=False)), others)
    for number, machine in sorted(others.items()):
        say(f"trial {number:>3} taken over: interrupted: left RUNNING by {machine}, another "
            "host; it continues from its checkpoint")
    return InFlight({}, {})


def _recorder(sweep: Sweep, workspace: Workspace, say: Callable[[str], None],
              machine: machines.Machine) -> Recorder:
    """A recorder on the study and its parent run as they are (nothing reopened)."""
    from cifar_search.engines.optuna.study import StudyStore
    from cifar_search.tracking.writer import Tracker

    store = StudyStore(sweep, workspace, machine=machine)
    tracker = Tracker(workspace, sweep)
    tracker.parent_id = store.attr(StudyAttr.MLFLOW_PARENT_RUN_ID)
    return Recorder(store, tracker, scheduler.Plan.of(sweep), sweep.objective.metric,
                    lambda number, repeat: workspace.trial_dir(sweep.name, number), say)

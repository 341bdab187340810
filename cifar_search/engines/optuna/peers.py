"""The other coordinators of a study, as one coordinator deals with them.

With the embedded store there are none (:class:`OneMachine`): the workspace's lock keeps them
off, every trial is this coordinator's, and it finalises the study; a study that shows a trial
RUNNING on another host is refused (:func:`peers_of`): SQLite is for one machine. On a shared
storage (:class:`SeveralMachines`) it beats for its trials in flight, takes over the trials of
machines that stopped beating, claims each new trial against the study's target, stays until
the study is over everywhere, and finalises only when elected. The decisions are
:mod:`.machines`' pure functions; this module carries them out through the study adapter
and the recorder.
"""

from __future__ import annotations

import time
from typing import Any

from cifar_search.engines.optuna import machines, recovery, scheduler
from cifar_search.engines.optuna.machines import Liveness, Machine
from cifar_search.engines.optuna.scheduler import Plan
from cifar_search.engines.optuna.study import StudyStore
from cifar_search.errors import SweepBusyError
from cifar_search.search.states import Attr, TrialOutcome


def grid_to_queue(plan: Plan, shared: bool) -> list[dict[str, Any]] | None:
    """The grid points queued when a study on a shared storage is created (the swept part of
    each); None with one machine, which queues them one at a time as trials start."""
    if not shared or plan.grid is None:
        return None
    return [{k: v for k, v in point.items() if k in plan.swept} for point in plan.grid]


class OneMachine:
    """The embedded store: this coordinator is the study's only one.

    Args:
        store: the study.
        plan: the sweep's settings.
        machine: this process.
    """

    shared = False

    def __init__(self, store: StudyStore, plan: Plan, machine: Machine) -> None:
        self.store = store
        self.plan = plan
        self.machine = machine
        self.recorder: Any = None

    def trial_attrs(self) -> dict[str, Any]:
        """What a new trial records about the machine that runs it."""
        return {Attr.MACHINE: self.machine.name}

    def may_start(self, trials: list[scheduler.TrialView]) -> bool:
        """Whether another trial may be asked for (one machine queues grid points lazily)."""
        return scheduler.more_to_start(self.plan, trials)

    def claim(self, number: int) -> bool:
        """Whether trial ``number``, just asked for, trains (always, with one machine)."""
        return True

    def keep_alive(self, running: list[int]) -> list[int]:
        """Heartbeats and take-overs (none with one machine); the trials lost here."""
        return []

    def may_leave(self) -> bool:
        """Whether this coordinator, idle with nothing to start, may leave."""
        return True

    def elect(self, finished: int, stopping: bool) -> bool:
        """Whether this coordinator finalises the study (the only one does, even stopped:
        it then closes the parent run KILLED)."""
        return True

    def lines(self, workspace: Any) -> list[str]:
        """What the user is told about the machines on start."""
        return []


class SeveralMachines(OneMachine):
    """A shared storage: other coordinators may run the study at the same time.

    Args:
        store, plan, machine: as for :class:`OneMachine`.
        beats: the heartbeat interval and grace period.
    """

    shared = True

    def __init__(self, store: StudyStore, plan: Plan, machine: Machine,
                 beats: Liveness) -> None:
        super().__init__(store, plan, machine)
        self.beats = beats
        self.last_beat: float | None = None

    def trial_attrs(self) -> dict[str, Any]:
        return {Attr.MACHINE: self.machine.name, Attr.SAMPLER_SALT: self.machine.salt}

    def may_start(self, trials: list[scheduler.TrialView]) -> bool:
        """Grid points were queued when the study was created: only a queued one starts."""
        if self.plan.grid is not None and not scheduler.queued(trials):
            return False
        return scheduler.more_to_start(self.plan, trials)

    def claim(self, number: int) -> bool:
        """Whether trial ``number`` trains; one asked for beyond the target (other machines
        asked at the same moment, with lower numbers) is released, its queued point or retry
        queued again (a fresh one also when a retry waits for the slot: it goes behind it)."""
        trials = self.store.view()
        mine = next(t for t in trials if t.number == number)
        if machines.may_train(self.plan, trials, number):
            return True
        self.store.release(number, requeue=mine.from_queue, attrs=self.trial_attrs())
        return False

    def keep_alive(self, running: list[int]) -> list[int]:
        """Once per heartbeat interval: beat for the trials in flight here and take over the
        trials of machines that stopped beating; return the trials here that another machine
        ended meanwhile (this one stalled past the grace period)."""
        now = time.monotonic()
        if not machines.heartbeat_due(self.last_beat, now, self.beats.heartbeat_s):
            return []
        self.last_beat = now
        lost = self.store.beat(running)
        recovery.take_over(self.recorder, self.store.fail_stale(), self.beats.grace_s)
        return lost

    def may_leave(self) -> bool:
        """Only once the study is over everywhere: until then this machine takes over the
        trials of machines that stop beating, and runs what is queued."""
        return machines.study_over(self.plan, self.store.view())

    def elect(self, finished: int, stopping: bool) -> bool:
        """Claim finalisation of the study at ``finished`` finished trials: the database lets
        exactly one machine have it (a stopped machine leaves it to the others)."""
        if stopping:
            return False
        mine = machines.claim(self.machine, finished, time.time())
        if not self.store.claim_finalisation(mine, machines.CLAIM_LEASE_S):
            return False
        self._release_leftovers()
        return True

    def _release_leftovers(self) -> None:
        """Queued trials left beyond the target are released, so that nothing is left
        waiting: retries (a fresh trial took the slot of a trial taken over in the moment
        before its retry was queued) and, but for a grid, anything queued. A grid's points stay
        queued for a later run with more trials, a released retry's point as a fresh one."""
        trials = self.store.view()
        if not scheduler.at_target(self.plan,
                                   [t for t in trials if t.outcome != TrialOutcome.WAITING]):
            return
        grid = self.plan.grid is not None
        for number in sorted(t.number for t in trials if t.outcome == TrialOutcome.WAITING
                             and (not grid or machines.is_retry(t))):
            if self.store.ask_for([number]) is None:  # another machine took it meanwhile
                continue
            self.store.release(number, requeue=False, attrs=self.trial_attrs())
            if grid:
                self.store.enqueue(self.store.trial(number).drawn)

    def lines(self, workspace: Any) -> list[str]:
        where = (f"checkpoints in {workspace.checkpoints}" if workspace.checkpoints
                 else "checkpoints on this machine only (--checkpoints DIR shares them)")
        return [f"machine {self.machine.name}: heartbeat every {self.beats.heartbeat_s} s, "
                f"trials without one for {self.beats.grace_s} s are taken over; {where}"]


def peers_of(store: StudyStore, plan: Plan, machine: Machine) -> OneMachine:
    """The coordinator's dealings with other machines: none on the embedded store.

    Raises:
        SweepBusyError: the embedded store's study has trials RUNNING on another host.
    """
    if not store.shared:
        others = machines.other_hosts(store.view(), machine.host)
        if others:  # before anything is recovered: those trials may be alive
            raise SweepBusyError(machines.embedded_refusal(store.url, others))
        return OneMachine(store, plan, machine)
    return SeveralMachines(store, plan, machine, machines.liveness())

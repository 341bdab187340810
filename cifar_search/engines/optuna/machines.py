"""Several coordinators on one study: the decisions they take through the shared storage.

With the embedded SQLite store one coordinator runs a study (the workspace's lock keeps any
other off). With a database server (``--storage postgresql://…``) one coordinator per machine
runs it, and they cooperate through the storage alone:

* **liveness by heartbeat**: each coordinator records a heartbeat for every trial it has in
  flight (:func:`heartbeat_due`); a RUNNING trial whose heartbeat is older than the grace period
  belongs to a machine that is gone, and is taken over (failed as interrupted and queued again);
  a trial with a fresh heartbeat is never touched. A trial's first heartbeat is recorded as it
  is asked for, then the trial is marked with its machine; a RUNNING trial left without the
  mark (its machine died in between) is taken over once it has stayed so for the grace period
  (:func:`never_beaten`);
* **one budget**: a trial just asked for may train only if the finished trials and the trials
  running with a lower number leave room for it (:func:`may_train`): trial numbers are given
  out atomically by the storage, so the lowest numbers win and the study ends with exactly its
  target; a grid trial must also hold a queued grid point. Retries of trials taken over are
  asked for first (:func:`pop_order`) and hold their slot against fresh trials, so they are
  run, not left waiting;
* **different draws**: each process seeds its sampler from the sweep seed and its own salt
  (:func:`sampler_seed`), recorded on its trials;
* **one finaliser**: when the study is over (:func:`study_over`), each machine claims
  finalisation (:func:`claim`); the database lets exactly one have it (:mod:`.claims`).

Everything here is pure: the coordinator reads the storage and carries the decisions out.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any
from collections.abc import Iterable, Mapping

from cifar_search.engines.optuna.scheduler import Plan, TrialView, finished
from cifar_search.errors import ConfigError
from cifar_search.search.states import Attr, TrialOutcome
from cifar_search.engines.base import InFlight

#: Seconds between two heartbeats of a trial in flight (default; see :func:`liveness`).
HEARTBEAT_S = 5
#: Seconds without a heartbeat after which a RUNNING trial is taken over (default).
GRACE_S = 30
#: Environment variables that override them (whole seconds).
HEARTBEAT_ENV, GRACE_ENV = "CIFAR_SEARCH_HEARTBEAT_S", "CIFAR_SEARCH_GRACE_S"
#: Seconds after which a finalisation claim whose machine never finished is void.
CLAIM_LEASE_S = 600.0
#: Largest sampler salt (salts are drawn at random per process).
MAX_SALT = 2**31 - 1


@dataclass(frozen=True)
class Liveness:
    """How often a coordinator beats for its trials and how long others wait for a beat."""

    heartbeat_s: int = HEARTBEAT_S
    grace_s: int = GRACE_S


def liveness(env: Mapping[str, str] | None = None) -> Liveness:
    """The heartbeat settings, from the environment (:data:`HEARTBEAT_ENV`,
    :data:`GRACE_ENV`) or the defaults.

    Raises:
        ConfigError: a value that is not a whole number of seconds >= 1, or a grace period
            not longer than the heartbeat interval.

    Example:
        >>> liveness({"CIFAR_SEARCH_HEARTBEAT_S": "1", "CIFAR_SEARCH_GRACE_S": "4"})
        Liveness(heartbeat_s=1, grace_s=4)
    """
    env = os.environ if env is None else env
    values = {}
    for key, default in ((HEARTBEAT_ENV, HEARTBEAT_S), (GRACE_ENV, GRACE_S)):
        text = env.get(key, "").strip() or str(default)
        if not text.isdigit() or int(text) < 1:
            raise ConfigError(key, f"{text!r} is not allowed; give a whole number of "
                              "seconds >= 1")
        values[key] = int(text)
    if values[GRACE_ENV] <= values[HEARTBEAT_ENV]:
        raise ConfigError(GRACE_ENV, f"{values[GRACE_ENV]} is not longer than "
                          f"{HEARTBEAT_ENV}={values[HEARTBEAT_ENV]}; give a grace period "
                          "of several heartbeats")
    return Liveness(values[HEARTBEAT_ENV], values[GRACE_ENV])


@dataclass(frozen=True)
class Machine:
    """This coordinator process, as recorded on the trials it runs.

    Attributes:
        host: the host name.
        pid: the coordinator's process id.
        salt: mixed into the sampler's seed, so that machines draw different parameters.
    """

    host: str
    pid: int
    salt: int = 0

    @classmethod
    def current(cls, salted: bool) -> Machine:
        """This process; with a random salt when ``salted`` (several machines), else 0 (one
        machine draws exactly what the sweep seed alone gives)."""
        salt = 1 + secrets.randbelow(MAX_SALT) if salted else 0
        return cls(socket.gethostname(), os.getpid(), salt)

    @property
    def name(self) -> str:
        """``host:pid``."""
        return f"{self.host}:{self.pid}"


def sampler_seed(sweep_seed: int, salt: int) -> int:
    """The seed of one process's sampler: the sweep's own seed when the salt is 0, else a
    mix of both (reproducible from the two, which are recorded).

    Example:
        >>> sampler_seed(42, 0)
        42
        >>> sampler_seed(42, 7) == sampler_seed(42, 7) != sampler_seed(42, 8)
        True
    """
    if salt == 0:
        return sweep_seed
    return (sweep_seed * 1_000_003 + salt) % (2**32)


def heartbeat_due(last: float | None, now: float, interval: float) -> bool:
    """Whether the trials in flight need a heartbeat now (``last``: when the previous one was
    recorded, None for never)."""
    return last is None or now - last >= interval


def never_beaten(trials: Iterable[TrialView], seen: Mapping[int, float], now: float,
                 grace_s: float) -> tuple[list[int], dict[int, float]]:
    """The RUNNING trials whose machine died between asking for them and marking them
    (:attr:`Attr.MACHINE`, written just after their first heartbeat), which Optuna's heartbeat
    check never fails: those seen unmarked by this process for longer than ``grace_s``.

    The wait is measured on this process's own clock from the first time it saw each trial
    (``seen``: trial number -> that time), not from the trial's start, which the asking
    machine's clock recorded. Returns (the trials to take over, the first-seen times to keep
    for the next check).

    Example:
        >>> from cifar_search.search.states import TrialOutcome as O
        >>> study = [TrialView(0, O.RUNNING), TrialView(1, O.RUNNING, attrs={"machine": "a:1"})]
        >>> never_beaten(study, {}, now=100.0, grace_s=30)
        ([], {0: 100.0})
        >>> never_beaten(study, {0: 100.0}, now=131.0, grace_s=30)
        ([0], {})
    """
    unmarked = [t.number for t in trials
                if t.outcome == TrialOutcome.RUNNING and Attr.MACHINE not in t.attrs]
    first = {number: seen.get(number, now) for number in unmarked}
    due = [number for number in unmarked if now - first[number] > grace_s]
    return due, {number: at for number, at in first.items() if number not in due}


def in_flight(trials: Iterable[TrialView], stale: Iterable[int], grace_s: int) -> InFlight:
    """Sort the RUNNING trials into those a live machine runs and those whose machine is gone:
    its heartbeat is older than the grace period (``stale``, as the storage reads it), or it
    has no machine (its machine died before its first heartbeat, or is just asking for it).

    Example:
        >>> from cifar_search.search.states import TrialOutcome as O
        >>> study = [TrialView(0, O.RUNNING, attrs={"machine": "a:1"}),
        ...          TrialView(1, O.RUNNING, attrs={"machine": "b:2"}), TrialView(2, O.COMPLETE)]
        >>> in_flight(study, stale=[1], grace_s=30)
        InFlight(alive={0: 'a:1'}, lost={1: 'its machine b:2 sent no heartbeat for 30 s'})
    """
    stale = set(stale)
    alive, lost = {}, {}
    for trial in trials:
        if trial.outcome != TrialOutcome.RUNNING:
            continue
        machine = trial.attrs.get(Attr.MACHINE)
        if machine is None:
            lost[trial.number] = ("it has no machine: its machine died before its first "
                                  "heartbeat (or is asking for it now)")
        elif trial.number in stale:
            lost[trial.number] = f"its machine {machine} sent no heartbeat for {grace_s} s"
        else:
            alive[trial.number] = machine
    return InFlight(alive, lost)


def other_hosts(trials: Iterable[TrialView], host: str) -> dict[int, str]:
    """The RUNNING trials recorded by a coordinator on another host than ``host`` (trial
    number -> its machine, ``host:pid``): on the embedded SQLite store, which is for one
    machine, another machine runs the study (or ran it, and its workspace was copied here).

    Example:
        >>> from cifar_search.search.states import TrialOutcome as O
        >>> other_hosts([TrialView(0, O.RUNNING, attrs={"machine": "b:7"}),
        ...              TrialView(1, O.RUNNING, attrs={"machine": "a:3"})], host="a")
        {0: 'b:7'}
    """
    found = {}
    for trial in trials:
        machine = str(trial.attrs.get(Attr.MACHINE) or "")
        if trial.outcome == TrialOutcome.RUNNING and machine and \
                machine.rpartition(":")[0] != host:
            found[trial.number] = machine
    return found


def embedded_refusal(storage_url: str, others: Mapping[int, str]) -> str:
    """What a coordinator says when it refuses an embedded SQLite study that a machine on
    another host runs (see :func:`other_hosts`).

    Example:
        >>> embedded_refusal("sqlite:///ws/optuna.db", {3: "b:7"})[:72]
        'sqlite:///ws/optuna.db: trial 3 is RUNNING on host b (machine b:7); the '
    """
    number, machine = min(others.items())
    host = machine.rpartition(":")[0]
    return (f"{storage_url}: trial {number} is RUNNING on host {host} (machine {machine}); the "
            "embedded SQLite store is for one machine: to run a study on several, give every "
            "machine --storage postgresql://… (README: \"Several machines\"); if that machine "
            "is gone, check --repair takes its trials over")


# -- the budget ---------------------------------------------------------------------------


def is_retry(trial: TrialView) -> bool:
    """Whether ``trial`` continues a trial that was taken over or interrupted."""
    return Attr.RETRY_OF in trial.attrs


def pop_order(trials: Iterable[TrialView]) -> list[int]:
    """The queued trials a machine asks for first on a shared storage: the retries, lowest
    number first. Optuna itself pops the lowest-numbered queued trial, and a shared grid's
    points are all queued when the study is created, so a retry (queued later) would wait
    behind every point left and be stranded when fresh points reach the target.

    Example:
        >>> from cifar_search.search.states import TrialOutcome as O
        >>> pop_order([TrialView(3, O.WAITING), TrialView(6, O.WAITING, attrs={"retry_of": 0}),
        ...            TrialView(5, O.WAITING, attrs={"retry_of": 1})])
        [5, 6]
    """
    return sorted(t.number for t in trials if t.outcome == TrialOutcome.WAITING and is_retry(t))


def goes_before(other: TrialView, mine: TrialView) -> bool:
    """Whether ``other`` has the prior claim to a slot under the target: a lower number (the
    storage numbers trials one at a time), or a retry against a fresh trial."""
    if other.number == mine.number:
        return False
    return other.number < mine.number or (is_retry(other) and not is_retry(mine))


def may_train(plan: Plan, trials: Iterable[TrialView], number: int) -> bool:
    """Whether trial ``number``, just asked for, may train: the finished trials, the running
    trials that go before it (:func:`goes_before`) and, for a fresh trial, the queued retries
    leave room for it under the target; a grid trial must also hold a queued grid point.

    Trials asked for at the same moment on several machines are settled by their numbers,
    which the storage gives out one at a time: the lower ones train. Retries are asked for
    first (:func:`pop_order`) and hold their slot: a fresh trial never takes the last slots
    from a queued or running retry (it is released and queued again, behind it). A retry queued
    after a fresh trial took its slot has a higher number and counts that trial: the rule
    never lets more trials train than the target.

    Example:
        >>> from cifar_search.search.states import TrialOutcome as O
        >>> trials = [TrialView(0, O.COMPLETE), TrialView(1, O.RUNNING), TrialView(2, O.RUNNING)]
        >>> may_train(Plan(target=2), trials, 1), may_train(Plan(target=2), trials, 2)
        (True, False)
        >>> retry = TrialView(3, O.WAITING, attrs={"retry_of": 1})
        >>> may_train(Plan(target=3), trials[:2] + [retry, TrialView(4, O.RUNNING)], 4)
        False
    """
    trials = list(trials)
    mine = next(t for t in trials if t.number == number)
    if plan.grid is not None and not mine.from_queue:
        return False
    ahead = sum(t.outcome == TrialOutcome.RUNNING and goes_before(t, mine) for t in trials)
    reserved = 0 if is_retry(mine) else len(pop_order(trials))
    return finished(trials) + ahead + reserved < plan.target


def study_over(plan: Plan, trials: list[TrialView]) -> bool:
    """Whether a machine with nothing in flight may leave: the target is reached (or a grid
    used up) and no trial runs anywhere. Until then it stays, to take over the trials of a
    machine that stops beating and to run what is queued."""
    if any(t.outcome == TrialOutcome.RUNNING for t in trials):
        return False
    queued = any(t.outcome == TrialOutcome.WAITING for t in trials)
    return finished(trials) >= plan.target or (plan.grid is not None and not queued)


# -- finalisation -------------------------------------------------------------------------


def claim(machine: Machine, finished_trials: int, now: float) -> dict[str, Any]:
    """A finalisation claim, as stored on the study."""
    return {"machine": machine.name, "salt": machine.salt, "finished": finished_trials,
            "at": now}

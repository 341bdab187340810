"""The Optuna engine's decisions, as pure functions of a view of the study.

Given the trials as they stand (:class:`TrialView`) and the sweep's settings (:class:`Plan`),
these functions decide what happens next: whether another trial may start, which grid point it
takes, which seed it trains from, whether it trains at all (``same_seed``: an earlier result is
taken, or a pruned trial goes on from its checkpoint), which checkpoint a retry continues from,
what is queued again after an interruption, when a repeated trial is complete and what it
scores, and (pruner 'asha') which trial is promoted to the next rung and how many epochs a
trial trains. Nothing here touches a process, a file or a store: the coordinator carries the
decisions out, and ``benchmarks/replay.py`` replays searches with the same rules.
"""

from __future__ import annotations

import enum
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cifar_search.config.constraints import Constraint
from cifar_search.execution.protocol import RunEnd, TrialResult
from cifar_search.search.fidelity import (
    ASHA,
    Ladder,
    Promotion,
    RungTrial,
    ladder_of,
    promotion,
    rung_of,
    rung_record,
)
from cifar_search.search.labels import outcome_counts
from cifar_search.search.seeds import repeat_seed, trial_seed
from cifar_search.search.states import Attr, TrialOutcome
from cifar_search.session.limits import Ended

#: Attributes a trial that takes an earlier trial's result copies from it.
COPIED_FROM_EARLIER = (Attr.MODEL_PATH, Attr.REPEAT_VALUES, Attr.VALUE_STD, Attr.MEASURES)


@dataclass(frozen=True)
class TrialView:
    """One trial as the scheduler sees it.

    Attributes:
        number: the trial number.
        outcome: its state.
        params: every parameter it has (all of them once it started; else those drawn or given).
        value: its objective (complete trials).
        attrs: its user attributes (keys in :class:`~cifar_search.search.states.Attr`).
        drawn: the parameters Optuna drew or was given: what a retry is queued with.
        from_queue: its parameters were queued (a grid point or a retry), not drawn.
        ended_at: when it ended (seconds since 1970; None while it has not).
    """

    number: int
    outcome: TrialOutcome
    params: dict[str, Any] = field(default_factory=dict)
    value: float | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    drawn: dict[str, Any] = field(default_factory=dict)
    from_queue: bool = False
    ended_at: float | None = None

    @property
    def predecessor(self) -> int | None:
        """The trial this one goes on from: the interrupted one it retries, or (``same_seed``)
        the pruned one with its parameters."""
        return self.attrs.get(Attr.RETRY_OF, self.attrs.get(Attr.CONTINUES))


@dataclass(frozen=True)
class Plan:
    """The settings of a sweep that the decisions depend on.

    Attributes:
        target: finished trials the study ends with.
        grid: every grid point (``sampler="grid"``), else None.
        swept: the parameters that vary (the part of a grid point given to Optuna).
        sweep_seed: the sweep's seed.
        same_seed: every trial trains from one seed.
        repeats: seeds per candidate.
        judge_first: a pruner judges the first seed of a repeated trial.
        direction: ``minimize`` or ``maximize`` (several objectives: the primary metric's).
        constraints: the sweep's constraints (a trial that breaks one is infeasible).
        objectives: several objectives: their measures, in order (empty for one).
        ladder: pruner 'asha': the rungs of epochs a trial trains at and is promoted through
            (:mod:`cifar_search.search.fidelity`); None for any other pruner.
    """

    target: int
    grid: tuple[dict[str, Any], ...] | None = None
    swept: tuple[str, ...] = ()
    sweep_seed: int = 0
    same_seed: bool = False
    repeats: int = 1
    judge_first: bool = False
    direction: str = "minimize"
    constraints: tuple[Constraint, ...] = ()
    objectives: tuple[str, ...] = ()
    ladder: Ladder | None = None

    @classmethod
    def of(cls, sweep: Any) -> Plan:
        """The plan of a validated sweep."""
        grid = tuple(sweep.space.grid()) if sweep.sampler.kind == "grid" else None
        target = len(grid) if grid is not None else sweep.trials
        if sweep.trials is not None:
            target = min(target, sweep.trials)
        return cls(target=target, grid=grid, swept=tuple(sweep.space.swept()),
                   sweep_seed=sweep.seed, same_seed=sweep.same_seed, repeats=sweep.repeats,
                   judge_first=sweep.pruner.kind != "none", direction=sweep.objective.direction,
                   constraints=sweep.parsed_constraints,
                   objectives=sweep.objective.metrics if sweep.objective.several else (),
                   ladder=(ladder_of(sweep.pruner.options, sweep.budget.epochs)
                           if sweep.pruner.kind == ASHA else None))


def param_key(params: Mapping[str, Any]) -> str:
    """Parameters as a comparable string."""
    return json.dumps(params, sort_keys=True)


# -- how many, and which ------------------------------------------------------------------


def finished(trials: Iterable[TrialView]) -> int:
    """Trials that count toward the target: complete or pruned (not failed)."""
    return sum(t.outcome.counts for t in trials)


def ended(trials: Iterable[TrialView]) -> list[Ended]:
    """The trials that ended (complete, pruned or failed) in the order they ended, for the
    budget's limits (:mod:`cifar_search.session.limits`)."""
    done = sorted((t for t in trials if t.outcome.ended),
                  key=lambda t: (math.inf if t.ended_at is None else t.ended_at, t.number))
    return [Ended(t.number, t.outcome, t.value, t.attrs.get(Attr.FAIL_REASON)) for t in done]


def in_flight(trials: Iterable[TrialView]) -> int:
    """Trials being trained."""
    return sum(t.outcome == TrialOutcome.RUNNING for t in trials)


def queued(trials: Iterable[TrialView]) -> bool:
    """Whether parameters wait in the queue (a retry, or a grid point)."""
    return any(t.outcome == TrialOutcome.WAITING for t in trials)


def next_grid_point(plan: Plan, trials: list[TrialView]) -> dict[str, Any] | None:
    """The first grid point that no trial has (finished, running or queued); an interrupted
    trial does not hold its point: its retry does."""
    claimed = {param_key(t.attrs[Attr.PARAMS]) for t in trials
               if t.outcome != TrialOutcome.INTERRUPTED and Attr.PARAMS in t.attrs}
    return next((p for p in plan.grid or () if param_key(p) not in claimed), None)


def grid_point_to_queue(plan: Plan, trials: list[TrialView]) -> dict[str, Any] | None:
    """The swept part of the next grid point, to queue before asking; None when the sweep is
    not a grid, the queue already holds a trial, or the grid is used up."""
    if plan.grid is None or queued(trials):
        return None
    point = next_grid_point(plan, trials)
    return None if point is None else {k: v for k, v in point.items() if k in plan.swept}


def more_to_start(plan: Plan, trials: list[TrialView]) -> bool:
    """Whether another trial may start: the target is not reached by the finished and running
    trials, and (for a grid) a point is queued or left."""
    if finished(trials) + in_flight(trials) >= plan.target:
        return False
    return plan.grid is None or queued(trials) or next_grid_point(plan, trials) is not None


def is_done(plan: Plan, trials: list[TrialView]) -> bool:
    """Whether the study is at its end: the target reached, or a grid used up."""
    return finished(trials) >= plan.target or (plan.grid is not None
                                               and not more_to_start(plan, trials))


def at_target(plan: Plan, trials: list[TrialView]) -> bool:
    """Whether the study reached its end (:func:`is_done`) with no trial running or queued:
    nothing is left to resume."""
    pending = any(t.outcome in (TrialOutcome.RUNNING, TrialOutcome.WAITING) for t in trials)
    return not pending and is_done(plan, trials)


def nothing_to_do(plan: Plan, trials: list[TrialView], finalised: int | None) -> bool:
    """Whether running the study again would change nothing: it is :func:`at_target`, and its
    summary was written with exactly these finished trials."""
    return at_target(plan, trials) and finalised == finished(trials)


# -- a new trial: its seed, and whether it trains -----------------------------------------


def seed_of(plan: Plan, number: int, attrs: Mapping[str, Any],
            earlier: Iterable[TrialView] = ()) -> int:
    """A trial's seed: its own (a retry keeps its predecessor's), or with ``same_seed`` the
    sweep's first trial seed for every trial.

    A new trial's seed counts the trials before it that are not retries (``earlier``: the
    study's trials): a study resumed after a crash, whose retries took trial numbers, trains
    each later trial with the seed it had in the uninterrupted study, as its sampler draws
    the same points (:func:`cifar_search.engines.optuna.seeding.draw_index`).

    Example:
        >>> seed_of(Plan(sweep_seed=0, target=4), 2, {},
        ...         [TrialView(0, TrialOutcome.INTERRUPTED),
        ...          TrialView(1, TrialOutcome.COMPLETE, attrs={Attr.RETRY_OF: 0})])
        1
    """
    if attrs.get(Attr.SEED) is not None:
        return attrs[Attr.SEED]
    if plan.same_seed:
        return trial_seed(plan.sweep_seed, 0)
    retries = sum(1 for t in earlier if t.number < number and Attr.RETRY_OF in t.attrs)
    return trial_seed(plan.sweep_seed, number - retries)


@dataclass(frozen=True)
class Train:
    """Train the trial; ``continues`` names the pruned trial it goes on from (``same_seed``)."""

    continues: int | None = None


@dataclass(frozen=True)
class TakeResult:
    """Complete the trial with an earlier trial's result, without training.

    Attributes:
        origin: the trial that trained these parameters (never itself a duplicate).
        value: its objective.
        copied: its attributes the new trial takes (model path, repeat values and std).
    """

    origin: int
    value: float | None
    copied: dict[str, Any]


def earlier_trial(plan: Plan, params: Mapping[str, Any], trials: list[TrialView],
                  saved_epochs: Callable[[int], int | None]) -> TrialView | None:
    """With ``same_seed``, an earlier trial of these parameters that training them again would
    only repeat: a complete one, else the pruned one that got furthest and left a checkpoint
    (``saved_epochs(number)`` reads the epochs a trial's first seed saved, None for none)."""
    if not plan.same_seed:
        return None
    key = param_key(params)
    same = [t for t in trials if t.outcome in (TrialOutcome.COMPLETE, TrialOutcome.PRUNED)
            and param_key(t.attrs.get(Attr.PARAMS) or {}) == key]
    complete = [t for t in same if t.outcome == TrialOutcome.COMPLETE
                and set(plan.objectives) <= set(t.attrs.get(Attr.MEASURES) or {})]
    if complete:
        return complete[0]
    paused = [(epochs, t.number, t) for t in same if (epochs := saved_epochs(t.number)) is not None]
    return max(paused, key=lambda p: p[:2])[2] if paused else None


def start_of(plan: Plan, attrs: Mapping[str, Any], params: Mapping[str, Any],
             trials: list[TrialView], saved_epochs: Callable[[int], int | None]
             ) -> Train | TakeResult:
    """How a trial just asked for starts: a retry trains (from its checkpoint); with
    ``same_seed`` a configuration already complete takes that result, one already pruned goes
    on from its checkpoint; anything else trains afresh."""
    if Attr.RETRY_OF in attrs:
        return Train()
    earlier = earlier_trial(plan, params, trials, saved_epochs)
    if earlier is None:
        return Train()
    if earlier.outcome == TrialOutcome.PRUNED:
        return Train(continues=earlier.number)
    copied: dict[str, Any] = {k: earlier.attrs[k] for k in COPIED_FROM_EARLIER
                              if earlier.attrs.get(k) is not None}
    return TakeResult(earlier.attrs.get(Attr.DUPLICATE_OF, earlier.number), earlier.value, copied)


def next_promotion(plan: Plan, trials: Iterable[TrialView]) -> Promotion | None:
    """Pruner 'asha': the trial a free worker promotes to the next rung before it asks for a
    new one (see :func:`cifar_search.search.fidelity.promotion`); None otherwise. Only
    complete trials rank; what a promotion trains is the parameters its origin was drawn or
    given."""
    if plan.ladder is None:
        return None
    ladder = [RungTrial(t.number, rung_of(t.attrs),
                        t.value if t.outcome == TrialOutcome.COMPLETE else None, t.drawn,
                        t.attrs.get(Attr.PROMOTED_FROM)) for t in trials]
    return promotion(plan.ladder, ladder, plan.direction)


def rung_epochs(plan: Plan, attrs: Mapping[str, Any]) -> int | None:
    """The epochs a trial trains (pruner 'asha': its rung's, as recorded when it was queued, so
    that a retry keeps its schedule); None: the budget's."""
    if plan.ladder is None:
        return None
    recorded = attrs.get(Attr.RUNG_EPOCHS)
    return recorded if isinstance(recorded, int) else plan.ladder.epochs_at(rung_of(attrs))


def checkpoint_source(start: int | None, trials: Mapping[int, TrialView],
                      has_checkpoint: Callable[[int], bool]) -> int | None:
    """The trial whose checkpoint a run continues from: the newest along the chain of trials
    that went on from one another, beginning at ``start`` (None: train afresh)."""
    number = start
    while number is not None:
        if has_checkpoint(number):
            return number
        number = trials[number].predecessor if number in trials else None
    return None


# -- interruptions ------------------------------------------------------------------------


def requeue(trial: TrialView) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(parameters, user attributes) to queue an interrupted trial with, so that it continues
    from its checkpoint with its seed; None for a trial that died before its parameters were
    drawn or given (there is nothing to continue)."""
    if not trial.drawn:
        return None
    return dict(trial.drawn), {Attr.RETRY_OF.value: trial.number,
                               Attr.SEED.value: trial.attrs.get(Attr.SEED),
                               Attr.DEATHS.value: trial.attrs.get(Attr.DEATHS, 0),
                               **rung_record(trial.attrs)}  # pruner 'asha': on its rung


def fails_after_worker_death(attrs: Mapping[str, Any], out_of_memory: bool = False) -> bool:
    """A trial whose chain already killed a worker fails when it kills another (it is the
    trial's fault); the first death is taken as bad luck and the trial continues. A worker
    ended by the OOM killer fails its trial at once: the trial's own demand on memory would
    be killed again."""
    return out_of_memory or attrs.get(Attr.DEATHS, 0) >= 1


# -- running trials and their seeds -------------------------------------------------------


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
    """A trial being trained: its seed runs started so far and their results.

    Attributes:
        trial: the engine's handle of the trial (an ``optuna.Trial``).
        number, run_id, params, seed: the trial's number, MLflow run, parameters and seed.
        pending: repeats not started yet.
        repeated: whether each seed has its own run.
        judge_first: a pruner judges the first seed; the others wait for it to complete.
    """

    trial: Any
    number: int
    run_id: str
    params: dict[str, Any]
    seed: int
    pending: list[int]
    repeated: bool = False
    judge_first: bool = False
    started: float = field(default_factory=time.perf_counter)
    runs: dict[int, SeedRun] = field(default_factory=dict)
    results: dict[int, TrialResult] = field(default_factory=dict)
    closed: set[int] = field(default_factory=set)  # seed runs closed without a result

    @classmethod
    def start(cls, plan: Plan, trial: Any, number: int, run_id: str, params: dict[str, Any],
              seed: int) -> Running:
        """A trial about to train its first seed."""
        return cls(trial, number, run_id, params, seed, list(range(plan.repeats)),
                   plan.repeats > 1, plan.judge_first)

    @property
    def epochs(self) -> int:
        """Epochs trained, over all seeds."""
        return sum(run.epochs for run in self.runs.values())

    @property
    def may_start_seed(self) -> bool:
        """Whether a further seed may start: with a pruner, only once the first seed (the one
        the pruner judges) has completed."""
        return bool(self.pending) and (not self.judge_first or 0 in self.results)

    def next_seed(self) -> tuple[int, int]:
        """(repeat, seed) of the next seed run, taken off the pending list."""
        repeat = self.pending.pop(0)
        return repeat, repeat_seed(self.seed, repeat) if self.repeated else self.seed

    def reports(self, run: SeedRun) -> bool:
        """Whether ``run``'s epochs go to the pruner: the trial's own, or its first seed's."""
        return not self.repeated or (self.judge_first and run.repeat == 0)

    def all_seeds_done(self) -> bool:
        """Whether every seed has run and reported."""
        return not self.pending and len(self.results) >= len(self.runs)

    def unfinished_seed_runs(self) -> list[SeedRun]:
        """Seed runs of their own that started and have no result (to be closed)."""
        return [run for run in self.runs.values()
                if run.run_id != self.run_id and run.repeat not in self.results
                and run.repeat not in self.closed]


def waiting_seed(running: Iterable[Running]) -> Running | None:
    """A trial in flight with a seed that may start (seeds go before new trials)."""
    return next((r for r in running if r.may_start_seed), None)


class Next(enum.Enum):
    """An idle worker's next work when it is not a seed of a trial in flight."""

    NEW_TRIAL = "new trial"


def next_work(stopping: bool, running: Iterable[Running],
              more: Callable[[], bool]) -> Running | Next | None:
    """For an idle worker: a running trial whose next seed it trains (seeds go first),
    ``Next.NEW_TRIAL``, or None (stopping, or nothing left to start)."""
    if stopping:
        return None
    seed = waiting_seed(running)
    if seed is not None:
        return seed
    return Next.NEW_TRIAL if more() else None


# -- results ------------------------------------------------------------------------------


class Verdict(enum.StrEnum):
    """What a worker's result means for its trial."""

    INTERRUPT = "interrupt"      # the sweep is stopping: queue it again
    INFEASIBLE = "infeasible"    # its built model broke a constraint: not trained
    NO_VALUE = "no value"        # complete without an objective: the trial fails
    PRUNED = "pruned"
    SEED_DONE = "seed done"      # one seed of a repeated trial
    COMPLETE = "complete"


def verdict(result: TrialResult, repeated: bool) -> Verdict:
    """Classify a worker's result (see :class:`Verdict`)."""
    if result.state == RunEnd.STOPPED:
        return Verdict.INTERRUPT
    if result.state == RunEnd.INFEASIBLE:
        return Verdict.INFEASIBLE
    if result.state == RunEnd.COMPLETE and result.value is None:
        return Verdict.NO_VALUE
    if result.state == RunEnd.PRUNED:
        return Verdict.PRUNED
    return Verdict.SEED_DONE if repeated else Verdict.COMPLETE


def mean_measures(results: Iterable[TrialResult]) -> dict[str, float]:
    """A repeated trial's measures: each measure's mean over its seeds (as its value is the
    mean of theirs), for the measures every seed has.

    Example:
        >>> mean_measures([TrialResult(RunEnd.COMPLETE, 0.5, 2, measures={"params": 10.0,
        ...                                                               "val_loss": 0.5}),
        ...                TrialResult(RunEnd.COMPLETE, 0.7, 2, measures={"params": 10.0})])
        {'params': 10.0}
    """
    given = [r.measures for r in results]
    shared = set.intersection(*(set(m) for m in given)) if given else set()
    return {k: sum(m[k] for m in given) / len(given) for k in sorted(shared)}


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def best_index(values: list[float], direction: str) -> int:
    """The index of the best value (the first on ties)."""
    pick = min if direction == "minimize" else max
    return pick(range(len(values)), key=lambda i: values[i])


# -- what the user is told on start -------------------------------------------------------


def resume_line(name: str, plan: Plan, trials: list[TrialView]) -> str:
    """``resuming study 'dropout': 3 complete, 1 interrupted (re-queued), 1 left``."""
    parts = outcome_counts(trial.outcome for trial in trials if trial.outcome.ended)
    retries = [t for t in trials if t.outcome == TrialOutcome.WAITING and Attr.RETRY_OF in t.attrs]
    if retries:
        parts.append(f"{len(retries)} interrupted (re-queued)")
    imported = sum(t.outcome == TrialOutcome.IMPORTED for t in trials)
    if imported:  # a warm start's: they do not count toward the target
        parts.append(f"{imported} imported")
    parts.append(f"{max(0, plan.target - finished(trials))} left")
    return f"resuming study {name!r}: {', '.join(parts)}"

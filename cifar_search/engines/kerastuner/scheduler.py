"""The KerasTuner engine's decisions, as pure functions of its records and a trial's values.

KerasTuner's oracle chooses the values; these functions decide what cifar_search does with
them: how many trials the sweep ends with, how a trial the oracle hands out starts (trained
afresh, continued from an interrupted run's checkpoint, Hyperband's next round continued from
the earlier trial's checkpoint, or already settled by a run that ended just before a crash),
which checkpoint a run goes on from, what a run's end means, and what resume does with the
runs a crash left behind. Nothing here touches a process, a file or a store.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cifar_search.engines.kerastuner.options import KerasTunerOptions
from cifar_search.engines.kerastuner.record import TrialRecord
from cifar_search.execution.protocol import RunEnd, TrialResult
from cifar_search.search.labels import outcome_counts
from cifar_search.search.seeds import trial_seed
from cifar_search.search.states import TrialOutcome
from cifar_search.session.limits import Ended

#: KerasTuner's status for each outcome a trial is ended with.
KT_STATUS = {TrialOutcome.COMPLETE: "COMPLETED", TrialOutcome.FAILED: "FAILED"}

#: Hyperband's entries in a trial's values.
CONTINUED_ID = "tuner/trial_id"
EPOCHS = "tuner/epochs"
BRACKET = "tuner/bracket"
ROUND = "tuner/round"


def oracle_kind(sweep: Any) -> str:
    """The sweep's oracle: its own, else its sampler's kind (``grid`` or ``random``)."""
    oracle = KerasTunerOptions.of(sweep).oracle
    return oracle.kind if oracle is not None else sweep.sampler.kind


def oracle_options(sweep: Any) -> dict[str, Any]:
    """The oracle's options; Hyperband's ``max_epochs`` defaults to the epoch budget."""
    oracle = KerasTunerOptions.of(sweep).oracle
    options = dict(oracle.options) if oracle is not None else {}
    if oracle_kind(sweep) == "hyperband":
        options.setdefault("max_epochs", sweep.budget.epochs)
    return options


def hyperband_trials(max_epochs: int, factor: int = 3, iterations: int = 1) -> int:
    """How many trials KerasTuner's Hyperband creates (its brackets' sizes, as
    ``HyperbandOracle`` computes them).

    Example:
        >>> hyperband_trials(3, 3)
        6
    """
    brackets, epochs = 0, float(max_epochs)
    while epochs >= 1:
        epochs, brackets = epochs / factor, brackets + 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    per_iteration = sum(math.ceil(end_size / (b + 1) * factor ** (b - r))
                        for b in range(brackets) for r in range(b + 1))
    return per_iteration * iterations


@dataclass(frozen=True)
class Plan:
    """The settings of a sweep that the decisions depend on.

    Attributes:
        target: trials the sweep ends with (the oracle's ``max_trials``).
        kind: the oracle.
        epochs: the epoch budget of a trial (Hyperband's trials set their own).
        sweep_seed, same_seed: the seeds trials train from.
        direction, metric: the objective.
    """

    target: int
    kind: str
    epochs: int
    sweep_seed: int = 0
    same_seed: bool = False
    direction: str = "minimize"
    metric: str = "val_loss"

    @classmethod
    def of(cls, sweep: Any) -> Plan:
        """The plan of a validated sweep."""
        kind = oracle_kind(sweep)
        if kind == "grid":
            target = len(sweep.space.grid())
        elif kind == "hyperband":
            options = oracle_options(sweep)
            target = hyperband_trials(options["max_epochs"], options.get("factor", 3),
                                      options.get("hyperband_iterations", 1))
        else:
            target = sweep.trials
        if sweep.trials is not None:
            target = min(target, sweep.trials)
        return cls(target, kind, sweep.budget.epochs, sweep.seed, sweep.same_seed,
                   sweep.objective.direction, sweep.objective.metric)


# -- how many ---------------------------------------------------------------------------------


def finished(records: Iterable[TrialRecord]) -> int:
    """Records that count toward the target: complete, or failed for their own reason (the
    oracle counts a failed trial toward its ``max_trials``, as KerasTuner does)."""
    return sum(r.outcome.ended for r in records)


def ended(records: Iterable[TrialRecord]) -> list[Ended]:
    """The records that ended (complete or failed) in the order they ended, for the budget's
    limits (:mod:`cifar_search.session.limits`)."""
    done = sorted((r for r in records if r.outcome.ended),
                  key=lambda r: (r.ended is None, r.ended or "", r.number))
    return [Ended(r.number, r.outcome, r.value, r.fail_reason) for r in done]


def running(records: Iterable[TrialRecord]) -> list[TrialRecord]:
    """Records a crash left running: resume interrupts them (their trial continues)."""
    return [r for r in records if r.outcome == TrialOutcome.RUNNING]


def is_done(plan: Plan, records: list[TrialRecord], oracle_stopped: bool) -> bool:
    """Whether the sweep is at its end: the target reached, or the oracle has nothing more."""
    return finished(records) >= plan.target or oracle_stopped


def nothing_to_do(plan: Plan, records: list[TrialRecord], finalised: int | None) -> bool:
    """Whether running again changes nothing: the target reached, nothing left running, and
    the summary written with exactly these finished trials."""
    done = finished(records)
    return done >= plan.target and not running(records) and finalised == done


# -- a trial the oracle hands out -------------------------------------------------------------


@dataclass(frozen=True)
class Train:
    """Train a KerasTuner trial as a new record.

    Attributes:
        kt_id, params, seed, epochs: the trial, its parameters, seed and epochs to train to.
        retry_of: the interrupted record of the same trial it continues.
        continues: Hyperband: the record whose checkpoint its next round goes on from.
        bracket, round: Hyperband's bracket and round.
    """

    kt_id: str
    params: dict[str, Any]
    seed: int
    epochs: int
    retry_of: int | None = None
    continues: int | None = None
    bracket: int | None = None
    round: int | None = None


@dataclass(frozen=True)
class Settled:
    """The trial already ended (its record did, then the sweep stopped before the oracle was
    told): tell the oracle ``outcome`` and train nothing."""

    kt_id: str
    outcome: TrialOutcome


def _completed(records: Iterable[TrialRecord], kt_id: str) -> TrialRecord | None:
    return next((r for r in records if r.kt_id == kt_id
                 and r.outcome == TrialOutcome.COMPLETE), None)


def start_of(plan: Plan, kt_id: str, values: Mapping[str, Any], params: dict[str, Any],
             records: list[TrialRecord]) -> Train | Settled:
    """How a trial the oracle hands out starts.

    A trial whose record already ended is settled; one with an interrupted record continues
    that record (same seed, from its checkpoint); a Hyperband trial of a later round goes on
    from the earlier trial's checkpoint with its seed; any other trains afresh from its seed
    (the sweep's first with ``same_seed``).
    """
    own = [r for r in records if r.kt_id == kt_id]
    ended = next((r for r in own if r.outcome in KT_STATUS), None)
    if ended is not None:
        return Settled(kt_id, ended.outcome)
    bracket, round_ = values.get(BRACKET), values.get(ROUND)
    epochs = int(values.get(EPOCHS, plan.epochs))
    if own:
        last = own[-1]
        return Train(kt_id, dict(last.params), last.seed, last.epochs, last.number,
                     last.continues, last.bracket, last.round)
    earlier = _completed(records, values[CONTINUED_ID]) if CONTINUED_ID in values else None
    if earlier is not None:
        return Train(kt_id, params, earlier.seed, epochs, continues=earlier.number,
                     bracket=bracket, round=round_)
    seed = trial_seed(plan.sweep_seed, 0 if plan.same_seed else int(kt_id))
    return Train(kt_id, params, seed, epochs, bracket=bracket, round=round_)


def predecessor(record: TrialRecord) -> int | None:
    """The record whose checkpoint ``record`` goes on from: the run it retries, else the
    earlier Hyperband trial it continues."""
    return record.retry_of if record.retry_of is not None else record.continues


def checkpoint_source(start: int | None, records: Mapping[int, TrialRecord],
                      has_checkpoint: Callable[[int], bool]) -> int | None:
    """The newest record along the chain from ``start`` that left a checkpoint (None: train
    afresh)."""
    number = start
    while number is not None:
        if has_checkpoint(number):
            return number
        number = predecessor(records[number]) if number in records else None
    return None


# -- a run's end ------------------------------------------------------------------------------


class Verdict(enum.StrEnum):
    """What a worker's result means for its trial."""

    INTERRUPT = "interrupt"  # the sweep is stopping: the trial continues on resume
    NO_VALUE = "no value"    # trained without an objective value: the trial fails
    COMPLETE = "complete"


def verdict(result: TrialResult) -> Verdict:
    """Classify a worker's result (KerasTuner prunes nothing: Hyperband stops trials by the
    epochs it gives them)."""
    if result.state == RunEnd.STOPPED:
        return Verdict.INTERRUPT
    if result.value is None or not math.isfinite(result.value):
        return Verdict.NO_VALUE
    return Verdict.COMPLETE


def fails_after_worker_death(record: TrialRecord, records: Mapping[int, TrialRecord],
                             out_of_memory: bool = False) -> bool:
    """A trial whose runs already killed a worker fails when another does (the first death
    is taken as bad luck, and the trial continues from its checkpoint). A worker ended by the
    OOM killer fails its trial at once: the trial's own demand on memory would be killed
    again."""
    if out_of_memory:
        return True
    deaths, number = 0, record.retry_of
    while number is not None and number in records:
        deaths += records[number].fail_reason not in (None, TrialOutcome.INTERRUPTED)
        number = records[number].retry_of
    return deaths >= 1


def resume_line(name: str, plan: Plan, records: list[TrialRecord]) -> str:
    """``resuming 'dropout' (kerastuner hyperband): 3 complete, 1 interrupted, 2 left``."""
    parts = outcome_counts(record.outcome for record in records if record.outcome.ended)
    left = running(records)
    if left:
        parts.append(f"{len(left)} interrupted (continued from their checkpoints)")
    parts.append(f"{max(0, plan.target - finished(records))} left")
    return f"resuming {name!r} (kerastuner {plan.kind}): {', '.join(parts)}"

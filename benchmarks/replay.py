"""Replaying a pruned search over the learning curves an exhaustive grid search recorded.

Under ``same_seed`` each configuration has one learning curve (on CPU, exactly the same each
time it is trained with the same threads), and the grid search trained every configuration to
the end. A pruned search over the same space can therefore be played again without training:
its sampler draws, the curve of the drawn configuration is reported epoch by epoch to its
pruner, and the epochs it would have trained are counted, with the coordinator's rules for a
configuration drawn again (a completed one costs nothing, a pruned one goes on from where it
stopped and is judged again on its earlier epochs: :mod:`cifar_search.engines.optuna.scheduler`
decides, as in a real sweep). With one worker the replay of a search's
own sampler seed gives exactly the trials of the real search, which ``same_as`` checks.

One real pruned search is one draw of its sampler's seed (and, for Hyperband, of the study
name, which assigns trials to brackets); replayed with many seeds it gives the epochs to the
target in expectation, which is what the expected epochs of a random order of the grid compare
with.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from cifar_search import Sweep
from cifar_search.engines.optuna import scheduler
from cifar_search.engines.optuna.parts import build_pruner, build_sampler
from cifar_search.config.params import Choice
from cifar_search.config.rules import is_number
from cifar_search.config.space import Space
from cifar_search.engines.optuna.space import suggest, suggest_param
from cifar_search.search.states import Attr, TrialOutcome
from cifar_search.model.checkpoint import read_state
from cifar_search.workspace import Workspace


@dataclass(frozen=True)
class Curve:
    """A configuration's objective after each epoch (of its first seed) and its final score
    (the mean over seeds with ``repeats``)."""

    values: list[float]
    score: float


@dataclass(frozen=True)
class Replayed:
    """One replayed search: epochs until a complete trial reached the target (None: never),
    epochs in all, and each trial's configuration and epochs trained."""

    reached: int | None
    spent: int
    trials: list[tuple[str, int]]


def key(params: dict[str, Any]) -> str:
    """A configuration as a comparable string."""
    return json.dumps(params, sort_keys=True)


def grid_curves(trials: list[Any], grid: Sweep, ws: Workspace) -> dict[str, Curve]:
    """The complete grid trials' curves by configuration. A repeated trial reports no epochs
    to Optuna without a pruner: its first seed's history is read from its folder."""
    curves = {}
    for trial in trials:
        if trial.state != TrialState.COMPLETE:
            continue
        values = [trial.intermediate_values[s] for s in sorted(trial.intermediate_values)]
        if not values:
            state = read_state(ws.trial_dir(grid.name, trial.number) / "seed-0")
            values = [epoch[grid.objective.metric] for epoch in state["history"]]
        curves[key(trial.user_attrs["params"])] = Curve(values, trial.value)
    return curves


def suggest_indexed(space: Space, trial: optuna.Trial) -> dict[str, Any]:
    """Like :func:`suggest`, but a grid of three or more numbers is asked as the index of its
    value in sorted order (an integer range): the samplers that model numeric ranges (CMA-ES,
    GP, a quasi-random sequence) then see that 3e-3 lies between 1e-3 and 1e-2, as they would
    for a log-scaled range, instead of unordered categories. The configuration returned holds
    the values, so it finds the grid's curves."""
    values: dict[str, Any] = {}
    for param in space.params:
        if not param.active(values):
            continue
        if (isinstance(param, Choice) and len(param.values) > 2
                and all(is_number(v) for v in param.values)):
            ordered = sorted(param.values)
            values[param.name] = ordered[trial.suggest_int(param.name, 0, len(ordered) - 1)]
        else:
            values[param.name] = suggest_param(param, trial)
    return values


def replay(pruned: Sweep, curves: dict[str, Curve], target: float, seed: int,
           study_name: str, trials: int | None = None,
           ask: Callable[[Space, optuna.Trial], dict[str, Any]] = suggest) -> Replayed:
    """Play ``pruned`` (its space, sampler, pruner, epochs and repeats; ``trials`` trials,
    by default its own) over ``curves`` with this sampler seed and study name; ``target`` is
    reached by a complete trial whose score is at least it. Whether a drawn configuration
    trains, takes an earlier result or goes on from a pruned trial's checkpoint is decided by
    the coordinator's own scheduler; ``ask`` draws a configuration (:func:`suggest_indexed`:
    numeric grids as indexes)."""
    epochs, repeats = pruned.budget.epochs, pruned.repeats
    plan = scheduler.Plan.of(pruned)
    study = optuna.create_study(study_name=study_name, direction=pruned.objective.direction,
                                sampler=build_sampler(pruned.sampler, seed),
                                pruner=build_pruner(pruned.pruner, epochs))
    views: list[scheduler.TrialView] = []
    saved: dict[int, int] = {}  # epochs of each pruned trial's checkpoint
    spent, reached, played = 0, None, []
    for _ in range(trials or pruned.trials):
        trial = study.ask()
        params = ask(pruned.space, trial)
        config = key(params)
        start = scheduler.start_of(plan, {}, params, views, saved.get)
        if isinstance(start, scheduler.TakeResult):  # drawn again: nothing is trained
            study.tell(trial, start.value)
            views.append(_view(trial.number, TrialOutcome.COMPLETE, params, start.value))
            played.append((config, 0))
            continue
        if config not in curves:
            raise SystemExit(f"the grid has no complete trial of {config}: run it to its end")
        resumed_at = saved.get(start.continues, 0) if start.continues is not None else 0
        cost, stopped = _play(trial, curves[config].values, resumed_at, epochs)
        if stopped:
            if stopped > resumed_at:  # it trained, and left a checkpoint of its own
                saved[trial.number] = stopped
            study.tell(trial, state=TrialState.PRUNED)
            views.append(_view(trial.number, TrialOutcome.PRUNED, params))
        else:
            cost += (repeats - 1) * epochs  # the other seeds train once the first completes
            study.tell(trial, curves[config].score)
            views.append(_view(trial.number, TrialOutcome.COMPLETE, params,
                               curves[config].score))
        spent += cost
        played.append((config, cost))
        if reached is None and not stopped and curves[config].score >= target:
            reached = spent
    return Replayed(reached, spent, played)


def _view(number: int, outcome: TrialOutcome, params: dict[str, Any],
          value: float | None = None) -> scheduler.TrialView:
    return scheduler.TrialView(number, outcome, params, value, {Attr.PARAMS: params})


def _play(trial: optuna.Trial, values: list[float], resumed_at: int,
          epochs: int) -> tuple[int, int | None]:
    """Report a curve epoch by epoch; return (epochs trained, the epoch pruned at or None).
    The first ``resumed_at`` epochs come from a checkpoint and cost nothing; as in a sweep, a
    trial is never pruned after its last epoch."""
    for step in range(1, epochs + 1):
        trial.report(values[step - 1], step)
        if step < epochs and trial.should_prune():
            return max(step - resumed_at, 0), step
    return epochs - resumed_at, None


def same_as(replayed: Replayed, real: list[tuple[str, int]]) -> str | None:
    """None when the replay trained what the real search did, trial by trial; else where
    they part."""
    for number, (mine, theirs) in enumerate(zip(replayed.trials, real, strict=False)):
        if mine != theirs:
            return f"trial {number}: replay {mine}, real {theirs}"
    if len(replayed.trials) != len(real):
        return f"{len(replayed.trials)} replayed trials, {len(real)} real"
    return None


def summarise(runs: list[Replayed]) -> dict[str, Any]:
    """Epochs to the target over replays: those that reached it (mean, median, range) and
    how many did not."""
    reached = [r.reached for r in runs if r.reached is not None]
    missed = [r.spent for r in runs if r.reached is None]
    return {"reached": reached, "missed": missed,
            "mean": statistics.mean(reached) if reached else None,
            "median": statistics.median(reached) if reached else None}

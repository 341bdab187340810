"""B4 with two objectives: epochs a two-objective search (validation accuracy, parameter count)
spends to reach a front containing the accuracy target, with a pruner on accuracy and without.

B4's space (``bench_pruning.py``: optimizer x learning rate, where bad trials show after an
epoch or two) gets a ``filters`` grid, so that the parameter count varies and the front has
more than one member. A grid of the two objectives trains every point to its end once, through
the coordinator (``Objective(["val_accuracy", "params"])``), and records each point's
val_accuracy curve and parameter count. The target is the grid's best accuracy less 0.005
(``TOLERANCE``). Then a two-objective search (``--sampler``, TPE by default, multi-objective)
is replayed over those curves with many sampler seeds, once with the pruner and once without:
each drawn point reports its accuracy curve epoch by epoch, and the pruner is asked exactly as
the coordinator asks it in a multi-objective study (``judge`` in
``cifar_search.engines.optuna.study``: the value added to the trial's curve, the study seen
through val_accuracy). A search has reached the target when its front
of complete trials holds a trial whose accuracy is at least the target (the most accurate
complete trial is always on the front, so this is the first complete trial at the target).
Epochs are counted until then; a point drawn again trains again (each trial from its own
seed: no ``same_seed``). Prints, over the seeds, the epochs to the target of each arm and their
ratio, unpruned / pruned.

With ``--repeats K`` (B4's seed-averaged space) each grid point is trained with K seeds and
scored by their mean accuracy (its parameter count is the same for every seed); the target is
the best mean less 0.005. In the replays the pruner judges the first seed's curve, and a trial
it lets complete costs K x epochs (its other seeds train once the first completes), as in a
real sweep with ``repeats``.

    python benchmarks/bench_front.py [--data PATH] [--subset 10000] [--validation 0.5]
                                     [--epochs 8] [--filters 16,32] [--space small|large]
                                     [--pruner median] [--sampler tpe] [--replays 30]
                                     [--replay-trials 60] [--seed 0] [--repeats 1]

The grid is the cost (``--space small`` with two filters: 36 points); the replays take seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import dataclass
from typing import Any

from bench_pruning import PRUNERS, SPACES, TOLERANCE
from common import parser, run, workspace

from cifar_search import Budget, Data, Objective, Sweep
from cifar_search.config.space import Space
from cifar_search.engines.optuna.parts import build_pruner, build_sampler
from cifar_search.engines.optuna.space import suggest
from cifar_search.engines.optuna.study import judge
from cifar_search.search.front import Point, front


@dataclass(frozen=True)
class Grid:
    """Each point's accuracy curve (its first seed's with ``--repeats``), its score (the mean
    over its seeds) and parameter count, by configuration."""

    curves: dict[str, list[float]]
    params: dict[str, float]
    scores: dict[str, float]


def key(params: dict[str, Any]) -> str:
    """A configuration as a comparable string."""
    import json

    return json.dumps(params, sort_keys=True)


def two_objective_sweep(name: str, args: argparse.Namespace, sampler: str = "grid",
                        pruner: str = "none", trials: int | None = None) -> Sweep:
    """The benchmark's sweep: B4's space x filters, accuracy against parameters."""
    parameters = dict(SPACES[args.space])
    parameters["filters"] = {"grid": [int(f) for f in args.filters.split(",")]}
    return Sweep(name=name, space=Space.from_dict({"parameters": parameters}), model="dropout",
                 data=Data(source=args.data, subset=args.subset, validation=args.validation),
                 budget=Budget(args.epochs, 32),
                 objective=Objective(["val_accuracy", "params"]), sampler=sampler,
                 pruner=PRUNERS[pruner] if pruner != "none" else "none", trials=trials,
                 workers=1, seed=args.seed, repeats=args.repeats)


def train_grid(args: argparse.Namespace) -> Grid:
    """Train every point to its end (a grid already trained in ``--workspace`` is read
    instead); its curves and parameter counts."""
    import optuna

    grid = two_objective_sweep("front-grid", args)
    ws = workspace(args.workspace)
    trained = ws.root.joinpath("optuna.db").exists()
    seconds = 0.0 if trained else run(grid, ws)
    study = optuna.load_study(study_name=grid.name, storage=ws.optuna_url)
    curves, sizes, scores = {}, {}, {}
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        config = key(trial.user_attrs["params"])
        curves[config] = first_curve(trial, ws.trial_dir(grid.name, trial.number))
        scores[config], sizes[config] = trial.values
    print(f"B4 front grid: {len(curves)} points x {args.epochs} epochs x {args.repeats} "
          f"seed(s) trained in {seconds:.0f} s (workspace {ws.root})")
    return Grid(curves, sizes, scores)


def first_curve(trial: Any, folder: Any) -> list[float]:
    """A grid trial's val_accuracy after each epoch: the curve it reported, or, repeated
    (whose seeds report nothing without a pruner), its first seed's history."""
    from cifar_search.model.checkpoint import read_state

    curve = trial.user_attrs.get("curve") or {  # (a grid trained before the attribute)
        str(s): v for s, v in trial.intermediate_values.items()}
    if not curve:
        return [epoch["val_accuracy"] for epoch in read_state(folder / "seed-0")["history"]]
    return [curve[str(s)] for s in range(1, len(curve) + 1)]


def replay(sweep: Sweep, grid: Grid, target: float, seed: int, trials: int,
           pruned: bool) -> tuple[int | None, int]:
    """One two-objective search over the grid's curves: (epochs until its front holds the
    target, or None; epochs in all)."""
    import optuna

    epochs = sweep.budget.epochs
    pruner = build_pruner(sweep.pruner, epochs) if pruned else optuna.pruners.NopPruner()
    study = optuna.create_study(directions=["maximize", "minimize"], pruner=pruner,
                                sampler=build_sampler(sweep.sampler, seed))
    spent, done = 0, []
    for _ in range(trials):
        trial = study.ask()
        config = key(suggest(sweep.space, trial))
        curve = grid.curves[config]
        stopped = None
        for step in range(1, epochs + 1):  # asked as the coordinator asks it
            if judge(study, trial._trial_id, curve[step - 1], step, "maximize", 0) \
                    and step < epochs:
                stopped = step
                break
        spent += stopped or epochs * sweep.repeats  # the other seeds once the first completes
        if stopped:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            continue
        values = (grid.scores[config], grid.params[config])
        study.tell(trial, list(values))
        done.append(Point(trial.number, values))
        if any(p.values[0] >= target for p in front(done, ("maximize", "minimize"))):
            return spent, spent
    return None, spent


def report(label: str, runs: list[tuple[int | None, int]]) -> float | None:
    """Print one arm's epochs to the target over the seeds (and the epochs spent by the seeds
    that missed it); return their mean when every seed reached it, else None."""
    reached = [r for r, _ in runs if r is not None]
    missed = [spent for r, spent in runs if r is None]
    line = f"B4 front {label}: reached in {len(reached)}/{len(runs)} seeds"
    if reached:
        line += (f", mean {statistics.mean(reached):.1f} epochs, median "
                 f"{statistics.median(reached):.0f}, {min(reached)}-{max(reached)}")
    if missed:
        line += f"; {len(missed)} missed it after {statistics.mean(missed):.0f} epochs on average"
    print(line)
    return statistics.mean(reached) if reached and not missed else None


def options() -> argparse.Namespace:
    """The benchmark's command line."""
    args = parser(__doc__.splitlines()[0])
    args.set_defaults(data=os.environ.get("CIFAR_SEARCH_DATA") or args.get_default("data"))
    args.add_argument("--space", choices=sorted(SPACES), default="small")
    args.add_argument("--filters", default="16,32", help="the filters grid, comma-separated")
    args.add_argument("--subset", type=int, default=10_000)
    args.add_argument("--validation", type=float, default=0.5)
    args.add_argument("--epochs", type=int, default=8)
    args.add_argument("--pruner", choices=sorted(set(PRUNERS) - {"none"}), default="median")
    args.add_argument("--sampler", choices=["tpe", "nsga2", "random"], default="tpe")
    args.add_argument("--replays", type=int, default=30, help="sampler seeds per arm")
    args.add_argument("--replay-trials", type=int, default=60, help="trials per replay")
    args.add_argument("--seed", type=int, default=0)
    args.add_argument("--repeats", type=int, default=1,
                      help="seeds per configuration, scored by their mean (the pruner judges "
                           "the first seed; the others train only when it completes)")
    return args.parse_args()


def main() -> None:
    args = options()
    grid = train_grid(args)
    target = max(grid.scores.values()) - TOLERANCE
    sweep = two_objective_sweep("front-search", args, sampler=args.sampler, pruner=args.pruner,
                                trials=args.replay_trials)
    print(f"B4 front target: val_accuracy >= {target:.4f} (the grid's best less {TOLERANCE}); "
          f"{args.sampler} sampler, {args.replays} seeds x {args.replay_trials} trials")
    seeds = range(1000, 1000 + args.replays)
    pruned = report(f"{args.pruner} pruner on val_accuracy",
                    [replay(sweep, grid, target, s, args.replay_trials, True) for s in seeds])
    unpruned = report("no pruner",
                      [replay(sweep, grid, target, s, args.replay_trials, False) for s in seeds])
    if pruned and unpruned:
        print(f"B4 front ratio unpruned / pruned epochs to a front holding the target = "
              f"{unpruned / pruned:.2f}x")
    else:  # a mean over the seeds that reached it would favour the arm that missed more
        print("B4 front ratio: n/a (an arm missed the target in some seeds; raise "
              "--replay-trials or --epochs)")


if __name__ == "__main__":
    main()

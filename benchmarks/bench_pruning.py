"""B4: epochs a pruned search (TPE + Hyperband) spends to match an exhaustive grid search.

Runs two sweeps of the same space, model (the lesson's dropout CNN), data and budget through
the coordinator: a grid search that trains every point fully, then a TPE search with a pruner.
The target is the best validation accuracy of the grid search. For each search, trials are taken
in the order they finished and their epochs (the per-epoch values reported to the Optuna trial)
are added up until a complete trial's objective lies within 0.005 of the target. Prints the
counts and their ratios (target >= 3x fewer epochs):

- against random search: the grid's epochs to the target in a random order, in expectation
  (E * (N + 1) / (k + 1) for N points of E epochs of which k reach the target): a grid's own
  order is arbitrary, and a random order of its points is random search without repeats;
- against the grid in its order, and against the whole grid (all an exhaustive search spends
  to know its best).

Both sweeps set ``same_seed``: every trial trains from the same seed, so that each
configuration has one score (on CPU, exactly the same each time). With a seed per trial the
seed alone spread one configuration over 3 points of validation accuracy (std 0.9), six times
the tolerance, and the target became the luckiest of the grid's single runs. Under ``same_seed``
a configuration the TPE sampler draws again costs no epochs if it completed (it takes the
earlier result), and only the further epochs if it was pruned (it goes on from the checkpoint).
Epochs are counted where they were trained.

With ``--repeats K`` every configuration is trained with K seeds and scored by their mean, for
both searches (the noise of one seed, frozen into its score, then counts for less). The pruner
judges a trial's first seed epoch by epoch; the other K - 1 train only once it completes, so a
pruned trial costs one partial run and a complete one K full runs.

One pruned search is one draw of its sampler's seed. After the two searches the pruned one is
replayed over the grid's recorded curves (``replay.py``) with ``--replays`` other sampler seeds,
which needs no training: the replay of the run's own seed must give the run's trials exactly
(checked, one worker), and the mean over the replays is the pruned search's epochs to the target
in expectation, the figure to compare with the random order's expectation. ``--samplers``
replays it again with each named sampler in place of TPE (same pruner, each sampler's
defaults), every numeric grid asked as the index of its value (an integer range, so that
CMA-ES, GP and QMC see its order), and prints the epochs to the target side by side. Each
replay gets ``--replay-trials`` trials: a configuration drawn again costs no epochs, so the
cap only cuts short a search that would still find the target.

Half of the subset is held out, so that the validation accuracy is measured on many images.
With several workers, epochs of trials still running when the target is hit are not counted
(for either search); one worker (the default) counts exactly.

    python benchmarks/bench_pruning.py [--data PATH] [--space large|small] [--subset 10000]
                                       [--validation 0.5] [--epochs 8] [--trials 60]
                                       [--workers 1] [--pruner hyperband] [--patience N]
                                       [--seed 0] [--repeats 1] [--replays 30] [--replay-trials 200]
                                       [--replay-only] [--samplers tpe,cmaes,qmc,gp]

``--pruner`` is hyperband, median, successive_halving or none. ``--data`` defaults to
``$CIFAR_SEARCH_DATA``. About 20 minutes on 2 CPU cores (``--space small``: 10; ``--repeats 3``:
an hour; the replays take seconds).
"""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import replace
from typing import Any

from common import parser, run, sweep, workspace
from replay import grid_curves, key, replay, same_as, suggest_indexed, summarise

from cifar_search import Pruner, Sampler

#: How close to the exhaustive search's best validation accuracy counts as found (0.5 points).
TOLERANCE = 0.005

#: The spaces: optimizer and learning rate decide most of the accuracy (some points barely
#: learn in the budget, some diverge), so bad trials are recognisable after an epoch or two.
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
SPACES = {
    "small": {  # 18 points
        "optimizer": {"grid": ["sgd", "rmsprop", "adam"]},
        "learning_rate": {"grid": LEARNING_RATES[:6]},
        "momentum": {"value": 0.9, "when": {"optimizer": "sgd"}},
    },
    "large": {  # 63 points: dropout too
        "optimizer": {"grid": ["sgd", "rmsprop", "adam"]},
        "learning_rate": {"grid": LEARNING_RATES},
        "momentum": {"value": 0.9, "when": {"optimizer": "sgd"}},
        "dropout_rate": {"grid": [0.0, 0.25, 0.5]},
    },
}

#: Pruners to compare with, with their options (epochs are the resource).
PRUNERS = {
    "hyperband": Pruner("hyperband", {"min_resource": 1, "reduction_factor": 3}),
    "median": Pruner("median", {"n_startup_trials": 4, "n_warmup_steps": 1}),
    "successive_halving": Pruner("successive_halving", {"min_resource": 1, "reduction_factor": 3}),
    "none": Pruner("none"),  # every trial trains to the end: the samplers alone
}


def finished_trials(sweep_: Any, ws: Any) -> list[Any]:
    """The sweep's finished trials in the order they finished."""
    from cifar_search.engines.optuna.study import find_study

    trials = find_study(sweep_, ws).get_trials(deepcopy=False)
    done = [t for t in trials if t.state.is_finished()]
    return sorted(done, key=lambda t: (t.datetime_complete, t.number))


def complete(trial: Any) -> bool:
    """Whether a trial trained to its end (a pruned trial carries its last reported value)."""
    return trial.state.name == "COMPLETE"


def trained(trial: Any) -> int:
    """Epochs a trial trained itself, over all its seeds (a continued trial's first epochs are
    its predecessor's; a configuration drawn again after it completed trained none)."""
    epochs = trial.user_attrs.get("epochs_trained", len(trial.intermediate_values))
    return epochs - trial.user_attrs.get("resumed_at_epoch", 0)


def epochs_to_reach(trials: list[Any], target: float) -> tuple[int | None, int]:
    """(epochs spent until a complete trial's objective >= target, or None; epochs in all)."""
    spent = 0
    reached = None
    for trial in trials:
        spent += trained(trial)
        if reached is None and complete(trial) and trial.value >= target:
            reached = spent
    return reached, spent


def describe(trials: list[Any]) -> str:
    """Trials as ``#number state epochs value`` in finishing order (a pruned trial's value
    is its last epoch's)."""
    parts = []
    for t in trials:
        value = f" {t.value:.4f}" if t.value is not None else ""
        parts.append(f"#{t.number} {t.state.name.lower()} {trained(t)}ep{value}")
    return ", ".join(parts)


def expected_random_order(values: list[float], target: float, epochs: int) -> float:
    """Epochs a random order of the grid's points spends, in expectation, until it trains one
    that reaches ``target``: the first of k marked among N sits at (N + 1) / (k + 1)."""
    hits = sum(v >= target for v in values)
    return epochs * (len(values) + 1) / (hits + 1)


def report_pruned(label: str, trials: list[Any], target: float,
                  grid: tuple[float, int | None, int], wall: float) -> None:
    """Print the real pruned search's epochs to the target and its ratios to the grid's
    (in a random order, in its own order, in all)."""
    epochs, total = epochs_to_reach(trials, target)
    pruned_count = sum(t.state.name == "PRUNED" for t in trials)
    copies = sum("duplicate_of" in t.user_attrs for t in trials)
    reached = f"{epochs} epochs to the target" if epochs is not None else \
        f"target not reached in {len(trials)} trials"
    print(f"B4 pruned ({label}): {reached}, {total} in all, {len(trials)} trials "
          f"({pruned_count} pruned, {copies} drawn again), {wall:.0f} s")
    if epochs is None:
        print(f"B4 ratio: n/a (the pruned search spent {total} epochs without reaching "
              "the target; try more --trials)")
        return
    random_order, own_order, whole = grid
    print(f"B4 ratio random-order grid / pruned epochs to the target = "
          f"{random_order / epochs:.2f}x (target >= 3x); grid order "
          f"{own_order / epochs:.2f}x; whole grid {whole / epochs:.2f}x")


def report_replays(pruned: Any, grid_trials: list[Any], tpe_trials: list[Any], grid: Any,
                   ws: Any, target: float, random_epochs: float, replays: int,
                   trials: int) -> None:
    """Replay the pruned search over the grid's curves: check its own seed gives its trials,
    then print the epochs to the target over ``replays`` other seeds of ``trials`` trials
    each and the ratio."""
    curves = grid_curves(grid_trials, grid, ws)
    if tpe_trials and pruned.workers == 1:
        real = [(key(t.user_attrs["params"]), trained(t))
                for t in sorted(tpe_trials, key=lambda t: t.number)]
        own = replay(pruned, curves, target, pruned.seed, pruned.name)
        parted = same_as(own, real)
        print("B4 replay of the pruned search's own seed: " + (
            f"the same {len(real)} trials and epochs as the run" if parted is None else
            f"DIFFERS from the run ({parted}): the run was extended by a later invocation "
            "(its sampler started afresh) or the replay does not follow the coordinator"))
    if replays < 1:
        return
    seeds = range(1000 * (pruned.seed + 1), 1000 * (pruned.seed + 1) + replays)
    runs = [replay(pruned, curves, target, s, f"{pruned.name}-replay-{s}", trials)
            for s in seeds]
    got = summarise(runs)
    reached = got["reached"]
    line = (f"B4 replayed with {replays} other sampler seeds, {trials} trials each: "
            f"{len(reached)} reached the target")
    if reached:
        line += (f", in {got['mean']:.1f} epochs on average (median {got['median']:.0f}, "
                 f"{min(reached)}-{max(reached)})")
    if got["missed"]:
        line += (f"; {len(got['missed'])} did not within {trials} trials "
                 f"({min(got['missed'])}-{max(got['missed'])} epochs spent)")
    print(line)
    if reached and not got["missed"]:
        print(f"B4 ratio random-order grid / pruned, in expectation = "
              f"{random_epochs / got['mean']:.2f}x (target >= 3x); of medians "
              f"{random_epochs / got['median']:.2f}x")
    elif reached:
        floor = statistics.mean(reached + got["missed"])
        print(f"B4 ratio random-order grid / pruned, in expectation < "
              f"{random_epochs / floor:.2f}x (the replays that missed are counted at the "
              "epochs they spent, which is less than they would need)")


def report_samplers(pruned: Any, curves: dict[str, Any], target: float, random_epochs: float,
                    kinds: list[str], replays: int, trials: int) -> None:
    """Replay the pruned search with each sampler kind in ``kinds`` (its defaults, the same
    pruner), numeric grids asked as indexes (``replay.suggest_indexed``), over ``replays``
    sampler seeds; print the epochs to the target side by side."""
    import importlib.util

    print(f"B4 samplers, {pruned.pruner.kind} pruner, numeric grids asked as indexes, "
          f"{replays} sampler seeds x {trials} trials each (random order of the grid: "
          f"{random_epochs:.1f} epochs):")
    for kind in kinds:
        if kind == "gp" and importlib.util.find_spec("torch") is None:
            print("  gp     not run: PyTorch is not installed (pip install -e \".[gp]\")")
            continue
        sweep_ = replace(pruned, sampler=Sampler(kind))
        seeds = range(1000 * (pruned.seed + 1), 1000 * (pruned.seed + 1) + replays)
        runs = [replay(sweep_, curves, target, s, f"{pruned.name}-{kind}-{s}", trials,
                       ask=suggest_indexed) for s in seeds]
        got = summarise(runs)
        reached = got["reached"]
        line = f"  {kind:6} reached in {len(reached)}/{replays}"
        if reached:
            line += (f": mean {got['mean']:.1f} epochs, median {got['median']:.0f}, "
                     f"{min(reached)}-{max(reached)}")
            if not got["missed"]:
                line += f"; {random_epochs / got['mean']:.2f}x fewer than a random order"
        if got["missed"]:
            line += f"; missed by {len(got['missed'])} ({min(got['missed'])}+ epochs spent)"
        print(line)


def options() -> argparse.Namespace:
    """The benchmark's command line."""
    args = parser(__doc__.splitlines()[0])
    args.set_defaults(data=os.environ.get("CIFAR_SEARCH_DATA") or args.get_default("data"))
    args.add_argument("--space", choices=sorted(SPACES), default="large")
    args.add_argument("--subset", type=int, default=10_000)
    args.add_argument("--validation", type=float, default=0.5)
    args.add_argument("--epochs", type=int, default=8)
    args.add_argument("--trials", type=int, default=60,
                      help="trials of the pruned search (drawn-again ones cost no epochs)")
    args.add_argument("--workers", type=int, default=1)
    args.add_argument("--pruner", choices=sorted(PRUNERS), default="hyperband")
    args.add_argument("--patience", type=int, default=None,
                      help="ask the pruner only after this many epochs without improvement")
    args.add_argument("--seed", type=int, default=0, help="the sweeps' seed")
    args.add_argument("--repeats", type=int, default=1,
                      help="seeds per configuration, scored by their mean (the pruner judges "
                           "the first seed; the others train only when it completes)")
    args.add_argument("--replays", type=int, default=30,
                      help="other sampler seeds to replay the pruned search with over the "
                           "grid's curves (no training)")
    args.add_argument("--replay-trials", type=int, default=200,
                      help="trials of each replay (configurations drawn again cost nothing, so "
                           "a replay is given enough to reach the target)")
    args.add_argument("--samplers", default="",
                      help="comma-separated sampler kinds (e.g. tpe,cmaes,qmc,gp) to replay "
                           "side by side with the same pruner, numeric grids as indexes")
    args.add_argument("--replay-only", action="store_true",
                      help="do not run the pruned search, only replay it (the grid is run or "
                           "taken from --workspace)")
    return args.parse_args()


def main() -> None:
    opts = options()
    ws = workspace(opts.workspace)
    space = SPACES[opts.space]
    shared = dict(model="dropout", epochs=opts.epochs, batch_size=32, subset=opts.subset,
                  validation=opts.validation, data=opts.data, workers=opts.workers,
                  metric="val_accuracy", same_seed=True, seed=opts.seed, repeats=opts.repeats)
    exhaustive = sweep("b4-exhaustive", space, sampler="grid", pruner="none", **shared)
    patient = f"-patience{opts.patience}" if opts.patience else ""
    pruned = sweep(f"b4-{opts.pruner}{patient}", space, trials=opts.trials,
                   sampler=Sampler("tpe", {"n_startup_trials": 5}),
                   pruner=replace(PRUNERS[opts.pruner], patience=opts.patience), **shared)
    walls = {"exhaustive": run(exhaustive, ws)}
    if not opts.replay_only:
        walls["pruned"] = run(pruned, ws)
    grid_trials = finished_trials(exhaustive, ws)
    tpe_trials = [] if opts.replay_only else finished_trials(pruned, ws)
    grid_values = [t.value for t in grid_trials if complete(t)]
    best = max(grid_values)
    target = best - TOLERANCE
    grid_epochs, grid_total = epochs_to_reach(grid_trials, target)
    random_epochs = expected_random_order(grid_values, target, opts.epochs * opts.repeats)
    held_out = round(opts.subset * opts.validation)
    print(f"subset {opts.subset} ({opts.subset - held_out} train, {held_out} validation), "
          f"{opts.epochs} epochs per trial x {opts.repeats} seed(s), {opts.workers} worker(s), "
          f"same_seed, seed {opts.seed}, "
          f"space {opts.space!r}: {len(grid_trials)} grid points ({', '.join(space)})")
    print(f"B4 best val_accuracy of the exhaustive search {best:.4f}; target >= {target:.4f} "
          f"(within {TOLERANCE}), reached by {sum(v >= target for v in grid_values)} points")
    print(f"B4 exhaustive (grid, no pruning): {grid_epochs} epochs to the target in grid order, "
          f"{random_epochs:.1f} expected in a random order, {grid_total} in all, "
          f"{len(grid_trials)} trials, {walls['exhaustive']:.0f} s")
    label = f"tpe + {opts.pruner}{patient}"
    if tpe_trials:
        report_pruned(label, tpe_trials, target, (random_epochs, grid_epochs, grid_total),
                      walls["pruned"])
    report_replays(pruned, grid_trials, tpe_trials, exhaustive, ws, target, random_epochs,
                   opts.replays, opts.replay_trials)
    if opts.samplers:
        report_samplers(pruned, grid_curves(grid_trials, exhaustive, ws), target,
                        random_epochs, opts.samplers.split(","), opts.replays,
                        opts.replay_trials)
    print(f"exhaustive trials: {describe(grid_trials)}")
    if tpe_trials:
        print(f"pruned trials:     {describe(tpe_trials)}")


if __name__ == "__main__":
    main()

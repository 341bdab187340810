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

Half of the subset is held out, so that the validation accuracy is measured on many images.
With several workers, epochs of trials still running when the target is hit are not counted
(for either search); one worker (the default) counts exactly.

    python benchmarks/bench_pruning.py [--data PATH] [--space large|small] [--subset 10000]
                                       [--validation 0.5] [--epochs 8] [--trials 60]
                                       [--workers 1] [--pruner hyperband] [--patience N]
                                       [--seed 0] [--repeats 1]

``--data`` defaults to ``$CIFAR_SEARCH_DATA``. About 20 minutes on 2 CPU cores (`--space small`: 10).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from common import parser, run, sweep, workspace

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
}


def finished_trials(sweep_: Any, ws: Any) -> list[Any]:
    """The sweep's finished trials in the order they finished."""
    from cifar_search.runner import find_study

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


def main() -> None:
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
    opts = args.parse_args()
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
    walls = {name: run(s, ws) for name, s in (("exhaustive", exhaustive), ("pruned", pruned))}
    grid_trials = finished_trials(exhaustive, ws)
    tpe_trials = finished_trials(pruned, ws)
    grid_values = [t.value for t in grid_trials if complete(t)]
    best = max(grid_values)
    target = best - TOLERANCE
    grid_epochs, grid_total = epochs_to_reach(grid_trials, target)
    random_epochs = expected_random_order(grid_values, target, opts.epochs * opts.repeats)
    tpe_epochs, tpe_total = epochs_to_reach(tpe_trials, target)
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
    pruned_count = sum(t.state.name == "PRUNED" for t in tpe_trials)
    copies = sum("duplicate_of" in t.user_attrs for t in tpe_trials)
    reached = f"{tpe_epochs} epochs to the target" if tpe_epochs is not None else \
        f"target not reached in {len(tpe_trials)} trials"
    print(f"B4 pruned (tpe + {opts.pruner}{patient}): {reached}, {tpe_total} in all, "
          f"{len(tpe_trials)} trials ({pruned_count} pruned, {copies} drawn again), "
          f"{walls['pruned']:.0f} s")
    if tpe_epochs is not None:
        print(f"B4 ratio random-order grid / pruned epochs to the target = "
              f"{random_epochs / tpe_epochs:.2f}x (target >= 3x); grid order "
              f"{grid_epochs / tpe_epochs:.2f}x; whole grid {grid_total / tpe_epochs:.2f}x")
    else:
        print(f"B4 ratio: n/a (the pruned search spent {tpe_total} epochs without reaching "
              "the target; try more --trials)")
    print(f"exhaustive trials: {describe(grid_trials)}")
    print(f"pruned trials:     {describe(tpe_trials)}")


if __name__ == "__main__":
    main()

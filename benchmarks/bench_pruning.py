"""B4: epochs a pruned search (TPE + Hyperband) spends to match an exhaustive grid search.

Runs two sweeps of the same space (optimizer x learning rate, the lesson's dropout CNN), model,
data and budget through the coordinator: a grid search that trains every point fully, then a
TPE search with a pruner. The target is the best validation accuracy of the grid search. For
each search, trials are taken in the order they finished and their epochs (the per-epoch
values reported to the Optuna trial) are added up until a complete trial's objective lies
within 0.005 of the target. Prints both counts and their ratio (target >= 3x fewer epochs).
With several workers, epochs of trials still running when the target is hit are not counted
(for either search).

Half of the subset is held out, so that the validation accuracy is measured on 10,000 images:
on 2,000 its sampling error alone is about +-1.1 points, twice the tolerance.

    python benchmarks/bench_pruning.py [--data PATH] [--subset 20000] [--validation 0.5]
                                       [--epochs 8] [--trials 30] [--workers 1]
                                       [--pruner hyperband]

``--data`` defaults to ``$CIFAR_SEARCH_DATA``. About 10-15 minutes on 2 CPU cores.
"""

from __future__ import annotations

import os
from typing import Any

from common import parser, run, sweep, workspace

from cifar_search import Pruner, Sampler

#: How close to the exhaustive search's best validation accuracy counts as found (0.5 points).
TOLERANCE = 0.005

#: The space: optimizer and learning rate decide most of the accuracy (some points barely
#: learn in the budget, some diverge), so bad trials are recognisable after an epoch or two.
SPACE = {
    "optimizer": {"grid": ["sgd", "rmsprop", "adam"]},
    "learning_rate": {"grid": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2]},
    "momentum": {"value": 0.9, "when": {"optimizer": "sgd"}},
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


def epochs_to_reach(trials: list[Any], target: float) -> tuple[int | None, int]:
    """(epochs spent until a complete trial's objective >= target, or None; epochs in all)."""
    spent = 0
    reached = None
    for trial in trials:
        spent += len(trial.intermediate_values)
        if reached is None and complete(trial) and trial.value >= target:
            reached = spent
    return reached, spent


def describe(trials: list[Any]) -> str:
    """Trials as ``#number state epochs value`` in finishing order (a pruned trial's value
    is its last epoch's)."""
    parts = []
    for t in trials:
        value = f" {t.value:.4f}" if t.value is not None else ""
        parts.append(f"#{t.number} {t.state.name.lower()} {len(t.intermediate_values)}ep{value}")
    return ", ".join(parts)


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.set_defaults(data=os.environ.get("CIFAR_SEARCH_DATA") or args.get_default("data"))
    args.add_argument("--subset", type=int, default=20_000)
    args.add_argument("--validation", type=float, default=0.5)
    args.add_argument("--epochs", type=int, default=8)
    args.add_argument("--trials", type=int, default=30, help="trials of the pruned search")
    args.add_argument("--workers", type=int, default=1)
    args.add_argument("--pruner", choices=sorted(PRUNERS), default="hyperband")
    opts = args.parse_args()
    ws = workspace(opts.workspace)
    shared = dict(model="dropout", epochs=opts.epochs, batch_size=32, subset=opts.subset,
                  validation=opts.validation, data=opts.data, workers=opts.workers, metric="val_accuracy")
    exhaustive = sweep("b4-exhaustive", SPACE, sampler="grid", pruner="none", **shared)
    pruned = sweep(f"b4-{opts.pruner}", SPACE, trials=opts.trials,
                   sampler=Sampler("tpe", {"n_startup_trials": 5}),
                   pruner=PRUNERS[opts.pruner], **shared)
    walls = {name: run(s, ws) for name, s in (("exhaustive", exhaustive), ("pruned", pruned))}
    grid_trials = finished_trials(exhaustive, ws)
    tpe_trials = finished_trials(pruned, ws)
    best = max(t.value for t in grid_trials if complete(t))
    target = best - TOLERANCE
    grid_epochs, grid_total = epochs_to_reach(grid_trials, target)
    tpe_epochs, tpe_total = epochs_to_reach(tpe_trials, target)
    held_out = round(opts.subset * opts.validation)
    print(f"subset {opts.subset} ({opts.subset - held_out} train, {held_out} validation), "
          f"{opts.epochs} epochs per trial, {opts.workers} worker(s), "
          f"space {len(grid_trials)} grid points (optimizer x learning rate)")
    print(f"B4 best val_accuracy of the exhaustive search {best:.4f}; "
          f"target >= {target:.4f} (within {TOLERANCE})")
    print(f"B4 exhaustive (grid, no pruning): {grid_epochs} epochs to the target, "
          f"{grid_total} in all, {len(grid_trials)} trials, {walls['exhaustive']:.0f} s")
    pruned_count = sum(t.state.name == "PRUNED" for t in tpe_trials)
    reached = f"{tpe_epochs} epochs to the target" if tpe_epochs is not None else \
        f"target not reached in {len(tpe_trials)} trials"
    print(f"B4 pruned (tpe + {opts.pruner}): {reached}, {tpe_total} in all, "
          f"{len(tpe_trials)} trials ({pruned_count} pruned), {walls['pruned']:.0f} s")
    if tpe_epochs is not None:
        print(f"B4 ratio exhaustive / pruned epochs to the target = "
              f"{grid_epochs / tpe_epochs:.2f}x (target >= 3x); "
              f"against the whole grid {grid_total / tpe_epochs:.2f}x")
    else:
        print(f"B4 ratio: n/a (the pruned search spent {tpe_total} epochs without reaching "
              "the target; try more --trials)")
    print(f"exhaustive trials: {describe(grid_trials)}")
    print(f"pruned trials:     {describe(tpe_trials)}")


if __name__ == "__main__":
    main()

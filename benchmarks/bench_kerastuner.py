"""KerasTuner as a third engine: its Hyperband against Optuna's pruned searches, and our
engine's wall time against KerasTuner's own ``tuner.search()``.

Part 1, epochs to the target (``--part search``). A grid search (Optuna engine, ``same_seed``)
trains every point of a B4 space (``bench_pruning.py``) to its end and records the learning
curves; the target is its best validation accuracy less 0.5 points. Three searches are then
replayed over those curves with ``--replays`` sampler seeds each, without training (under
``same_seed`` a configuration's curve is the same every time it trains):

- KerasTuner Hyperband: a real ``HyperbandOracle`` chooses (``create_trial``), is told each
  epoch of the recorded curve (``update_trial``) and the end (``end_trial``); a trial of a
  later round costs only the epochs after ``tuner/initial_epoch`` (our engine continues it
  from the earlier trial's checkpoint);
- Optuna TPE + Hyperband and TPE + successive halving, replayed by ``replay.py`` with the
  Optuna engine's own scheduler.

A search reaches the target when a trial trained to the full budget scores within 0.5 points
of the grid's best; it is counted in the epochs it spent until then (mean and median over the
seeds that reach it, and how many do not).

Part 2, wall time (``--part wall``): the same grid of ``--wall-points`` dropout rates, trained
by our engine (engine ``kerastuner``, grid oracle, 1 worker process, per-epoch checkpoints,
MLflow, the best model evaluated on the test set) and by KerasTuner's ``GridSearch`` tuner in
one process (``tuner.search()``, the same model, data and pipeline, KerasTuner's own
per-trial checkpoints). Each side runs ``--wall-runs`` times, alternately; medians are compared
(target: ours <= 1.05x). Our span from the first trial's start to the last one's end is printed
too (the worker pool's start-up, the test-set evaluation and the parent run's summary are
outside it).

    python benchmarks/bench_kerastuner.py [--data PATH] [--part search|wall|both]
        [--space small|large] [--subset 4000] [--validation 0.5] [--epochs 9] [--seed 0]
        [--factor 3] [--iterations 1] [--replays 10] [--replay-trials 60]
        [--wall-points 3] [--wall-epochs 3] [--wall-subset 2000] [--wall-runs 2]
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_pruning import PRUNERS, SPACES, TOLERANCE, complete, finished_trials
from common import parser, run, sweep, workspace
from replay import Replayed, grid_curves, key, replay, summarise

from cifar_search import Budget, Data, Objective, Sampler, Sweep
from cifar_search.config.space import Space


# -- part 1: epochs to the target -------------------------------------------------------------


def kerastuner_hyperband(space: Space, curves: dict[str, Any], target: float, seed: int,
                         epochs: int, factor: int, iterations: int) -> Replayed:
    """Replay KerasTuner's Hyperband over the recorded curves with this seed."""
    import keras_tuner

    from cifar_search.engines.kerastuner.space import hyperparameters, params_of

    oracle = keras_tuner.oracles.HyperbandOracle(
        objective=keras_tuner.Objective("val_accuracy", "max"), max_epochs=epochs,
        factor=factor, hyperband_iterations=iterations, seed=seed + 1,
        hyperparameters=hyperparameters(space), allow_new_entries=False,
        tune_new_entries=False, max_consecutive_failed_trials=1_000_000)
    oracle.verbose = 0
    oracle._set_project_dir(tempfile.mkdtemp(prefix="kt-replay-"), "oracle")
    spent, reached, played = 0, None, []
    while True:
        trial = oracle.create_trial("replay")
        if trial.status != "RUNNING":  # STOPPED: the brackets (or the space) are used up
            break
        values = trial.hyperparameters.values
        config = key(params_of(space, values))
        first, last = values["tuner/initial_epoch"], values["tuner/epochs"]
        curve = curves[config]
        for epoch in range(first + 1, last + 1):
            oracle.update_trial(trial.trial_id, {"val_accuracy": curve.values[epoch - 1]},
                                step=epoch)
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        spent += last - first
        played.append((config, last - first))
        if reached is None and last == epochs and curve.score >= target:
            reached = spent
    return Replayed(reached, spent, played)


def describe(label: str, runs: list[Replayed], replays: int) -> str:
    """One line: how many replays reached the target, in how many epochs."""
    got = summarise(runs)
    line = f"{label}: {len(got['reached'])}/{replays} reached the target"
    if got["reached"]:
        line += (f", mean {got['mean']:.1f} epochs (median {got['median']:.0f}, "
                 f"{min(got['reached'])}-{max(got['reached'])})")
    if got["missed"]:
        line += f"; the others spent {min(got['missed'])}-{max(got['missed'])} epochs"
    return line


def part_search(opts: Any) -> None:
    """Grid for the curves, then the three searches replayed with several sampler seeds."""
    ws = workspace(opts.workspace)
    space = SPACES[opts.space]
    shared = dict(model="dropout", epochs=opts.epochs, batch_size=32, subset=opts.subset,
                  validation=opts.validation, data=opts.data, workers=1,
                  metric="val_accuracy", same_seed=True, seed=opts.seed)
    grid = sweep("bkt-grid", space, sampler="grid", pruner="none", **shared)
    wall = run(grid, ws)
    grid_trials = finished_trials(grid, ws)
    values = [t.value for t in grid_trials if complete(t)]
    target = max(values) - TOLERANCE
    curves = grid_curves(grid_trials, grid, ws)
    print(f"space {opts.space!r}: {len(values)} points, {opts.epochs} epochs, subset "
          f"{opts.subset}, same_seed, seed {opts.seed}; grid {len(values) * opts.epochs} "
          f"epochs in {wall:.0f} s; best val_accuracy {max(values):.4f}, target >= "
          f"{target:.4f}, reached by {sum(v >= target for v in values)} points")
    seeds = range(1000 * (opts.seed + 1), 1000 * (opts.seed + 1) + opts.replays)
    kt = [kerastuner_hyperband(grid.space, curves, target, s, opts.epochs, opts.factor,
                               opts.iterations) for s in seeds]
    print(describe(f"kerastuner hyperband (factor {opts.factor}, {opts.iterations} "
                   "iteration(s))", kt, opts.replays))
    for pruner in ("hyperband", "successive_halving"):
        pruned = sweep(f"bkt-tpe-{pruner}", space, trials=opts.replay_trials,
                       sampler=Sampler("tpe", {"n_startup_trials": 5}),
                       pruner=PRUNERS[pruner], **shared)
        runs = [replay(pruned, curves, target, s, f"{pruned.name}-{s}", opts.replay_trials)
                for s in seeds]
        print(describe(f"optuna tpe + {pruner} ({opts.replay_trials} trials)", runs,
                       opts.replays))


# -- part 2: wall time, our engine against tuner.search() -------------------------------------


def wall_sweep(opts: Any, name: str) -> Sweep:
    """The grid both sides train: ``--wall-points`` dropout rates."""
    rates = [round(0.1 + 0.6 * i / max(1, opts.wall_points - 1), 3)
             for i in range(opts.wall_points)]
    space = Space.from_dict({"parameters": {"dropout_rate": {"grid": rates}}})
    return Sweep(name=name, space=space, model="dropout",
                 data=Data(source=opts.data, subset=opts.wall_subset, validation=0.2),
                 budget=Budget(opts.wall_epochs, 32), objective=Objective("val_loss"),
                 sampler="grid", engine="kerastuner", workers=1, seed=opts.seed)


def ours(opts: Any, name: str, cache: Path) -> tuple[float, float]:
    """Wall time of our engine on the grid (a fresh workspace, the decoded data shared), and
    the span from the first trial's start to the last one's end (without the worker pool's
    start-up, the test-set evaluation and the parent run's summary)."""
    from datetime import datetime

    from cifar_search.engines.kerastuner.coordinator import Coordinator, record_store

    ws = workspace(None)
    ws.root.mkdir(parents=True, exist_ok=True)
    (ws.root / "data").symlink_to(cache, target_is_directory=True)
    grid = wall_sweep(opts, name)
    started = time.perf_counter()
    Coordinator(grid, ws, say=lambda line: None).run()
    wall = time.perf_counter() - started
    records = record_store(grid, ws).records()
    first = min(datetime.fromisoformat(r.started) for r in records)
    last = max(datetime.fromisoformat(r.ended) for r in records)
    return wall, (last - first).total_seconds()


def theirs(opts: Any, name: str, cache: Path) -> float:
    """Wall time of KerasTuner's GridSearch tuner on the same grid, model, data and pipeline."""
    import keras_tuner

    from cifar_search.engines.kerastuner.space import hyperparameters, params_of
    from cifar_search.model import build, data, pipeline

    grid = wall_sweep(opts, name)
    started = time.perf_counter()
    folder = data.prepared(opts.data, cache)
    split = data.load_split(folder, 0.2, opts.wall_subset, opts.seed, scaled=False)
    batch = grid.budget.batch_size
    steps = -(-len(split.x_train) // batch) * opts.wall_epochs

    class DropoutCNN(keras_tuner.HyperModel):
        def build(self, hp: Any) -> Any:
            params = params_of(grid.space, hp.values)
            model = build.build_model("dropout", params, split.input_shape, split.num_classes)
            build.compile_model(model, params, None, grid.compute.steps_per_execution, steps)
            return model

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            return model.fit(pipeline.batches(split.x_train, split.y_train, batch, seed=1),
                             validation_data=pipeline.batches(split.x_val, split.y_val, batch),
                             epochs=opts.wall_epochs, shuffle=False, verbose=0,
                             callbacks=kwargs.get("callbacks"))

    class GridSearch(keras_tuner.GridSearch):
        def _configure_tensorboard_dir(self, *args: Any, **kwargs: Any) -> None:
            """No TensorBoard callback here; KerasTuner would import tensorboard (not a
            dependency) to look for one."""

    tuner = GridSearch(DropoutCNN(), objective="val_loss",
                                   hyperparameters=hyperparameters(grid.space),
                                   max_trials=opts.wall_points, overwrite=True,
                                   directory=tempfile.mkdtemp(prefix="kt-search-"),
                                   project_name=name)
    tuner.search_space_summary = lambda *a, **k: None
    tuner.search(verbose=0)
    return time.perf_counter() - started


def part_wall(opts: Any) -> None:
    """Both sides ``--wall-runs`` times, alternately; the medians and their ratio."""
    from cifar_search.model import data

    cache = Path(tempfile.mkdtemp(prefix="kt-data-"))
    data.prepared(opts.data, cache)  # decoded once, before either side is timed
    times: dict[str, list[float]] = {"ours": [], "ours, first trial to last": [],
                                     "tuner.search()": []}
    for number in range(opts.wall_runs):
        wall, span = ours(opts, f"bkt-wall-{number}", cache)
        times["ours"].append(wall)
        times["ours, first trial to last"].append(span)
        times["tuner.search()"].append(theirs(opts, f"bkt-wall-{number}", cache))
    for label, values in times.items():
        print(f"{label}: {opts.wall_points} trials x {opts.wall_epochs} epochs, subset "
              f"{opts.wall_subset}: median {statistics.median(values):.1f} s "
              f"({', '.join(f'{v:.1f}' for v in values)})")
    theirs_ = statistics.median(times["tuner.search()"])
    print(f"wall time ours / tuner.search() = {statistics.median(times['ours']) / theirs_:.2f}x "
          f"(target <= 1.05x); first trial to last / tuner.search() = "
          f"{statistics.median(times['ours, first trial to last']) / theirs_:.2f}x")


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.set_defaults(data=os.environ.get("CIFAR_SEARCH_DATA") or args.get_default("data"))
    args.add_argument("--part", choices=("search", "wall", "both"), default="both")
    args.add_argument("--space", choices=sorted(SPACES), default="small")
    args.add_argument("--subset", type=int, default=4000)
    args.add_argument("--validation", type=float, default=0.5)
    args.add_argument("--epochs", type=int, default=9)
    args.add_argument("--seed", type=int, default=0)
    args.add_argument("--factor", type=int, default=3)
    args.add_argument("--iterations", type=int, default=1)
    args.add_argument("--replays", type=int, default=10)
    args.add_argument("--replay-trials", type=int, default=60)
    args.add_argument("--wall-points", type=int, default=3)
    args.add_argument("--wall-epochs", type=int, default=3)
    args.add_argument("--wall-subset", type=int, default=2000)
    args.add_argument("--wall-runs", type=int, default=2)
    opts = args.parse_args()
    if opts.part in ("search", "both"):
        part_search(opts)
    if opts.part in ("wall", "both"):
        part_wall(opts)


if __name__ == "__main__":
    main()

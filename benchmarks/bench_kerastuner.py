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
seeds that reach it, and how many do not), and against a random order of the grid.

With ``--repeats K`` every configuration is trained with K seeds and scored by their mean, as
in B4 (``bench_pruning.py --repeats``): the searches are told the first seed's curve epoch by
epoch, and a trial trained to the full budget costs the other seeds' epochs too and scores
their mean. ``--workers`` runs the grid on that many workers (the curves do not depend on the
order in which the grid trains them, only on the threads per trial).

Part 2, wall time (``--part wall``): both sides as a user runs them, each in a fresh process
that pays its own imports. Ours is ``python -m cifar_search run SWEEPFILE --workspace WS`` on a
sweep file (and space file) written for the grid of ``--wall-points`` dropout rates: engine
``kerastuner``, grid oracle, ``--wall-workers`` worker processes, per-epoch checkpoints, MLflow,
the best model evaluated on the test set. Theirs is a small user script that loads the same
sweep file and runs KerasTuner's ``GridSearch`` tuner (``tuner.search()``) over the same model,
data split and input pipeline, with KerasTuner's own per-trial checkpoints. Both read the
decoded images from one cache (decoded before anything is timed) and get the machine's cores.
Each side runs ``--wall-runs`` times, alternating which goes first; the medians are compared
(target: ours <= 1.05x), and our run is split by its records' timestamps into start-up (to the
first trial's start), trials (first start to last end) and end (test-set evaluation, summary,
exit). The workspace's MLflow store is created once before timing, so that its template is
cached as it is after a user's first run.

The defaults (4 points x 4 epochs on 15,000 images: 12,000 to train, about 10 s to a minute
per epoch depending on the machine) are a small real sweep: trials of tens of seconds, so the
fixed costs of a run weigh what they weigh for a user, not what they weigh in a toy. Ours uses
2 workers, as the shipped sweeps do on a two-core machine: each trains on one core while
``tuner.search()`` trains one trial at a time on both. The earlier small sizes remain
reachable: ``--wall-points 3 --wall-epochs 3 --wall-subset 2000 --wall-workers 1``.

    python benchmarks/bench_kerastuner.py [--data PATH] [--part search|wall|both]
        [--space small|large] [--subset 4000] [--validation 0.5] [--epochs 9] [--seed 0]
        [--repeats 1] [--workers 1] [--factor 3] [--iterations 1] [--replays 10]
        [--replay-trials 60]
        [--wall-points 4] [--wall-epochs 4] [--wall-subset 15000] [--wall-workers 2]
        [--wall-runs 3]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench_pruning import (PRUNERS, SPACES, TOLERANCE, complete, expected_random_order,
                           finished_trials)
from common import ROOT, parser, run, sweep, workspace
from replay import Replayed, grid_curves, key, replay, summarise

from cifar_search import Sampler
from cifar_search.config.space import Space


# -- part 1: epochs to the target -------------------------------------------------------------


def kerastuner_hyperband(space: Space, curves: dict[str, Any], target: float, seed: int,
                         epochs: int, factor: int, iterations: int,
                         repeats: int = 1) -> Replayed:
    """Replay KerasTuner's Hyperband over the recorded curves with this seed. With
    ``repeats`` K > 1 it is told the first seed's curve epoch by epoch, as Optuna's pruners
    are, and a trial trained to the full budget then costs the other K - 1 seeds' epochs and
    ends on the mean over seeds, as a complete trial does in ``replay.py``."""
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
        curve, full = curves[config], last == epochs
        for epoch in range(first + 1, last + 1):
            value = curve.score if full and epoch == last else curve.values[epoch - 1]
            oracle.update_trial(trial.trial_id, {"val_accuracy": value}, step=epoch)
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        cost = last - first + ((repeats - 1) * epochs if full else 0)
        spent += cost
        played.append((config, cost))
        if reached is None and full and curve.score >= target:
            reached = spent
    return Replayed(reached, spent, played)


def describe(label: str, runs: list[Replayed], replays: int, random_order: float) -> str:
    """One line: how many replays reached the target, in how many epochs, and how many times
    fewer than a random order of the grid in expectation."""
    got = summarise(runs)
    line = f"{label}: {len(got['reached'])}/{replays} reached the target"
    if got["reached"]:
        line += (f", mean {got['mean']:.1f} epochs (median {got['median']:.0f}, "
                 f"{min(got['reached'])}-{max(got['reached'])}): "
                 f"{random_order / got['mean']:.2f}x fewer than a random order")
    if got["missed"]:
        line += f"; the others spent {min(got['missed'])}-{max(got['missed'])} epochs"
    return line


def part_search(opts: Any) -> None:
    """Grid for the curves, then the three searches replayed with several sampler seeds."""
    ws = workspace(opts.workspace)
    space = SPACES[opts.space]
    shared = dict(model="dropout", epochs=opts.epochs, batch_size=32, subset=opts.subset,
                  validation=opts.validation, data=opts.data, workers=opts.workers,
                  metric="val_accuracy", same_seed=True, seed=opts.seed, repeats=opts.repeats)
    grid = sweep("bkt-grid", space, sampler="grid", pruner="none", **shared)
    wall = run(grid, ws)
    grid_trials = finished_trials(grid, ws)
    values = [t.value for t in grid_trials if complete(t)]
    target = max(values) - TOLERANCE
    curves = grid_curves(grid_trials, grid, ws)
    random_order = expected_random_order(values, target, opts.epochs * opts.repeats)
    print(f"space {opts.space!r}: {len(values)} points, {opts.epochs} epochs x "
          f"{opts.repeats} seed(s), subset {opts.subset}, same_seed, seed {opts.seed}, "
          f"{opts.workers} worker(s); grid {len(values) * opts.epochs * opts.repeats} epochs "
          f"in {wall:.0f} s; best val_accuracy {max(values):.4f}, target >= {target:.4f}, "
          f"reached by {sum(v >= target for v in values)} points; a random order of the grid "
          f"needs {random_order:.1f} epochs in expectation")
    seeds = range(1000 * (opts.seed + 1), 1000 * (opts.seed + 1) + opts.replays)
    kt = [kerastuner_hyperband(grid.space, curves, target, s, opts.epochs, opts.factor,
                               opts.iterations, opts.repeats) for s in seeds]
    print(describe(f"kerastuner hyperband (factor {opts.factor}, {opts.iterations} "
                   "iteration(s))", kt, opts.replays, random_order))
    for pruner in ("hyperband", "successive_halving"):
        pruned = sweep(f"bkt-tpe-{pruner}", space, trials=opts.replay_trials,
                       sampler=Sampler("tpe", {"n_startup_trials": 5}),
                       pruner=PRUNERS[pruner], **shared)
        runs = [replay(pruned, curves, target, s, f"{pruned.name}-{s}", opts.replay_trials)
                for s in seeds]
        print(describe(f"optuna tpe + {pruner} ({opts.replay_trials} trials)", runs,
                       opts.replays, random_order))


# -- part 2: wall time, our engine against tuner.search() -------------------------------------


#: A user's script around KerasTuner's ``GridSearch`` tuner on the grid: the same model, data
#: split and input pipeline as our workers. argv: the sweep file, the decoded-data cache,
#: the tuner's folder.
THEIR_SCRIPT = r"""
import sys
from pathlib import Path

import keras_tuner

from cifar_search import load_sweep
from cifar_search.engines.kerastuner.space import hyperparameters, params_of
from cifar_search.model import build, data, pipeline

grid = load_sweep(sys.argv[1])
epochs, batch = grid.budget.epochs, grid.budget.batch_size
folder = data.prepared(grid.data.source, Path(sys.argv[2]))
split = data.load_split(folder, grid.data.validation, grid.data.subset, grid.seed, scaled=False)
steps = -(-len(split.x_train) // batch) * epochs


class DropoutCNN(keras_tuner.HyperModel):
    def build(self, hp):
        params = params_of(grid.space, hp.values)
        model = build.build_model(grid.model, params, split.input_shape, split.num_classes)
        build.compile_model(model, params, None, grid.compute.steps_per_execution, steps)
        return model

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(pipeline.batches(split.x_train, split.y_train, batch, seed=1),
                         validation_data=pipeline.batches(split.x_val, split.y_val, batch),
                         epochs=epochs, shuffle=False, verbose=0,
                         callbacks=kwargs.get("callbacks"))


class GridSearch(keras_tuner.GridSearch):
    def _configure_tensorboard_dir(self, *args, **kwargs):
        pass  # no TensorBoard callback; KerasTuner would import tensorboard to look for one


tuner = GridSearch(DropoutCNN(), objective=grid.objective.metric,
                   hyperparameters=hyperparameters(grid.space), max_trials=grid.trials,
                   overwrite=True, directory=sys.argv[3], project_name=grid.name)
tuner.search(verbose=0)
"""


def rates(points: int) -> list[float]:
    """``points`` dropout rates from 0.1 to 0.7."""
    return [round(0.1 + 0.6 * i / max(1, points - 1), 3) for i in range(points)]


def wall_files(opts: Any, folder: Path) -> Path:
    """The sweep file (and its space file) both sides run, as a user writes them."""
    (folder / "space.yaml").write_text(
        "parameters:\n  dropout_rate:\n    grid: [" + ", ".join(map(str, rates(opts.wall_points)))
        + "]\n")
    source = "None" if opts.data is None else repr(str(Path(opts.data).resolve()))
    (folder / "sweep.py").write_text(
        "from cifar_search import Budget, Data, Objective, Sweep\n\n"
        f"sweep = Sweep(name='bkt-wall', space='space.yaml', model='dropout',\n"
        f"              data=Data(source={source}, subset={opts.wall_subset}, validation=0.2),\n"
        f"              budget=Budget({opts.wall_epochs}, 32), objective=Objective('val_loss'),\n"
        f"              sampler='grid', engine='kerastuner', trials={opts.wall_points},\n"
        f"              workers={opts.wall_workers}, seed={opts.seed})\n")
    return folder / "sweep.py"


def timed(argv: list[str]) -> tuple[float, datetime, datetime]:
    """Run ``argv`` in a fresh process (this checkout first on the path); its wall time, and
    when it started and ended."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "TF_CPP_MIN_LOG_LEVEL": "3"}
    began, started = datetime.now(), time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    wall, ended = time.perf_counter() - started, datetime.now()
    if done.returncode:
        sys.exit(f"{' '.join(argv)} failed (exit code {done.returncode}):\n{done.stdout}")
    return wall, began, ended


def ours(sweep_file: Path, cache: Path) -> dict[str, float]:
    """``python -m cifar_search run`` on the grid in a fresh workspace (the decoded data
    shared): its wall time, and its split into start-up (to the first trial's start), trials
    (first start to last end) and end (test-set evaluation, the parent run's summary, exit)."""
    from cifar_search import load_sweep
    from cifar_search.engines.kerastuner.coordinator import record_store

    ws = workspace(None)
    ws.root.mkdir(parents=True, exist_ok=True)
    (ws.root / "data").symlink_to(cache, target_is_directory=True)
    wall, began, ended = timed([sys.executable, "-m", "cifar_search", "run", str(sweep_file),
                                "--workspace", str(ws.root)])
    grid = load_sweep(sweep_file)
    records = record_store(grid, ws).records()
    first = min(datetime.fromisoformat(r.started) for r in records)
    last = max(datetime.fromisoformat(r.ended) for r in records)
    return {"ours": wall, "ours: start-up": (first - began).total_seconds(),
            "ours: trials": (last - first).total_seconds(),
            "ours: end": (ended - last).total_seconds()}


def theirs(sweep_file: Path, cache: Path, folder: Path) -> float:
    """The user's ``tuner.search()`` script on the same grid, in a fresh process."""
    script = folder / "their_search.py"
    script.write_text(THEIR_SCRIPT)
    tuner_dir = tempfile.mkdtemp(prefix="kt-search-")
    return timed([sys.executable, str(script), str(sweep_file), str(cache), tuner_dir])[0]


def part_wall(opts: Any) -> None:
    """Both sides ``--wall-runs`` times, alternately (which goes first alternates too); the
    medians, their ratio, and our split by phase."""
    from cifar_search.model import data
    from cifar_search.tracking.store import create_mlflow_store

    folder = Path(tempfile.mkdtemp(prefix="kt-wall-"))
    sweep_file = wall_files(opts, folder)
    cache = Path(tempfile.mkdtemp(prefix="kt-data-"))
    data.prepared(opts.data, cache)  # decoded once, before either side is timed
    create_mlflow_store(workspace(None))  # MLflow's store template, as after a user's first run
    times: dict[str, list[float]] = {}
    for number in range(opts.wall_runs):
        sides = [("ours", lambda: ours(sweep_file, cache)),
                 ("theirs", lambda: {"tuner.search()": theirs(sweep_file, cache, folder)})]
        for _, side in sides[::1 if number % 2 == 0 else -1]:
            for label, value in side().items():
                times.setdefault(label, []).append(value)
    size = (f"{opts.wall_points} trials x {opts.wall_epochs} epochs, subset {opts.wall_subset}, "
            f"ours with {opts.wall_workers} worker(s)")
    print(size)
    for label, values in times.items():
        print(f"{label}: median {statistics.median(values):.1f} s "
              f"({', '.join(f'{v:.1f}' for v in values)})")
    median = {label: statistics.median(values) for label, values in times.items()}
    print(f"wall time ours / tuner.search() = {median['ours'] / median['tuner.search()']:.2f}x "
          f"(target <= 1.05x); our trials alone / tuner.search() = "
          f"{median['ours: trials'] / median['tuner.search()']:.2f}x")


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.set_defaults(data=os.environ.get("CIFAR_SEARCH_DATA") or args.get_default("data"))
    args.add_argument("--part", choices=("search", "wall", "both"), default="both")
    args.add_argument("--space", choices=sorted(SPACES), default="small")
    args.add_argument("--subset", type=int, default=4000)
    args.add_argument("--validation", type=float, default=0.5)
    args.add_argument("--epochs", type=int, default=9)
    args.add_argument("--seed", type=int, default=0)
    args.add_argument("--repeats", type=int, default=1,
                      help="seeds per configuration, scored by their mean (B4's --repeats)")
    args.add_argument("--workers", type=int, default=1, help="the grid's workers")
    args.add_argument("--factor", type=int, default=3)
    args.add_argument("--iterations", type=int, default=1)
    args.add_argument("--replays", type=int, default=10)
    args.add_argument("--replay-trials", type=int, default=60)
    args.add_argument("--wall-points", type=int, default=4)
    args.add_argument("--wall-epochs", type=int, default=4)
    args.add_argument("--wall-subset", type=int, default=15000)
    args.add_argument("--wall-workers", type=int, default=2)
    args.add_argument("--wall-runs", type=int, default=3)
    opts = args.parse_args()
    if opts.part in ("search", "both"):
        part_search(opts)
    if opts.part in ("wall", "both"):
        part_wall(opts)


if __name__ == "__main__":
    main()

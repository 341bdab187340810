"""B6: sweeps/cifar.py on the full CIFAR-10: wall time until a trial reaches 80% and 85%
validation accuracy, beside a reference run of the sweep's best-known settings.

Runs, in one process and one after the other:

1. the **reference**: the sweep's first start point (its best-known settings) trained once, as a
   one-trial sweep with the sweep's model, data, budget and workers;
2. the shipped **sweep** (its space, model, budget, sampler, pruner, start points and workers).

The JPEG archive is decoded once, first, and its time printed apart; each run then starts in a
fresh temporary workspace holding the decoded images, and is stopped once a trial reaches the
last target or after ``--minutes``. Absolute minutes drift with the machine, so the reference's
minutes are the yardstick for the sweep's. Prints when each target was first reached (seconds
since that run started, from the MLflow timestamps of the per-epoch metrics) against the target
<= 30 min for 85% on 2 cores.

    python benchmarks/bench_cifar.py [--minutes 30] [--targets 0.8 0.85] [--no-reference]
        [--sweep sweeps/cifar_asha.py] [--subset N]

With ``--sweep sweeps/cifar_asha.py`` (pruner 'asha') it also prints how many trials reached
each rung and the best of the highest rung. ``--subset`` trains both runs on N images (a
reduced check; the targets then mean less than on the full data).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from typing import Any

from common import ROOT, parser, workspace

#: Targets of B6 on 2 cores: validation accuracy -> seconds.
LIMITS = {0.85: 1800}


def first_reached(ws, experiment: str, targets: list[float], since_ms: int
                  ) -> tuple[dict[float, tuple[float, str, int]], float]:
    """For each target, (seconds since start, run name, epoch) of the first epoch at or above
    it, over every run of the experiment; and the best validation accuracy of any epoch."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=ws.mlflow_url)
    found: dict[float, tuple[float, str, int]] = {}
    best = 0.0
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return found, best
    for run in client.search_runs([exp.experiment_id], max_results=10_000):
        for metric in client.get_metric_history(run.info.run_id, "val_accuracy"):
            seconds = (metric.timestamp - since_ms) / 1000
            best = max(best, metric.value)
            for target in targets:
                if metric.value >= target and (target not in found
                                               or seconds < found[target][0]):
                    found[target] = (seconds, run.info.run_name, metric.step)
    return found, best


def reference_of(sweep: Any) -> Any:
    """The sweep's first start point trained once: a one-point grid of its settings."""
    from cifar_search import Pruner, Sampler
    from cifar_search.config.space import Space
    from cifar_search.engines.optuna.options import OptunaOptions

    start = OptunaOptions.of(sweep).start
    if not start:
        raise SystemExit(f"{sweep.source}: no start point to train as the reference")
    point = start[0]
    data = sweep.space.to_dict()
    parameters = {name: point.get(name, spec) for name, spec in data["parameters"].items()}
    drawn = [name for name in sweep.space.swept() if name not in point]
    if drawn:
        raise SystemExit(f"{sweep.source}: start[0] leaves {drawn[0]!r} to the sampler; the "
                         "reference needs every swept parameter")
    options = {**sweep.options, "optuna": {**sweep.options.get("optuna", {}), "start": ()}}
    return dataclasses.replace(sweep, name=f"{sweep.name}-reference", options=options,
                               space=Space.from_dict({**data, "parameters": parameters}),
                               sampler=Sampler("grid"), pruner=Pruner("none"), trials=None)


def timed(sweep: Any, ws: Any, minutes: float, targets: list[float]
          ) -> tuple[float, dict[float, tuple[float, str, int]], float]:
    """Run the sweep until a trial reaches the last target or ``minutes`` pass (stopped as
    SIGTERM stops it); its wall time, when each target was reached, and the best accuracy."""
    from cifar_search.engines.optuna.coordinator import Coordinator

    started_ms = int(time.time() * 1000)
    done = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 60 * minutes
        while not done.wait(30):
            reached, _ = first_reached(ws, sweep.name, targets, started_ms)
            if max(targets) in reached or time.monotonic() > deadline:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, daemon=True).start()
    Coordinator(sweep, ws, say=lambda line: print(f"  {line}", flush=True)).run()
    done.set()
    wall = (time.time() * 1000 - started_ms) / 1000
    reached, best = first_reached(ws, sweep.name, targets, started_ms)
    return wall, reached, best


def rungs_line(sweep: Any, ws: Any) -> str | None:
    """With pruner 'asha': complete trials per rung (its epochs) and the best trial's rung."""
    import optuna

    from cifar_search.search.fidelity import rung_of
    from cifar_search.tracking.tables import best_trained

    if sweep.pruner.kind != "asha":
        return None
    study = optuna.load_study(study_name=sweep.name, storage=ws.optuna_url)
    counts: dict[tuple[int, int], int] = {}
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        key = (rung_of(trial.user_attrs), trial.user_attrs.get("rung_epochs", 0))
        counts[key] = counts.get(key, 0) + 1
    best = best_trained(study)
    shown = ", ".join(f"rung {r} ({e} epochs): {n}" for (r, e), n in sorted(counts.items()))
    top = (f"; best trial {best.number} at rung {rung_of(best.user_attrs)}: "
           f"{best.value:.4f}" if best is not None else "")
    return f"complete trials by rung: {shown or 'none'}{top}"


def report(label: str, sweep: Any, wall: float, reached: dict, best: float,
           targets: list[float], rungs: str | None = None) -> None:
    from cifar_search.engines import worker_count

    print(f"B6 {label}: ran {wall:.0f} s ({worker_count(sweep)} worker(s), model {sweep.model}, "
          f"{sweep.budget.epochs} epochs per trial); best val_accuracy {best:.4f}")
    if rungs:
        print(f"B6 {label} {rungs}")
    for target in targets:
        limit = LIMITS.get(target)
        goal = f" (target <= {limit // 60} min)" if limit else ""
        if target in reached:
            seconds, run, epoch = reached[target]
            print(f"B6 {label} val_accuracy >= {target:.2f}: after {seconds:.0f} s = "
                  f"{seconds / 60:.1f} min, {run} epoch {epoch}{goal}")
        else:
            print(f"B6 {label} val_accuracy >= {target:.2f}: not reached in {wall / 60:.1f} min"
                  f"{goal}")


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--minutes", type=float, default=30.0, help="stop each run after this")
    args.add_argument("--targets", type=float, nargs="+", default=[0.8, 0.85])
    args.add_argument("--sweep", default=str(ROOT / "sweeps" / "cifar.py"))
    args.add_argument("--no-reference", dest="reference", action="store_false",
                      help="run the sweep only")
    args.add_argument("--subset", type=int, default=None,
                      help="train both runs on this many images (a reduced check)")
    opts = args.parse_args()
    from cifar_search import load_sweep
    from cifar_search.session.data import prepare_data

    sweep = load_sweep(opts.sweep).override(data=opts.data, subset=opts.subset)
    runs = [("reference", reference_of(sweep))] if opts.reference else []
    runs.append(("sweep", sweep))
    decoded = workspace(None)
    started = time.perf_counter()
    prepare_data(sweep, decoded)
    print(f"B6 decoding the data: {time.perf_counter() - started:.0f} s (not in the runs' "
          "clocks: they find it in the shared cache)")
    for label, each in runs:
        ws = workspace(opts.workspace and f"{opts.workspace}-{label}")
        wall, reached, best = timed(each, ws, opts.minutes, opts.targets)
        report(label, each, wall, reached, best, opts.targets, rungs_line(each, ws))


if __name__ == "__main__":
    main()

"""B6: sweeps/cifar.py on the full CIFAR-10: wall time until a trial reaches 70% and 80%
validation accuracy.

Runs the shipped sweep (its space, model, budget, sampler, pruner and workers) in a temporary
workspace, and stops it once a trial reaches the last target or after ``--minutes``. Prints when
each target was first reached (seconds since the sweep started, from the MLflow timestamps of
the per-epoch metrics) against the targets <= 10 min for 70% and <= 30 min for 80% on 2 cores.

    python benchmarks/bench_cifar.py [--minutes 30] [--targets 0.7 0.8]
"""

from __future__ import annotations

import os
import signal
import threading
import time

from common import ROOT, parser, workspace


def first_reached(ws, experiment: str, targets: list[float], since_ms: int
                  ) -> dict[float, tuple[float, str, int]]:
    """For each target, (seconds since start, run name, epoch) of the first epoch at or above
    it, over every run of the experiment."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=ws.mlflow_url)
    found: dict[float, tuple[float, str, int]] = {}
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return found
    for run in client.search_runs([exp.experiment_id], max_results=10_000):
        for metric in client.get_metric_history(run.info.run_id, "val_accuracy"):
            seconds = (metric.timestamp - since_ms) / 1000
            for target in targets:
                if metric.value >= target and (target not in found
                                               or seconds < found[target][0]):
                    found[target] = (seconds, run.info.run_name, metric.step)
    return found


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--minutes", type=float, default=30.0, help="stop the sweep after this")
    args.add_argument("--targets", type=float, nargs="+", default=[0.7, 0.8])
    args.add_argument("--sweep", default=str(ROOT / "sweeps" / "cifar.py"))
    opts = args.parse_args()
    from cifar_search.engines.optuna.coordinator import Coordinator
    from cifar_search.config.sweep import load_sweep

    sweep = load_sweep(opts.sweep).override(data=opts.data)
    ws = workspace(opts.workspace)
    started_ms = int(time.time() * 1000)
    done = threading.Event()

    def watch() -> None:
        """Stop the sweep (as SIGTERM would) at the time limit or once the last target is
        reached."""
        deadline = time.monotonic() + 60 * opts.minutes
        while not done.wait(30):
            reached = first_reached(ws, sweep.name, opts.targets, started_ms)
            if max(opts.targets) in reached or time.monotonic() > deadline:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, daemon=True).start()
    Coordinator(sweep, ws, say=lambda line: print(f"  {line}", flush=True)).run()
    done.set()
    wall = (time.time() * 1000 - started_ms) / 1000
    reached = first_reached(ws, sweep.name, opts.targets, started_ms)
    print(f"B6 {sweep.name}: ran {wall:.0f} s ({sweep.workers} workers, model {sweep.model}, "
          f"{sweep.budget.epochs} epochs per trial)")
    limits = {0.7: 600, 0.8: 1800}
    for target in opts.targets:
        limit = limits.get(target)
        goal = f" (target <= {limit // 60} min)" if limit else ""
        if target in reached:
            seconds, run, epoch = reached[target]
            print(f"B6 val_accuracy >= {target:.2f}: after {seconds:.0f} s = {seconds / 60:.1f} "
                  f"min, {run} epoch {epoch}{goal}")
        else:
            print(f"B6 val_accuracy >= {target:.2f}: not reached in {wall / 60:.1f} min{goal}")


if __name__ == "__main__":
    main()

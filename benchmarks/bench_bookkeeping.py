"""B5: bookkeeping cost (Optuna + MLflow, the embedded SQLite stores) per trial and per epoch.

Times exactly what the coordinator does around training, on real stores in a temp workspace:
per trial, ask + suggest + user attrs + MLflow child run create/close + tell; per epoch, one
batched MLflow log + report + should_prune. Prints both and their share of a 10 s epoch
(target < 2%).

    python benchmarks/bench_bookkeeping.py [--trials 30] [--epochs 10]
"""

from __future__ import annotations

import time

from common import parser, sweep, workspace


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--trials", type=int, default=30)
    args.add_argument("--epochs", type=int, default=10)
    opts = args.parse_args()
    ws = workspace(opts.workspace)
    ws.create()
    from cifar_search.engines.optuna.space import suggest
    from cifar_search.engines.optuna.study import StudyStore
    from cifar_search.search.states import Attr, TrialOutcome
    from cifar_search.tracking.writer import Tracker

    bench = sweep("b5", {"dropout_rate": {"type": "float", "low": 0.0, "high": 0.5}},
                  trials=opts.trials, sampler="tpe", pruner="median", epochs=opts.epochs)
    store = StudyStore(bench, ws)
    tracker = Tracker(ws, bench)
    tracker.open_parent(None, "b5")
    per_trial, per_epoch = [], []
    logs = {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.1, "val_accuracy": 0.4,
            "epoch_seconds": 10.0}
    for _ in range(opts.trials):
        started = time.perf_counter()
        trial = store.ask()
        params = suggest(bench.space, trial)
        store.set_trial_attrs(trial.number, {Attr.PARAMS: params})
        run_id = tracker.start_trial(trial.number, params, 0)
        store.set_trial_attrs(trial.number, {Attr.MLFLOW_RUN_ID: run_id})
        trial_part = time.perf_counter() - started
        for epoch in range(opts.epochs):
            tick = time.perf_counter()
            tracker.log_epoch(run_id, epoch + 1, logs)
            store.report(trial, logs["val_loss"] - 0.01 * epoch, epoch + 1)
            per_epoch.append(time.perf_counter() - tick)
        tick = time.perf_counter()
        store.tell(trial.number, TrialOutcome.COMPLETE, 1.0)
        tracker.end_trial(run_id, TrialOutcome.COMPLETE, 1.0,
                          {Attr.DURATION_S: 1.0, Attr.EPOCHS_TRAINED: 10})
        per_trial.append(trial_part + time.perf_counter() - tick)
    trial_ms = 1000 * sum(per_trial) / len(per_trial)
    epoch_ms = 1000 * sum(per_epoch) / len(per_epoch)
    print(f"B5 per trial: {trial_ms:.1f} ms (ask, suggest, attrs, MLflow run, tell, close)")
    print(f"B5 per epoch: {epoch_ms:.1f} ms (MLflow batch, report, should_prune)")
    share = (epoch_ms + trial_ms / opts.epochs) / 10_000
    print(f"B5 share of a 10 s epoch (trial cost spread over {opts.epochs} epochs): "
          f"{100 * share:.2f}% (target < 2%)")


if __name__ == "__main__":
    main()

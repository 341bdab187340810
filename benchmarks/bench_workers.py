"""B3: sweep throughput (epochs per minute) with 2 workers vs 1, the lesson's dropout CNN.

Runs the same grid sweep twice in one go, 1 worker (both cores for one process) then 2 workers
(one thread each), on data decoded once beforehand, and prints the epochs/min of each and their
ratio (target >= 2x on 2 cores). The throughput window runs from the first trial's first
training step to the last epoch's end (MLflow timestamps), so it leaves out the one-off worker
start-up (TensorFlow import) but keeps every per-trial cost; the wall time of each whole run is
printed too.

The same comparison is made by hand first, as the ceiling the sweep can reach on this machine:
two hand-written single-threaded ``model.fit`` processes at once vs one with both threads, on the
same images, images/s together vs alone. Both comparisons are repeated (``--rounds``), the order
alternating, and the medians are compared: this machine's speed drifts by tens of percent
between minutes.

    python benchmarks/bench_workers.py [--subset 10000] [--epochs 3] [--trials 6] [--rounds 2]
                                       [--pin] [--hand-only]
"""

from __future__ import annotations

from common import median, parser, plain_fits, run, sweep, workspace


def training_window(ws, experiment: str) -> tuple[int, float]:
    """(epochs trained, seconds from the first training step to the last epoch's end)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=ws.mlflow_url)
    exp = client.get_experiment_by_name(experiment)
    starts, ends, epochs = [], [], 0
    for run_ in client.search_runs([exp.experiment_id], max_results=10_000):
        if "mlflow.parentRunId" not in run_.data.tags:
            continue
        history = sorted(client.get_metric_history(run_.info.run_id, "epoch_seconds"),
                         key=lambda m: m.step)
        if not history:
            continue
        epochs += len(history)
        starts.append(history[0].timestamp / 1000 - history[0].value)
        ends.append(history[-1].timestamp / 1000)
    return epochs, max(ends) - min(starts)


def hand_written(cache, subset: int, order: tuple[int, ...], epochs: int = 4,
                 pin: bool = False) -> tuple[float, float | None]:
    """Images/s of two single-threaded plain fits at once over one two-threaded plain fit,
    with the sweep's steps_per_execution, run in ``order`` (1: alone, 2: the pair); with
    ``pin``, the pair runs a second time with each process bound to its own core. Returns the
    ratio and the pinned one (None without ``pin``)."""
    from cifar_search import Compute

    steps = Compute().steps_per_execution
    images = round(subset * 0.8)
    speeds = {}
    for processes in order + ((3,) if pin else ()):  # 3: the pair, pinned
        threads = 1 if processes > 1 else 2
        runs = plain_fits(cache, subset, epochs, threads, min(processes, 2), steps,
                          pin=processes == 3)
        speeds[processes] = [images / median(times[1:]) for times in runs]
    alone, pair = speeds[1][0], speeds[2]
    line = (f"B3 hand-written model.fit (steps_per_execution={steps}): one process, 2 threads "
            f"{alone:,.0f} img/s; two processes, 1 thread each {pair[0]:,.0f} + {pair[1]:,.0f} "
            f"= {sum(pair):,.0f} img/s: {sum(pair) / alone:.2f}x")
    pinned = None
    if pin:
        pinned = sum(speeds[3]) / alone
        line += (f"; pinned to a core each {speeds[3][0]:,.0f} + {speeds[3][1]:,.0f} = "
                 f"{sum(speeds[3]):,.0f} img/s: {pinned:.2f}x")
    print(line)
    return sum(pair) / alone, pinned


def sweep_ratio(ws, opts, order: tuple[int, ...], round_: int) -> float:
    """Epochs/min of the 2-worker sweep over the 1-worker sweep, run in ``order``."""
    rates = [round(0.1 * (i + 1), 2) for i in range(opts.trials)]
    results = {}
    for workers in order:
        name = f"b3-{workers}-round{round_}"
        bench = sweep(name, {"dropout_rate": {"grid": rates}}, epochs=opts.epochs,
                      subset=opts.subset, data=opts.data, workers=workers)
        wall = run(bench, ws)
        epochs, window = training_window(ws, name)
        results[workers] = epochs / window * 60
        print(f"B3 {workers} worker(s): {epochs} epochs in {window:.1f} s of training = "
              f"{results[workers]:.2f} epochs/min (whole run {wall:.1f} s with start-up)")
    ratio = results[2] / results[1]
    print(f"B3 round {round_}: 2 workers / 1 worker = {ratio:.2f}x")
    return ratio


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--subset", type=int, default=10_000)
    args.add_argument("--epochs", type=int, default=3)
    args.add_argument("--trials", type=int, default=6)
    args.add_argument("--rounds", type=int, default=2,
                      help="repeat both comparisons, alternating which side runs first")
    args.add_argument("--pin", action="store_true",
                      help="also run the hand-written pair with each process bound to a core")
    args.add_argument("--hand-only", action="store_true",
                      help="the hand-written comparison only (no sweeps)")
    opts = args.parse_args()
    from cifar_search.model import data

    ws = workspace(opts.workspace)
    cache = data.prepared(opts.data, ws.decoded_data)  # decoded once
    hand, pinned, ours = [], [], []
    for round_ in range(1, opts.rounds + 1):
        order = (1, 2) if round_ % 2 else (2, 1)  # the host's speed drifts: alternate
        free, bound = hand_written(cache, opts.subset, order, pin=opts.pin)
        hand.append(free)
        pinned.append(bound)
        if not opts.hand_only:
            ours.append(sweep_ratio(ws, opts, order, round_))
    ceiling = median(hand)
    if opts.pin:
        print(f"B3 hand-written, pinned {median(pinned):.2f}x, median of "
              f"{[round(r, 2) for r in pinned]}")
    if opts.hand_only:
        print(f"B3 hand-written {ceiling:.2f}x, median of {[round(r, 2) for r in hand]}")
        return
    ratio = median(ours)
    print(f"B3 ratio 2 workers / 1 worker = {ratio:.2f}x, median of {opts.rounds} rounds "
          f"{[round(r, 2) for r in ours]} (target >= 2x); hand-written {ceiling:.2f}x "
          f"{[round(r, 2) for r in hand]}: the sweep gets {ratio / ceiling:.0%} of it")


if __name__ == "__main__":
    main()

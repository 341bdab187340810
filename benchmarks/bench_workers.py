"""B3: sweep throughput (epochs per minute) with 2 workers vs 1, the lesson's dropout CNN.

Runs the same grid sweep twice in one go, 1 worker (both cores for one process) then 2 workers
(one thread each), and prints epochs/min of each and their ratio (target >= 2x on 2 cores).

    python benchmarks/bench_workers.py [--subset 10000] [--epochs 2] [--trials 4]
"""

from __future__ import annotations

from common import child_metrics, parser, run, sweep, workspace


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--subset", type=int, default=10_000)
    args.add_argument("--epochs", type=int, default=2)
    args.add_argument("--trials", type=int, default=4)
    opts = args.parse_args()
    rates = [round(0.1 * (i + 1), 2) for i in range(opts.trials)]
    results = {}
    for workers in (1, 2):
        ws = workspace(None)
        bench = sweep(f"b3-{workers}", {"dropout_rate": {"grid": rates}}, epochs=opts.epochs,
                      subset=opts.subset, data=opts.data, workers=workers)
        wall = run(bench, ws)
        epochs = sum(len(h) for h in child_metrics(ws, f"b3-{workers}", "val_loss"))
        results[workers] = epochs / wall * 60
        print(f"B3 {workers} worker(s): {epochs} epochs in {wall:.1f} s = "
              f"{results[workers]:.2f} epochs/min (wall time includes worker start-up)")
    print(f"B3 ratio 2 workers / 1 worker = {results[2] / results[1]:.2f}x (target >= 2x)")


if __name__ == "__main__":
    main()

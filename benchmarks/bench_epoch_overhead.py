"""B1 (epoch time, cifar_search vs plain model.fit) and B2 (trial start-up).

Side by side in one run, same model (the lesson's dropout CNN), data, batch size and threads:
a hand-written ``model.fit`` in a fresh process (NumPy arrays in, Keras' defaults), the same
with the sweep's ``steps_per_execution``, then a 1-worker sweep of the same model. Prints the
median epoch time of each (first epoch left out: graph tracing) and the ratios (target
<= 1.03), and each trial's start-up (task received -> training starts; target < 1 s).

    python benchmarks/bench_epoch_overhead.py [--subset 10000] [--epochs 4]
"""

from __future__ import annotations

from common import child_metrics, median, parser, plain_fits, run, sweep, workspace


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--subset", type=int, default=10_000)
    args.add_argument("--epochs", type=int, default=4)
    args.add_argument("--trials", type=int, default=3)
    opts = args.parse_args()
    ws = workspace(opts.workspace)
    from cifar_search import Compute, data
    from cifar_search.pool import threads_per_worker

    cache = data.prepare(data.resolve_source(opts.data), ws.data_cache)
    threads = threads_per_worker(1)
    steps = Compute().steps_per_execution
    plain = plain_fits(cache, opts.subset, opts.epochs, threads)[0]
    plain_steps = plain_fits(cache, opts.subset, opts.epochs, threads,
                             steps_per_execution=steps)[0]
    bench = sweep("b1", {"dropout_rate": {"choices": [0.3]}}, epochs=opts.epochs,
                  subset=opts.subset, data=opts.data, trials=opts.trials, sampler="random")
    wall = run(bench, ws)
    epochs = child_metrics(ws, "b1", "epoch_seconds")
    ours = median([t for trial in epochs for t in trial[1:]])
    startup = [h[0] for h in child_metrics(ws, "b1", "startup_seconds")]
    print(f"threads {threads}, subset {opts.subset}, {opts.epochs} epochs, batch 32")
    print(f"B1 plain model.fit (Keras defaults)          median epoch {median(plain[1:]):.3f} s"
          f"  {[round(t, 3) for t in plain]}")
    print(f"B1 plain model.fit, steps_per_execution={steps:<3}  median epoch "
          f"{median(plain_steps[1:]):.3f} s  {[round(t, 3) for t in plain_steps]}")
    print(f"B1 cifar_search                              median epoch {ours:.3f} s  "
          f"(trials {len(epochs)})")
    print(f"B1 ratio cifar_search / plain (same steps_per_execution) = "
          f"{ours / median(plain_steps[1:]):.3f} (target <= 1.03)")
    print(f"B1 ratio cifar_search / plain (Keras defaults) = {ours / median(plain[1:]):.3f}")
    print(f"B2 trial start-up (task -> training starts): "
          + ", ".join(f"{s:.3f} s" for s in startup) + " (target < 1 s)")
    print(f"sweep wall time {wall:.1f} s (includes one TF import in the worker)")


if __name__ == "__main__":
    main()

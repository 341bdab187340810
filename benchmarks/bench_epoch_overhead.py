"""B1 (epoch time, cifar_search vs plain model.fit) and B2 (trial start-up).

Side by side in one run, same model (the lesson's dropout CNN), data, batch size and threads:
a hand-written ``model.fit`` in a fresh process (NumPy arrays in, Keras' defaults), the same
with the sweep's ``steps_per_execution``, and a 1-worker sweep of the same model. Prints the
median epoch time of each (first epoch left out: graph tracing) and the ratios (target
<= 1.03), and each trial's start-up (task received -> training starts; target < 1 s). The
comparison is repeated (``--rounds``), alternating which side runs first, and the median ratio
is given: this machine's speed drifts by tens of percent between minutes.

    python benchmarks/bench_epoch_overhead.py [--subset 10000] [--epochs 4] [--rounds 3]
"""

from __future__ import annotations

from common import child_metrics, median, parser, plain_fits, run, sweep, workspace


def one_round(ws, cache, opts, threads: int, steps: int, round_: int,
              sweep_first: bool) -> tuple[float, float, float, list[float]]:
    """Median epoch of the plain fit (Keras defaults), of the plain fit with the sweep's
    steps_per_execution and of the sweep's trials; and the trials' start-up times."""
    name = f"b1-round{round_}"

    def ours() -> float:
        bench = sweep(name, {"dropout_rate": {"choices": [0.3]}}, epochs=opts.epochs,
                      subset=opts.subset, data=opts.data, trials=opts.trials, sampler="random")
        run(bench, ws)
        return median([t for trial in child_metrics(ws, name, "epoch_seconds")
                       for t in trial[1:]])

    mine = ours() if sweep_first else None
    plain = plain_fits(cache, opts.subset, opts.epochs, threads)[0]
    plain_steps = plain_fits(cache, opts.subset, opts.epochs, threads,
                             steps_per_execution=steps)[0]
    if mine is None:
        mine = ours()
    startup = [h[0] for h in child_metrics(ws, name, "startup_seconds")]
    print(f"B1 round {round_}: plain (Keras defaults) {median(plain[1:]):.3f} s, plain "
          f"(steps_per_execution={steps}) {median(plain_steps[1:]):.3f} s, cifar_search "
          f"{mine:.3f} s per epoch: {mine / median(plain_steps[1:]):.3f}x")
    return median(plain[1:]), median(plain_steps[1:]), mine, startup


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--subset", type=int, default=10_000)
    args.add_argument("--epochs", type=int, default=4)
    args.add_argument("--trials", type=int, default=3)
    args.add_argument("--rounds", type=int, default=3,
                      help="repeat the comparison, alternating which side runs first")
    opts = args.parse_args()
    ws = workspace(opts.workspace)
    from cifar_search import Compute
    from cifar_search.model import data
    from cifar_search.execution.local import threads_per_worker

    cache = data.prepared(opts.data, ws.decoded_data)
    threads = threads_per_worker(1)
    steps = Compute().steps_per_execution
    print(f"threads {threads}, subset {opts.subset}, {opts.epochs} epochs, batch 32")
    rounds = [one_round(ws, cache, opts, threads, steps, r, sweep_first=r % 2 == 0)
              for r in range(1, opts.rounds + 1)]
    same = [mine / plain_steps for _, plain_steps, mine, _ in rounds]
    defaults = [mine / plain for plain, _, mine, _ in rounds]
    print(f"B1 ratio cifar_search / plain (same steps_per_execution) = {median(same):.3f}, "
          f"median of {[round(r, 3) for r in same]} (target <= 1.03)")
    print(f"B1 ratio cifar_search / plain (Keras defaults) = {median(defaults):.3f}, "
          f"median of {[round(r, 3) for r in defaults]}")
    for r, (_, _, _, startup) in enumerate(rounds, 1):
        print(f"B2 round {r} trial start-up (task -> training starts): "
              + ", ".join(f"{s:.3f} s" for s in startup) + " (target < 1 s; the first trial "
              "of the round starts a fresh worker)")


if __name__ == "__main__":
    main()

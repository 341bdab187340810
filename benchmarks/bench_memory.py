"""B7: peak memory of a worker after 50 trials vs after 1 (no leak across trials).

Runs a 1-worker sweep of 50 one-epoch trials (the lesson's dropout CNN on a small subset)
through the real coordinator and worker pool, and reads the worker process's resident memory
after every trial; prints the memory after trials 1, 10 and 50, the highest after any trial and
the ratios (target: no growth beyond noise). By default one worker trains all 50 trials (the
pool would replace it only after ``TRIALS_PER_WORKER``); ``--recycle N`` replaces it every N.

    python benchmarks/bench_memory.py [--trials 50] [--subset 2000] [--recycle N]
"""

from __future__ import annotations

from common import parser, sweep, workspace


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid``."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--trials", type=int, default=50)
    args.add_argument("--subset", type=int, default=2000)
    args.add_argument("--recycle", type=int, default=None,
                      help="replace the worker every N trials (default: never within --trials)")
    opts = args.parse_args()
    from cifar_search.execution import local
    from cifar_search.engines.optuna.coordinator import Coordinator

    local.TRIALS_PER_WORKER = opts.recycle or opts.trials + 1
    rates = [round(0.01 * i, 2) for i in range(opts.trials)]
    bench = sweep("b7", {"dropout_rate": {"grid": rates}}, epochs=1, batch_size=64,
                  subset=opts.subset, data=opts.data, workers=1)
    coordinator = Coordinator(bench, workspace(opts.workspace))
    marks: list[float] = []

    def after_trial(line: str) -> None:
        if line.startswith("trial"):
            worker = max(coordinator.pool.workers, key=lambda w: w.trials)  # the one that trained
            marks.append(rss_mib(worker.process.pid))

    coordinator.say = after_trial
    coordinator.run()
    for n in (1, 10, len(marks)):
        print(f"B7 after trial {n:>3}: worker {marks[n - 1]:.0f} MiB resident")
    every = f"every {local.TRIALS_PER_WORKER} trials" if opts.recycle else "never"
    print(f"B7 highest after any trial: {max(marks):.0f} MiB (worker replaced: {every})")
    if len(marks) > 10:
        per_trial = (marks[-1] - marks[9]) / (len(marks) - 10)
        print(f"B7 from trial 10 to {len(marks)}: {marks[-1] - marks[9]:+.0f} MiB "
              f"({per_trial:+.2f} MiB per trial; the first trials warm up caches)")
    print(f"B7 ratio after {len(marks)} / after 1 = {marks[-1] / marks[0]:.3f}; "
          f"highest / after 1 = {max(marks) / marks[0]:.3f} (target: no growth beyond noise)")


if __name__ == "__main__":
    main()

"""B7: peak memory of a worker after 50 trials vs after 1 (no leak across trials).

Runs a 1-worker sweep of 50 one-epoch trials (the lesson's dropout CNN on a small subset)
through the real coordinator and worker pool, and reads the worker process's resident memory
after every trial. TensorFlow keeps a few MiB per trained model even after ``clear_session()``,
so the pool replaces a worker by a fresh process every ``TRIALS_PER_WORKER`` trials; this prints
the memory after trial 1, the highest after any trial, the memory after trial 50, and the ratios
(target: no growth beyond noise). ``--no-recycle`` shows what one long-lived worker would do.

    python benchmarks/bench_memory.py [--trials 50] [--subset 2000] [--no-recycle]
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
    args.add_argument("--no-recycle", action="store_true", help="keep one worker for all trials")
    opts = args.parse_args()
    from cifar_search import pool
    from cifar_search.runner import Coordinator

    if opts.no_recycle:
        pool.TRIALS_PER_WORKER = opts.trials + 1
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
    print(f"B7 highest after any trial: {max(marks):.0f} MiB (a worker is replaced every "
          f"{pool.TRIALS_PER_WORKER} trials)")
    print(f"B7 ratio after {len(marks)} / after 1 = {marks[-1] / marks[0]:.3f}; "
          f"highest / after 1 = {max(marks) / marks[0]:.3f} (target: no growth beyond noise)")


if __name__ == "__main__":
    main()

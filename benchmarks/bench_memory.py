"""B7: peak memory of a worker after 50 trials vs after 1 (no leak across trials).

Runs trials the way a worker does (one process, a clean Keras session per trial) on a small
subset and prints the resident memory after trial 1, 10 and 50, and the ratio 50/1.

    python benchmarks/bench_memory.py [--trials 50] [--subset 2000]
"""

from __future__ import annotations

import os
import tempfile

from common import parser, workspace


def rss_mib() -> float:
    """Resident memory of this process."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--trials", type=int, default=50)
    args.add_argument("--subset", type=int, default=2000)
    opts = args.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from cifar_search import data
    from cifar_search.objective import run_trial
    from cifar_search.tasks import CONTINUE, TrialTask

    ws = workspace(opts.workspace)
    cache = data.prepare(data.resolve_source(opts.data), ws.data_cache)
    marks = {}
    for number in range(opts.trials):
        task = TrialTask(number=number, params={"dropout_rate": 0.1 + 0.01 * (number % 10)},
                         family="dropout", epochs=1, batch_size=64, patience=None,
                         metric="val_loss", direction="minimize", seed=number,
                         data_dir=str(cache), validation=0.2, subset=opts.subset, split_seed=0,
                         trial_dir=tempfile.mkdtemp(prefix="b7-"))
        run_trial(task, lambda epoch, logs: CONTINUE)
        if number + 1 in (1, 10, opts.trials):
            marks[number + 1] = rss_mib()
            print(f"B7 after {number + 1:>3} trial(s): {marks[number + 1]:.0f} MiB resident")
    print(f"B7 ratio after {opts.trials} / after 1 = {marks[opts.trials] / marks[1]:.3f} "
          "(target: no growth beyond noise)")


if __name__ == "__main__":
    main()

"""B1 (epoch time, cifar_search vs plain model.fit) and B2 (trial start-up).

Side by side in one run, same model (the lesson's dropout CNN), data, batch size and threads:
a plain ``model.fit`` in a fresh process, then a 1-worker sweep of the same model. Prints the
median epoch time of each (first epoch left out: graph tracing) and their ratio (target
<= 1.03), and each trial's start-up (task received -> training starts; target < 1 s).

    python benchmarks/bench_epoch_overhead.py [--subset 10000] [--epochs 4]
"""

from __future__ import annotations

import json
import subprocess
import sys

from common import ROOT, child_metrics, median, parser, run, sweep, workspace

PLAIN = r"""
import json, os, sys, time
threads = int(sys.argv[4])
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
import keras
from pathlib import Path
from cifar_search import data, models
split = data.load_split(Path(sys.argv[1]), 0.2, int(sys.argv[2]), 0)
keras.utils.set_random_seed(0)
model = models.build_model("dropout", {"dropout_rate": 0.3}, split.input_shape, split.num_classes)
models.compile_model(model, {})
times = []
class Timer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None): self.t = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None): times.append(time.perf_counter() - self.t)
model.fit(split.x_train, split.y_train, validation_data=(split.x_val, split.y_val),
          epochs=int(sys.argv[3]), batch_size=32, verbose=0, callbacks=[Timer()])
print(json.dumps(times))
"""


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--subset", type=int, default=10_000)
    args.add_argument("--epochs", type=int, default=4)
    args.add_argument("--trials", type=int, default=3)
    opts = args.parse_args()
    ws = workspace(opts.workspace)
    from cifar_search import data
    from cifar_search.pool import threads_per_worker

    cache = data.prepare(data.resolve_source(opts.data), ws.data_cache)
    threads = threads_per_worker(1)
    plain = json.loads(subprocess.run(
        [sys.executable, "-c", PLAIN, str(cache), str(opts.subset), str(opts.epochs),
         str(threads)], cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    bench = sweep("b1", {"dropout_rate": {"choices": [0.3]}}, epochs=opts.epochs,
                  subset=opts.subset, data=opts.data, trials=opts.trials, sampler="random")
    wall = run(bench, ws)
    epochs = child_metrics(ws, "b1", "epoch_seconds")
    ours = [t for trial in epochs for t in trial[1:]]
    startup = [h[0] for h in child_metrics(ws, "b1", "startup_seconds")]
    print(f"threads {threads}, subset {opts.subset}, {opts.epochs} epochs, batch 32")
    print(f"B1 plain model.fit   median epoch {median(plain[1:]):.3f} s  {plain}")
    print(f"B1 cifar_search      median epoch {median(ours):.3f} s  (trials {len(epochs)})")
    print(f"B1 ratio cifar_search / plain = {median(ours) / median(plain[1:]):.3f} "
          "(target <= 1.03)")
    print(f"B2 trial start-up (task -> training starts): "
          + ", ".join(f"{s:.3f} s" for s in startup) + " (target < 1 s)")
    print(f"sweep wall time {wall:.1f} s (includes one TF import in the worker)")


if __name__ == "__main__":
    main()

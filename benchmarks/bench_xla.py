"""XLA on CPU: epoch time of each model family with ``jit_compile`` off and on.

Side by side in one run: for each family, a hand-written ``model.fit`` in a fresh process with
the worker's settings (2 threads, ``steps_per_execution`` 16, the family's default parameters),
once with ``Compute(xla=False)`` and once with ``xla=True``, the order alternating between rounds
(this machine's speed drifts between minutes). Prints images/s of each (first epoch left out:
tracing and XLA compilation), the ``jit_compile`` Keras really used (it turns XLA off by itself
for layers XLA cannot compile), the first epoch's seconds, and the median ratio on/off.

    python benchmarks/bench_xla.py [--families dropout,bnnet] [--subset 8000] [--epochs 3]
                                   [--rounds 3]
"""

from __future__ import annotations

import json
import subprocess
import sys

from common import ROOT, median, parser, workspace

#: One fit: argv = cache, subset, epochs, family, xla. Prints JSON: epoch seconds and jit_compile.
FIT = r"""
import json, os, sys, time
for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ[name] = "2"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(2)
tf.config.threading.set_inter_op_parallelism_threads(2)
import keras
from pathlib import Path
from cifar_search import Compute
from cifar_search.model import build, data
split = data.load_split(Path(sys.argv[1]), 0.2, int(sys.argv[2]), 0)
keras.utils.set_random_seed(0)
model = build.build_model(sys.argv[4], {}, split.input_shape, split.num_classes)
build.compile_model(model, {}, xla=sys.argv[5] == "on",
                     steps_per_execution=Compute().steps_per_execution)
times = []
class Timer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None): self.t = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None): times.append(time.perf_counter() - self.t)
model.fit(split.x_train, split.y_train, epochs=int(sys.argv[3]), batch_size=32, verbose=0,
          callbacks=[Timer()])
print(json.dumps({"times": times, "jit_compile": bool(model.jit_compile)}))
"""


def fit(cache, subset: int, epochs: int, family: str, xla: str) -> dict:
    out = subprocess.run([sys.executable, "-c", FIT, str(cache), str(subset), str(epochs), family,
                          xla], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the {family} fit with XLA {xla} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--families", default="dropout,bnnet")
    args.add_argument("--subset", type=int, default=8_000)
    args.add_argument("--epochs", type=int, default=3)
    args.add_argument("--rounds", type=int, default=3)
    opts = args.parse_args()
    from cifar_search.model import data

    ws = workspace(opts.workspace)
    cache = data.prepared(opts.data, ws.decoded_data)
    images = round(opts.subset * 0.8)
    for family in opts.families.split(","):
        ratios = []
        for round_ in range(1, opts.rounds + 1):
            order = ("off", "on") if round_ % 2 else ("on", "off")
            runs = {xla: fit(cache, opts.subset, opts.epochs, family, xla) for xla in order}
            speed = {xla: images / median(r["times"][1:]) for xla, r in runs.items()}
            ratios.append(speed["on"] / speed["off"])
            print(f"XLA {family} round {round_}: off {speed['off']:,.0f} img/s (first epoch "
                  f"{runs['off']['times'][0]:.1f} s), on {speed['on']:,.0f} img/s (first epoch "
                  f"{runs['on']['times'][0]:.1f} s, jit_compile used: "
                  f"{runs['on']['jit_compile']}): {ratios[-1]:.2f}x")
        print(f"XLA {family}: on / off = {median(ratios):.2f}x, median of "
              f"{[round(r, 2) for r in ratios]}")


if __name__ == "__main__":
    main()

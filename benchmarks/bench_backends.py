"""Keras on JAX against Keras on TensorFlow: epoch time of the dropout CNN and fastnet on CPU.

Each (backend, family) trains in a process of its own (a process has one Keras backend), set up
as a sweep's worker is (threads, ``steps_per_execution``, ``jit_compile`` left to Keras: on for
JAX, off for TensorFlow on a CPU), on synthetic 32x32x3 images fed as arrays; the first epoch
traces and compiles and is reported apart, the next ``--epochs`` are timed. Rounds alternate
the backends so that a busy machine slows both alike; the ratio is JAX's epoch time over
TensorFlow's (below 1: JAX is faster).

    python benchmarks/bench_backends.py [--images 5000] [--rounds 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from common import ROOT

FAMILIES = ("dropout", "fastnet")
BACKENDS = ("tensorflow", "jax")

#: One measurement, run in a child process: prints a JSON line.
CHILD = """
import json, os, sys, time
sys.path.insert(0, {root!r})
import numpy as np
import keras
from cifar_search.model import build
images, epochs, family = {images}, {epochs}, {family!r}
rng = np.random.default_rng(0)
x = rng.random((images, 32, 32, 3), dtype=np.float32)
y = (np.arange(images) % 10).astype("int32")
keras.utils.set_random_seed(0)
model = build.build_model(family, {{}}, (32, 32, 3), 10)
build.compile_model(model, {{}}, steps_per_execution=16)
started = time.perf_counter()
model.fit(x, y, epochs=1, batch_size=128, verbose=0)
first = time.perf_counter() - started
started = time.perf_counter()
model.fit(x, y, epochs=epochs, batch_size=128, verbose=0)
print(json.dumps({{"first_s": first, "epoch_s": (time.perf_counter() - started) / epochs,
                  "jit_compile": bool(model.jit_compile), "backend": keras.backend.backend()}}))
"""


def measure(backend: str, family: str, opts: argparse.Namespace) -> dict:
    """One child's epoch time of ``family`` on ``backend``."""
    from cifar_search.execution.threads import thread_env

    env = {**os.environ, **thread_env(opts.threads), "KERAS_BACKEND": backend,
           "TF_CPP_MIN_LOG_LEVEL": "3",
           "XLA_FLAGS": f"--xla_cpu_multi_thread_eigen={'true' if opts.threads > 1 else 'false'}"}
    code = CHILD.format(root=str(ROOT), images=opts.images, epochs=opts.epochs, family=family)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=1800, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--images", type=int, default=5000, help="synthetic images per epoch")
    args.add_argument("--epochs", type=int, default=2, help="timed epochs after the first")
    args.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    args.add_argument("--threads", type=int, default=2, help="threads per process")
    args.add_argument("--families", default=",".join(FAMILIES))
    opts = args.parse_args()
    print(f"{opts.images} images, batch 128, {opts.threads} thread(s), {opts.epochs} timed "
          f"epoch(s) after the first, {opts.rounds} round(s) alternating the backends")
    for family in opts.families.split(","):
        times: dict[str, list[float]] = {b: [] for b in BACKENDS}
        for round_ in range(opts.rounds):
            for backend in BACKENDS if round_ % 2 == 0 else BACKENDS[::-1]:
                result = measure(backend, family, opts)
                if "error" in result:
                    print(f"{family} {backend}: error {result['error']}")
                    continue
                times[backend].append(result["epoch_s"])
                print(f"{family} round {round_ + 1} {backend}: epoch {result['epoch_s']:.2f} s "
                      f"(first {result['first_s']:.1f} s, jit_compile "
                      f"{result['jit_compile']})")
        if all(times.values()):
            tf, jax = (statistics.median(times[b]) for b in BACKENDS)
            print(f"{family}: median epoch TensorFlow {tf:.2f} s, JAX {jax:.2f} s; "
                  f"JAX/TensorFlow = {jax / tf:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The path to the first result: a 1-trial, 1-epoch, 300-image sweep as a user runs it, beside
a plain Keras script.

The sweep side is ``python -m cifar_search run sweeps/dropout.py --subset 300 --epochs 1
--trials 1 --workspace NEW`` in a fresh process and a new workspace, with the user cache warm
(the decoded data there from an earlier run) or cold (an empty user cache: the archive is
decoded). The process is started through a small wrapper that records when the session's steps
begin and end (it wraps the session's functions; nothing else changes), so the wall time splits
into:

* start-up: interpreter start, imports and the sweep file, up to the data;
* data: the decoded data found (warm) or decoded (cold) and checked;
* study: the Optuna study, the MLflow parent run and the sweep's lock;
* worker start: the pool opened until the trial is handed to a ready worker (the fork server
  imports TensorFlow from the session's start, beside the data and the study);
* training: the trial handed out until its result is back (model built, one epoch, checkpoint);
* finish: the rest (test evaluation, the summary's plots, the model logged and registered,
  the runs described, the process's exit), with the finish functions' own spans beside it.

The same runs with ``--check`` (the sweep's first trial in a temporary workspace without the
finish's test evaluation, plots and registry) are a third side; ``--before DIR`` adds the sweep
run from another checkout (the previous version) as a fourth.

The plain side is what a user would write without the tool: one process that imports
TensorFlow, loads the same 300 images from the decoded arrays (``load_split``, as the trial
does), builds the same model with the trial's dropout rate and fits it for one epoch with the
same validation split. The ratio is sweep seconds / plain seconds; the target is <= 1.5x with
a warm cache. The first sweep runs with an empty user cache
(cold); then each round runs every side once, the order rotating from round to round.

    python benchmarks/bench_first_result.py [--rounds 3] [--before DIR] [--data PATH]

Without ``--data`` and without ``../shared/data/cifar10-images.tar.gz``, a generated CIFAR-10
archive of 1,000 random images is used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import ROOT, median, parser

#: Runs the command line with the session's steps timed (argv: output file, spawn time, the
#: command's arguments); the spans are seconds since the spawn.
TIMED_RUN = r"""
import atexit, json, sys, time
out, t0, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
spans = {}
def mark(name, start, end=None):
    spans.setdefault(name, []).append([start - t0, (time.time() if end is None else end) - t0])
def timed(owner, attr, name, once=False):
    function = getattr(owner, attr)
    def wrapper(*args, **kwargs):
        start = time.time()
        try:
            return function(*args, **kwargs)
        finally:
            if not (once and name in spans):
                mark(name, start)
    setattr(owner, attr, wrapper)
mark("imported: first line", time.time())
def written():
    mark("exit", time.time())
    open(out, "w").write(json.dumps(spans))
from cifar_search.session import loop
from cifar_search.tracking import summary
from cifar_search.tracking.writer import Tracker
from cifar_search.execution.local import Worker
from cifar_search.execution.protocol import TrialTask
mark("imported: session", time.time())
timed(loop, "prepared", "data")
timed(loop, "open_pool", "pool opened")
timed(loop, "evaluate_best", "test evaluation (plots drawn meanwhile)")
timed(loop.Session, "_draw_ahead", "plots")
timed(loop.Session, "_on_end", "trial ended", once=True)
timed(summary, "log_study", "summary logged")
timed(Tracker, "log_best_model", "model logged and registered")
timed(summary, "describe_runs", "runs described")
send = Worker.send
def first_send(self, task):
    if isinstance(task, TrialTask) and "trial handed out" not in spans:
        mark("trial handed out", time.time())
    send(self, task)
Worker.send = first_send
from cifar_search.cli import main
from cifar_search.fast_exit import exit_quickly
def run():
    atexit.register(written)  # after exit_quickly's own handler: runs before it
    return main(argv)
exit_quickly(run)
"""

#: A user's own script: the same images, model and epoch (argv: decoded folder, subset,
#: dropout rate, output file). Prints nothing; writes its marks as seconds since the spawn.
PLAIN = r"""
import json, sys, time
t0 = float(sys.argv[5])
marks = {"start": time.time() - t0}
import tensorflow as tf
import keras
from pathlib import Path
from cifar_search.model import build, data
marks["imported"] = time.time() - t0
split = data.load_split(Path(sys.argv[1]), 0.2, int(sys.argv[2]), 0)
marks["data"] = time.time() - t0
keras.utils.set_random_seed(0)
model = build.build_model("dropout", {"dropout_rate": float(sys.argv[3])}, split.input_shape,
                          split.num_classes)
build.compile_model(model, {})
model.fit(split.x_train, split.y_train, validation_data=(split.x_val, split.y_val),
          epochs=1, batch_size=32, verbose=0)
marks["fitted"] = time.time() - t0
open(sys.argv[4], "w").write(json.dumps(marks))
"""

#: What the sweep side runs (``--data`` and ``--workspace`` added).
SWEEP_ARGS = ["run", "sweeps/dropout.py", "--subset", "300", "--epochs", "1", "--trials", "1"]


def timed_sweep(data: str, cache: Path, scratch: Path, root: Path = ROOT,
                extra: tuple[str, ...] = ()) -> dict:
    """One sweep of the checkout at ``root`` in a fresh process and a new workspace; its spans
    and wall seconds."""
    workspace = Path(tempfile.mkdtemp(prefix="ws-", dir=scratch))
    out = scratch / "spans.json"
    env = {**os.environ, "CIFAR_SEARCH_CACHE": str(cache), "PYTHONPATH": str(root)}
    start = time.time()
    done = subprocess.run([sys.executable, "-c", TIMED_RUN, str(out), repr(start), *SWEEP_ARGS,
                           *extra, "--data", data, "--workspace", str(workspace)],
                          cwd=root, env=env, capture_output=True, text=True)
    wall = time.time() - start
    if done.returncode:
        raise SystemExit(f"the sweep failed:\n{done.stdout}\n{done.stderr}")
    spans = json.loads(out.read_text())
    return {"wall": wall, "spans": spans, "stdout": done.stdout, "stderr": done.stderr}


def timed_plain(folder: Path, scratch: Path) -> dict:
    """The plain script in a fresh process; its marks and wall seconds."""
    out = scratch / "plain.json"
    start = time.time()
    done = subprocess.run([sys.executable, "-c", PLAIN, str(folder), "300", "0.15", str(out),
                           repr(start)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               "TF_CPP_MIN_LOG_LEVEL": "2"})
    wall = time.time() - start
    if done.returncode:
        raise SystemExit(f"the plain script failed:\n{done.stderr}")
    return {"wall": wall, "marks": json.loads(out.read_text())}


def steps(spans: dict, wall: float) -> dict[str, float]:
    """The sweep's wall time cut at the session's steps (see the module's docstring)."""
    def first(name: str, end: bool = True) -> float:
        return spans[name][0][1 if end else 0]

    data_start, data_end = first("data", end=False), first("data")
    pool = first("pool opened")
    handed, ended = first("trial handed out"), first("trial ended", end=False)
    return {"start-up": data_start, "data": data_end - data_start, "study": pool - data_end,
            "worker start": handed - pool, "training": ended - handed,
            "finish": wall - ended}


def finish_spans(spans: dict) -> dict[str, float]:
    """Seconds spent in each finish function (overlapping: plots run inside the evaluation)."""
    names = ["test evaluation (plots drawn meanwhile)", "plots", "summary logged",
             "model logged and registered", "runs described"]
    return {name: sum(end - start for start, end in spans[name]) for name in names
            if name in spans}


def generated_archive(folder: Path, count: int = 1000) -> Path:
    """A CIFAR-10 python archive of ``count`` random training images (and 200 test ones)."""
    import io
    import pickle
    import tarfile

    import numpy as np

    rng = np.random.default_rng(0)
    path = folder / "generated-cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        def add(name: str, n: int) -> None:
            batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                     b"labels": [int(k) for k in rng.integers(0, 10, n)]}
            blob = pickle.dumps(batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            archive.addfile(info, io.BytesIO(blob))
        for k in range(1, 6):
            add(f"data_batch_{k}", count // 5)
        add("test_batch", 200)
        names = {b"label_names": [f"class{k}".encode() for k in range(10)]}
        meta = pickle.dumps(names)
        info = tarfile.TarInfo("cifar-10-batches-py/batches.meta")
        info.size = len(meta)
        archive.addfile(info, io.BytesIO(meta))
    return path


def show(label: str, wall: float, parts: dict[str, float], plain: float) -> None:
    """One run's line: its wall time, ratio and steps."""
    cut = "  ".join(f"{name} {seconds:.1f}" for name, seconds in parts.items())
    print(f"{label:>12}: {wall:5.1f} s = {wall / plain:4.2f}x plain   ({cut})")


def main() -> None:
    """One sweep with a cold cache, then alternated rounds of the sides with a warm one."""
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--rounds", type=int, default=3)
    args.add_argument("--before", metavar="DIR",
                      help="another checkout (e.g. the previous version) run as a side too")
    options = args.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-first-"))
    data = options.data or str(generated_archive(scratch))
    cache = scratch / "cache"
    print(f"data: {data}; machine load {os.getloadavg()[0]:.1f}")
    cold = timed_sweep(data, cache, scratch)  # fills the user cache: the rounds below are warm
    folder = next(cache.glob("data/*/x_train.npy")).parent
    sides: dict[str, Callable[[], dict]] = {
        "plain": lambda: timed_plain(folder, scratch),
        "run": lambda: timed_sweep(data, cache, scratch),
        "run --check": lambda: timed_sweep(data, cache, scratch, extra=("--check",))}
    if options.before:
        before = Path(options.before).resolve()
        sides["before"] = lambda: timed_sweep(data, cache, scratch, root=before)
    results: dict[str, list[dict]] = {name: [] for name in sides}
    for k in range(options.rounds):
        order = list(sides)[k % len(sides):] + list(sides)[:k % len(sides)]
        print(f"round {k + 1} (load {os.getloadavg()[0]:.1f}), in this order: {', '.join(order)}")
        for name in order:
            results[name].append(sides[name]())
        show_round({name: runs[-1] for name, runs in results.items()})
    plain = median([p["wall"] for p in results["plain"]])
    for name, runs in results.items():
        wall = median([run["wall"] for run in runs])
        print(f"median {name}: {wall:.1f} s = {wall / plain:.2f}x plain (target <= 1.5x)")
    show("cold run", cold["wall"], steps(cold["spans"], cold["wall"]), plain)
    stray = [run["stderr"].strip() for name, runs in results.items() if name != "plain"
             for run in runs if run["stderr"].strip()]
    print("stderr of the sweeps: " + (repr(stray[0][:300]) if stray else "empty"))


def show_round(last: dict[str, dict]) -> None:
    """One round's lines: the plain script's steps, then each sweep's."""
    plain = last.pop("plain")
    marks = plain["marks"]
    print(f"{'plain':>12}: {plain['wall']:5.1f} s   (imports {marks['imported']:.1f}"
          f"  data {marks['data'] - marks['imported']:.1f}"
          f"  build+fit {marks['fitted'] - marks['data']:.1f})")
    for name, run in last.items():
        show(name, run["wall"], steps(run["spans"], run["wall"]), plain["wall"])
        finish = finish_spans(run["spans"])
        if finish:
            print(" " * 14 + "finish: " + "  ".join(f"{step} {seconds:.1f}"
                                                  for step, seconds in finish.items()))


if __name__ == "__main__":
    main()

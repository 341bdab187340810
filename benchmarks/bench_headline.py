"""Headline: the lesson's dropout loop as written vs
``python -m cifar_search run sweeps/dropout.py``.

The lesson trains its dropout CNN at five dropout rates one after the other in one Python
process, TensorFlow using every core (``model.fit`` on NumPy arrays scaled to float64, 80/20
``train_test_split``, Adam, batch 32, 10 epochs, then ``evaluate`` on the validation set). The
sweep runs the shipped ``sweeps/dropout.py`` with its default workers (``workers="auto"``: for
its five grid points, five single-threaded workers sharing the cores) in a fresh workspace:
decoding the JPEG archive, checkpoints, MLflow runs, plots and the test evaluation included.

Both are timed as whole processes (interpreter and TensorFlow start-up included), back to back,
the order alternating over ``--rounds``; the ratio is lesson seconds / sweep seconds (target >= 2x
on 2 cores). So that a ratio below 2x says why, each side also prints the images it trained per
second of wall time and per core, and the CPU seconds its processes used (the process and every
child it waited for, workers included) against the CPU seconds the cores offered in its wall
time: a side below 100% waited (on start-up, I/O, a lock, or a host that gave the cores to
someone else), and the per-core figures show how much the packed workers gain per core.

The lesson loop reads the same images as the sweep, from the sweep's decoded cache
(it cannot download CIFAR-10 here). ``--epochs`` and ``--subset`` shrink both alike for a quick
look; the headline figure is the default (10 epochs, all 50,000 training images).

    python benchmarks/bench_headline.py [--rounds 3] [--epochs 10] [--subset N] [--workers N]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from common import ROOT, median, parser

#: The lesson's loop, as written (argv: decoded-data folder, epochs, subset or 0).
LESSON_LOOP = r"""
import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from tensorflow import keras

cache, epochs, subset = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
train_images, train_labels = np.load(cache / "x_train.npy"), np.load(cache / "y_train.npy")
order = np.random.default_rng(0).permutation(len(train_images))  # the archive is by class;
train_images, train_labels = train_images[order], train_labels[order]  # Keras' copy is mixed
if subset:
    train_images, train_labels = train_images[:subset], train_labels[:subset]
train_images = train_images / 255.0
train_labels = keras.utils.to_categorical(train_labels, 10)
train_images, val_images, train_labels, val_labels = train_test_split(
    train_images, train_labels, test_size=0.2, random_state=42)


def create_model_dropout_vary(dropout_rate):
    inputs_vary = keras.Input(shape=train_images.shape[1:])
    x_vary = keras.layers.Conv2D(filters=16, kernel_size=(3, 3), activation="relu")(inputs_vary)
    x_vary = keras.layers.MaxPooling2D(pool_size=(2, 2))(x_vary)
    x_vary = keras.layers.Conv2D(filters=32, kernel_size=(3, 3), activation="relu")(x_vary)
    x_vary = keras.layers.MaxPooling2D(pool_size=(2, 2))(x_vary)
    x_vary = keras.layers.Conv2D(filters=64, kernel_size=(3, 3), activation="relu")(x_vary)
    x_vary = keras.layers.Dropout(rate=dropout_rate)(x_vary)
    x_vary = keras.layers.Flatten()(x_vary)
    outputs_vary = keras.layers.Dense(units=10, activation="softmax")(x_vary)
    return keras.Model(inputs=inputs_vary, outputs=outputs_vary, name="cifar_model_dropout_vary")


val_losses_vary = []
for dropout_rate in [0.15, 0.3, 0.45, 0.6, 0.75]:
    model_vary = create_model_dropout_vary(dropout_rate)
    model_vary.compile(optimizer=keras.optimizers.Adam(),
                       loss=keras.losses.CategoricalCrossentropy(),
                       metrics=[keras.metrics.CategoricalAccuracy()])  # Keras 3: a list
    model_vary.fit(x=train_images, y=train_labels, batch_size=32, epochs=epochs,
                   validation_data=(val_images, val_labels), verbose=0)
    val_loss_vary, val_acc_vary = model_vary.evaluate(val_images, val_labels, verbose=0)
    val_losses_vary.append(val_loss_vary)
print("val_loss", [round(v, 4) for v in val_losses_vary])
"""


@dataclass(frozen=True)
class Timing:
    """One side's whole process: wall seconds and the CPU seconds it and its children used."""

    wall: float
    cpu: float
    host_busy: float
    output: str

    def line(self, images: int) -> str:
        """Throughput per second and per core, and the share of the cores' time it used."""
        cores = os.cpu_count() or 1
        per_second = images / self.wall
        own = self.cpu / (self.wall * cores)
        return (f"{per_second:,.0f} img/s, {per_second / cores:,.0f} per core; CPU "
                f"{self.cpu:.0f} s of {self.wall * cores:.0f} s offered "
                f"({self.cpu / (self.wall * cores):.0%} busy; the whole machine "
                f"{self.host_busy:.0%}, so other work {max(0.0, self.host_busy - own):.0%})")


def host_ticks() -> tuple[int, int]:
    """The machine's busy and total CPU ticks since boot, all cores (``/proc/stat``)."""
    ticks = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return sum(ticks) - idle, sum(ticks)


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds so far (user + system, each process's own) of ``root`` and every live
    descendant, from ``/proc``. Reaped children's seconds are left out: a worker reaped by the
    fork server would otherwise count twice, in its own figure and in the server's."""
    parents, seconds = {}, {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while being read
            continue
        parents[int(entry.name)] = int(fields[1])
        seconds[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    tree, grown = {root}, True
    while grown:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree, grown = tree | found, bool(found)
    return {pid: seconds[pid] for pid in tree if pid in seconds}


def timed(argv: list[str], cwd: Path) -> Timing:
    """A command's wall and CPU seconds, and its output; stops the benchmark if it fails.

    CPU is the most each process of the command's tree was seen to use, polled every half
    second: the sweep's fork server is not waited for by the sweep, so the kernel's count of
    reaped children would miss its workers. Up to the last half second of each process is
    missed (a process that lives under half a second, wholly).
    """
    seen: dict[int, float] = {}
    host_before = host_ticks()
    started = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    poller = threading.Thread(target=_poll, args=(child, seen), daemon=True)
    poller.start()
    out, err = child.communicate()
    seconds = time.perf_counter() - started
    busy, total = (after - before for after, before in zip(host_ticks(), host_before,
                                                           strict=True))
    poller.join()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed:\n{out}\n{err}")
    return Timing(seconds, sum(seen.values()), busy / max(total, 1), out)


def _poll(child: subprocess.Popen, seen: dict[int, float]) -> None:
    """Keeps the largest CPU seconds seen of each process in ``child``'s tree until it ends."""
    while child.poll() is None:
        for pid, cpu in tree_cpu(child.pid).items():
            seen[pid] = max(cpu, seen.get(pid, 0.0))
        time.sleep(0.5)


def images_trained(epochs: int, subset: int | None) -> int:
    """Images both sides train on: five models, ``epochs`` each, over the 80% of the training
    images not held out for validation (validation and test passes not counted)."""
    return 5 * epochs * int(0.8 * (subset or 50_000))


def decoded_cache(source: str) -> Path:
    """The decoded-data folder of ``source`` (decoded once into a scratch workspace for the
    lesson loop; the sweep decodes again into its own fresh workspace)."""
    from cifar_search.model import data

    return data.prepared(source, Path(tempfile.mkdtemp(prefix="cifar-lesson-")))


def lesson(cache: Path, epochs: int, subset: int | None) -> float:
    run = timed([sys.executable, "-c", LESSON_LOOP, str(cache), str(epochs), str(subset or 0)],
                ROOT)
    print(f"  lesson loop: {run.wall:.0f} s; {run.line(images_trained(epochs, subset))}; "
          f"{run.output.strip()}", flush=True)
    return run.wall


def sweep(source: str, epochs: int, subset: int | None, workers: str | None) -> float:
    workspace = tempfile.mkdtemp(prefix="cifar-headline-")
    argv = [sys.executable, "-m", "cifar_search", "run", "sweeps/dropout.py", "--data", source,
            "--workspace", workspace, "--epochs", str(epochs)]
    argv += (["--subset", str(subset)] if subset else []) + (["--workers", workers] if workers
                                                              else [])
    run = timed(argv, ROOT)
    moved = [line.strip() for line in run.output.splitlines() if "goes on with" in line]
    print(f"  cifar_search run sweeps/dropout.py: {run.wall:.0f} s; "
          f"{run.line(images_trained(epochs, subset))}; {'; '.join(moved)}", flush=True)
    return run.wall


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--rounds", type=int, default=3)
    args.add_argument("--epochs", type=int, default=10)
    args.add_argument("--subset", type=int, default=None, help="training images (default all)")
    args.add_argument("--workers", default=None, help="the sweep's workers (default: its own)")
    opts = args.parse_args()
    if opts.data is None:
        raise SystemExit("--data: give the CIFAR-10 archive (the lesson cannot download it)")
    from cifar_search import load_sweep
    from cifar_search.engines import worker_count

    given = opts.workers if opts.workers in (None, "auto") else int(opts.workers)
    workers = worker_count(load_sweep(ROOT / "sweeps" / "dropout.py").override(workers=given))
    cache = decoded_cache(opts.data)
    ratios = []
    for number in range(opts.rounds):
        first_lesson = number % 2 == 0
        times = {}
        for which in (("lesson", "sweep") if first_lesson else ("sweep", "lesson")):
            times[which] = (lesson(cache, opts.epochs, opts.subset) if which == "lesson"
                            else sweep(opts.data, opts.epochs, opts.subset, opts.workers))
        ratios.append(times["lesson"] / times["sweep"])
        print(f"headline round {number + 1}: lesson {times['lesson']:.0f} s / sweep "
              f"{times['sweep']:.0f} s = {ratios[-1]:.2f}x", flush=True)
    shown = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"headline: the dropout sweep ({workers} workers) runs {median(ratios):.2f}x the "
          f"lesson loop's speed, median of {opts.rounds} alternated rounds [{shown}] "
          f"(target >= 2x; {opts.epochs} epochs, "
          f"{opts.subset or 'all'} training images)")


if __name__ == "__main__":
    main()

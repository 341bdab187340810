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
on 2 cores). The lesson loop reads the same images as the sweep, from the sweep's decoded cache
(it cannot download CIFAR-10 here). ``--epochs`` and ``--subset`` shrink both alike for a quick
look; the headline figure is the default (10 epochs, all 50,000 training images).

    python benchmarks/bench_headline.py [--rounds 3] [--epochs 10] [--subset N] [--workers N]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
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


def timed(argv: list[str], cwd: Path) -> tuple[float, str]:
    """Wall seconds of a command, and its output; stops the benchmark if it fails."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def decoded_cache(source: str) -> Path:
    """The decoded-data folder of ``source`` (decoded once into a scratch workspace for the
    lesson loop; the sweep decodes again into its own fresh workspace)."""
    from cifar_search.model import data

    return data.prepared(source, Path(tempfile.mkdtemp(prefix="cifar-lesson-")))


def lesson(cache: Path, epochs: int, subset: int | None) -> float:
    seconds, out = timed([sys.executable, "-c", LESSON_LOOP, str(cache), str(epochs),
                          str(subset or 0)], ROOT)
    print(f"  lesson loop: {seconds:.0f} s; {out.strip()}", flush=True)
    return seconds


def sweep(source: str, epochs: int, subset: int | None, workers: str | None) -> float:
    workspace = tempfile.mkdtemp(prefix="cifar-headline-")
    argv = [sys.executable, "-m", "cifar_search", "run", "sweeps/dropout.py", "--data", source,
            "--workspace", workspace, "--epochs", str(epochs)]
    argv += (["--subset", str(subset)] if subset else []) + (["--workers", workers] if workers
                                                              else [])
    seconds, out = timed(argv, ROOT)
    moved = [line.strip() for line in out.splitlines() if "goes on with" in line]
    print(f"  cifar_search run sweeps/dropout.py: {seconds:.0f} s; {'; '.join(moved)}",
          flush=True)
    return seconds


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

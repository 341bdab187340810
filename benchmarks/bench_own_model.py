"""B1/B5 for a sweep's own model: what a user's model function costs against the built-in
family with the same layers.

Side by side in one run: two sweep files, one naming the built-in ``dropout`` family, one
defining the same CNN as a plain Keras function (softmax output, as a user writes it), each
loaded as ``run`` loads it and run on the same data with one worker. Prints, for each, the
median epoch time (first epoch left out: graph tracing) and the time outside training (loading
the sweep file, the model check, stores, worker start-up, bookkeeping, the end), and the
ratios own / family (target: 1.03 for epochs, as B1; no more outside training). Each side runs
once unmeasured first (the process's first run starts the fork server and fills the caches);
rounds alternate which runs first: this machine's speed drifts between minutes.

    python benchmarks/bench_own_model.py [--subset 10000] [--epochs 3] [--trials 2] [--rounds 3]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import child_metrics, median, parser, workspace

SWEEP = """
import keras
from keras import layers

from cifar_search import Budget, Data, Sweep


def build(params, input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(16, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Dropout(params["dropout_rate"])(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


sweep = Sweep(name="NAME", space={"parameters": {"dropout_rate": {"choices": [0.3]},
                                                  "filters": 16}},
              model=MODEL, data=Data(subset=SUBSET), budget=Budget(epochs=EPOCHS),
              sampler="random", trials=TRIALS, workers=1)
"""


def one_side(folder: Path, ws, name: str, model: str, opts) -> tuple[float, float]:
    """(median epoch seconds, seconds outside training) of one sweep run as ``run`` runs it."""
    from cifar_search import engines
    from cifar_search.engines.optuna.coordinator import Coordinator

    path = folder / f"{name}.py"
    path.write_text(SWEEP.replace("NAME", name).replace("MODEL", model)
                    .replace("SUBSET", str(opts.subset)).replace("EPOCHS", str(opts.epochs))
                    .replace("TRIALS", str(opts.trials)))
    started = time.perf_counter()
    sweep = engines.load(path).override(data=opts.data)
    Coordinator(sweep, ws, say=lambda line: None).run()
    wall = time.perf_counter() - started
    epochs = child_metrics(ws, name, "epoch_seconds")
    training = sum(sum(trial) for trial in epochs)
    return median([t for trial in epochs for t in trial[1:]]), wall - training


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--subset", type=int, default=10_000)
    args.add_argument("--epochs", type=int, default=3)
    args.add_argument("--trials", type=int, default=2)
    args.add_argument("--rounds", type=int, default=3)
    opts = args.parse_args()
    ws = workspace(opts.workspace)
    from cifar_search.model import data

    data.prepared(opts.data, ws.decoded_data)  # decoded before either side's clock starts
    folder = Path(tempfile.mkdtemp(prefix="cifar-bench-own-"))
    for side, model in (("family", '"dropout"'), ("own", "build")):  # the fork server, the
        one_side(folder, ws, f"own-b-warm-{side}", model, opts)  # imports and caches: warm
    epoch_ratios, outside_ratios = [], []
    for r in range(1, opts.rounds + 1):
        sides = [("family", '"dropout"'), ("own", "build")]
        if r % 2 == 0:
            sides.reverse()
        measured = {side: one_side(folder, ws, f"own-b-{side}-{r}", model, opts)
                    for side, model in sides}
        (fe, fo), (oe, oo) = measured["family"], measured["own"]
        epoch_ratios.append(oe / fe)
        outside_ratios.append(oo / fo)
        print(f"round {r}: family {fe:.3f} s/epoch, {fo:.1f} s outside training; own "
              f"{oe:.3f} s/epoch, {oo:.1f} s outside training; own/family {oe / fe:.3f}x "
              f"epochs, {oo / fo:.3f}x outside")
    print(f"B1 own model / family epoch time = {median(epoch_ratios):.3f}, median of "
          f"{[round(x, 3) for x in epoch_ratios]} (target <= 1.03)")
    print(f"B5 own model / family time outside training = {median(outside_ratios):.3f}, "
          f"median of {[round(x, 3) for x in outside_ratios]}")


if __name__ == "__main__":
    main()

"""Shared helpers of the benchmark scripts: data, sweeps built in code, MLflow read-back."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cifar_search import Budget, Data, Objective, Sweep  # noqa: E402
from cifar_search.config.space import Space  # noqa: E402
from cifar_search.workspace import Workspace  # noqa: E402

#: The real CIFAR-10 beside a checkout, when it is there.
SHARED_DATA = ROOT.parent / "shared" / "data" / "cifar10-images.tar.gz"


def parser(description: str) -> argparse.ArgumentParser:
    """Arguments every benchmark takes."""
    args = argparse.ArgumentParser(description=description)
    args.add_argument("--data", default=str(SHARED_DATA) if SHARED_DATA.exists() else None,
                      help="CIFAR-10 source (default: ../shared/data/cifar10-images.tar.gz)")
    args.add_argument("--workspace", default=None, help="workspace (default: a temp folder)")
    return args


def workspace(path: str | None) -> Workspace:
    """The given workspace, or a fresh temporary one."""
    return Workspace.at(path or tempfile.mkdtemp(prefix="cifar-bench-"))


def sweep(name: str, parameters: dict[str, Any], *, model: str = "dropout", epochs: int = 3,
          batch_size: int = 32, subset: int | None = None, data: str | None = None,
          validation: float = 0.2, workers: int = 1, trials: int | None = None,
          sampler: str = "grid",
          pruner: str = "none", metric: str = "val_loss", same_seed: bool = False,
          seed: int = 0, repeats: int = 1) -> Sweep:
    """A validated sweep built in code."""
    return Sweep(name=name, space=Space.from_dict({"parameters": parameters}), model=model,
                 data=Data(source=data, subset=subset, validation=validation),
                 budget=Budget(epochs, batch_size), objective=Objective(metric), sampler=sampler,
                 pruner=pruner, trials=trials, workers=workers, same_seed=same_seed, seed=seed,
                 repeats=repeats)


def run(sweep_: Sweep, ws: Workspace) -> float:
    """Run a sweep quietly; return its wall time in seconds."""
    import time

    from cifar_search.engines.optuna.coordinator import Coordinator

    started = time.perf_counter()
    Coordinator(sweep_, ws, say=lambda line: None).run()
    return time.perf_counter() - started


def child_metrics(ws: Workspace, experiment: str, key: str) -> list[list[float]]:
    """Each child run's history of metric ``key``, ordered by trial."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=ws.mlflow_url)
    exp = client.get_experiment_by_name(experiment)
    runs = [r for r in client.search_runs([exp.experiment_id], max_results=10_000)
            if "mlflow.parentRunId" in r.data.tags]
    runs.sort(key=lambda r: int(r.data.tags["optuna.trial_number"]))
    return [[m.value for m in sorted(client.get_metric_history(r.info.run_id, key),
                                     key=lambda m: m.step)] for r in runs]


#: A hand-written ``model.fit`` of the dropout CNN: argv = cache, subset, epochs, threads,
#: steps_per_execution. Prints each epoch's seconds as JSON.
PLAIN_FIT = r"""
import json, os, sys, time
threads = int(sys.argv[4])
for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ[name] = str(threads)
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
import keras
from pathlib import Path
from cifar_search.model import build, data
split = data.load_split(Path(sys.argv[1]), 0.2, int(sys.argv[2]), 0)
keras.utils.set_random_seed(0)
model = build.build_model("dropout", {"dropout_rate": 0.3}, split.input_shape, split.num_classes)
build.compile_model(model, {}, steps_per_execution=int(sys.argv[5]))
times = []
class Timer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None): self.t = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None): times.append(time.perf_counter() - self.t)
model.fit(split.x_train, split.y_train, validation_data=(split.x_val, split.y_val),
          epochs=int(sys.argv[3]), batch_size=32, verbose=0, callbacks=[Timer()])
print(json.dumps(times))
"""


def plain_fits(cache: Path, subset: int, epochs: int, threads: int, processes: int = 1,
               steps_per_execution: int = 1, pin: bool = False) -> list[list[float]]:
    """Epoch times of ``processes`` hand-written ``model.fit`` runs started together, each in
    a fresh process with ``threads`` threads (NumPy arrays in, Keras' own input pipeline);
    ``pin`` binds process i to core i (``taskset``)."""
    import json
    import subprocess

    argv = [sys.executable, "-c", PLAIN_FIT, str(cache), str(subset), str(epochs), str(threads),
            str(steps_per_execution)]
    running = [subprocess.Popen((["taskset", "-c", str(i)] if pin else []) + argv, cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
               for i in range(processes)]
    outputs = [process.communicate()[0] for process in running]
    if any(process.returncode for process in running):
        raise SystemExit("a plain model.fit process failed")
    return [json.loads(out) for out in outputs]


def median(values: list[float]) -> float:
    return statistics.median(values)

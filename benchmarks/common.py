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
from cifar_search.space import Space  # noqa: E402
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
          workers: int = 1, trials: int | None = None, sampler: str = "grid",
          pruner: str = "none", metric: str = "val_loss") -> Sweep:
    """A validated sweep built in code."""
    return Sweep(name=name, space=Space.from_dict({"parameters": parameters}), model=model,
                 data=Data(source=data, subset=subset), budget=Budget(epochs, batch_size),
                 objective=Objective(metric), sampler=sampler, pruner=pruner, trials=trials,
                 workers=workers)


def run(sweep_: Sweep, ws: Workspace) -> float:
    """Run a sweep quietly; return its wall time in seconds."""
    import time

    from cifar_search.runner import Coordinator

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


def median(values: list[float]) -> float:
    return statistics.median(values)

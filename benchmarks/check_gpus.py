"""GPU check: what the backend sees, trials spread over the GPUs as asked, and throughput.

1. Lists the GPUs ``nvidia-smi`` shows and those TensorFlow sees (in a child process: this one
   never initialises a GPU), and the run's first-line warning when the install cannot use them.
2. Runs a 2-worker sweep (4 trials of one epoch on synthetic images) with ``gpus_per_trial``
   1 and then 0.5, and asserts from the runs' ``resolved.device``, ``resolved.gpus`` and
   ``resolved.gpu_memory_mb`` that the trials trained on the GPUs and memory caps
   :func:`cifar_search.execution.placement.place` gives.
3. Prints images/s and trials/hour for 1, 2 and 4 trials packed on GPU 0, each process set
   up as a sweep's worker at ``gpus_per_trial`` 1, 0.5 and 0.25 (``bench_gpu.py``'s part B).

    python benchmarks/check_gpus.py [--images 4000] [--family vgg] [--json PATH]

Without a GPU it says so in one line and exits 0. ``--simulate N`` pretends ``nvidia-smi``
lists N GPUs (to test the script on a CPU: workers get their ``CUDA_VISIBLE_DEVICES`` and train
on the CPU; devices are then not asserted, only what each worker was given). Exit 1 when a
check fails. About 3-5 minutes on one H100.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import ROOT  # noqa: F401  (puts the checkout on sys.path)

from cifar_search import Budget, Compute, Data, Objective, Sweep
from cifar_search.config.space import Space
from cifar_search.execution import devices, gpu_build
from cifar_search.execution.gpus import Gpu
from cifar_search.execution.placement import gpu_workers, place, trials_per_gpu
from cifar_search.workspace import Workspace

#: ``gpus_per_trial`` of the sweep check, and of the throughput rows (1, 2, 4 per GPU).
SWEEP_SHARES = (1, 0.5)
PACKED_SHARES = (1, 0.5, 0.25)

#: What TensorFlow sees, printed by a child process (listing initialises CUDA there).
LIST_DEVICES = """
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
for gpu in tf.config.list_physical_devices("GPU"):
    name = tf.config.experimental.get_device_details(gpu).get("device_name", "unknown")
    print(gpu.name, name)
print("built with CUDA:", tf.test.is_built_with_cuda())
"""


def arguments() -> argparse.Namespace:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--images", type=int, default=4000, help="synthetic training images")
    args.add_argument("--family", default="vgg", help="model family (vgg)")
    args.add_argument("--batch", type=int, default=128, help="images per step (128)")
    args.add_argument("--simulate", type=int, default=0, metavar="N",
                      help="pretend nvidia-smi lists N GPUs of 16 GiB (a test on a CPU)")
    args.add_argument("--skip-throughput", action="store_true", help="checks only")
    args.add_argument("--json", help="write the results here")
    return args.parse_args()


def backend_view() -> list[str]:
    """What TensorFlow sees, one line per GPU, from a child process."""
    done = subprocess.run([sys.executable, "-c", LIST_DEVICES], capture_output=True,
                          text=True, timeout=300, check=False)
    return done.stdout.strip().splitlines() or [f"(failed: {done.stderr.strip()[-300:]})"]


def synthetic_npz(folder: Path, images: int) -> Path:
    """A 10-class data set of random 32x32x3 images (speed only, not accuracy)."""
    import numpy as np

    rng = np.random.default_rng(0)
    path = folder / "synthetic.npz"
    test = max(100, images // 10)
    np.savez(path, x_train=rng.integers(0, 256, (images, 32, 32, 3), dtype=np.uint8),
             y_train=np.arange(images) % 10,
             x_test=rng.integers(0, 256, (test, 32, 32, 3), dtype=np.uint8),
             y_test=np.arange(test) % 10)
    return path


def sweep_check(gpus: tuple[Gpu, ...], share: float, data: Path, folder: Path,
                opts: argparse.Namespace) -> dict[str, Any]:
    """Run a 2-worker sweep at ``gpus_per_trial=share``; compare its runs with the plan."""
    from cifar_search.engines.optuna.coordinator import Coordinator

    workers = min(2, gpu_workers(gpus, share))
    name = f"gpus-{share:g}"
    sweep = Sweep(name=name, space=Space.from_dict(
                      {"parameters": {"dropout_rate": {"grid": [0.1, 0.2, 0.3, 0.4]}}}),
                  model=opts.family, data=Data(source=str(data), validation=0.1),
                  budget=Budget(1, opts.batch), objective=Objective("val_loss"),
                  sampler="grid", workers=workers, register=False,
                  compute=Compute(gpus_per_trial=share, data_parallel=share > 1))
    workspace = Workspace.at(folder / name)
    Coordinator(sweep, workspace, say=lambda line: None).run()
    runs = trial_runs(workspace, name)
    planned = place(gpus, workers, share)
    expected = {"gpus": sorted({",".join(str(g.index) for g in p.gpus) for p in planned}),
                "memory": sorted({str(p.memory_mib) for p in planned if p.memory_mib})}
    seen = {"gpus": sorted({r.get("resolved.gpus", "") for r in runs}),
            "memory": sorted({r["resolved.gpu_memory_mb"] for r in runs
                              if "resolved.gpu_memory_mb" in r}),
            "devices": sorted({r.get("resolved.device", "?") for r in runs})}
    problems = []
    if len(runs) != 4:
        problems.append(f"{len(runs)} runs, not 4")
    if seen["gpus"] != expected["gpus"] or seen["memory"] != expected["memory"]:
        problems.append(f"workers were given {seen}, planned {expected}")
    if not opts.simulate:
        for run in runs:
            device, given = run.get("resolved.device", "?"), run.get("resolved.gpus", "")
            if not device.startswith(f"GPU:{given} "):
                problems.append(f"a trial given GPU {given} trained on {device}")
                break
    return {"gpus_per_trial": share, "workers": workers, "runs": len(runs),
            "expected": expected, "seen": seen, "problems": problems}


def trial_runs(workspace: Workspace, experiment: str) -> list[dict[str, str]]:
    """The params of the experiment's trial runs."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(workspace.mlflow_url)
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], max_results=100) if found else []
    return [run.data.params for run in runs if "resolved.device" in run.data.params]


def throughput(gpu: Gpu, opts: argparse.Namespace) -> list[dict[str, Any]]:
    """Images/s and trials/hour of 1, 2 and 4 processes on ``gpu``, placed as workers are."""
    from bench_gpu import run_packed

    from cifar_search.execution.placement import worker_env

    rows = []
    for share in PACKED_SHARES:
        count = trials_per_gpu(share)
        envs = [worker_env(p) for p in place((gpu,), count, share)]
        settings = {"family": opts.family, "images": opts.images, "batch": opts.batch,
                    "epochs": 1, "mixed": False, "gpu_memory_mb": None,
                    "backend": "tensorflow", "jax_memory_fraction": None, "envs": envs}
        rows.append({"trials_per_gpu": count, **run_packed(count, settings)})
    return rows


def main() -> int:
    opts = arguments()
    gpus = (tuple(Gpu(i, "simulated", 16384) for i in range(opts.simulate)) if opts.simulate
            else devices.run_gpus(Compute()))
    if not gpus:
        print("check_gpus: no GPU here (nvidia-smi lists none); nothing to check")
        return 0
    if opts.simulate:
        devices.discover = lambda: gpus  # type: ignore[assignment]  (what workers are given)
    print("nvidia-smi: " + "; ".join(f"{g.index}: {g.name}, {g.memory_mib} MiB" for g in gpus))
    print("TensorFlow sees: " + "; ".join(backend_view()))
    warning = gpu_build.unusable_gpu_line(gpus, gpu_build.installed())
    if warning and not opts.simulate:
        print(warning)
    results: dict[str, Any] = {"gpus": [g.__dict__ for g in gpus], "sweeps": []}
    with tempfile.TemporaryDirectory(prefix="check-gpus-") as folder:
        data = synthetic_npz(Path(folder), opts.images)
        for share in SWEEP_SHARES:
            check = sweep_check(gpus, share, data, Path(folder), opts)
            results["sweeps"].append(check)
            verdict = "ok" if not check["problems"] else "FAILED: " + "; ".join(
                check["problems"])
            print(f"gpus_per_trial={share:g}, {check['workers']} workers: trials on "
                  f"{', '.join(check['seen']['devices'])}; given GPUs {check['seen']['gpus']}, "
                  f"memory caps {check['seen']['memory'] or 'none'} MiB: {verdict}")
    if not opts.skip_throughput:
        rows = results["throughput"] = throughput(gpus[0], opts)
        print(f"\n{opts.family}, {opts.images} images, batch {opts.batch}, on GPU "
              f"{gpus[0].index}; a trial = 10 epochs")
        print(f"{'trials/GPU':>10}{'images/s':>12}{'trials/hour':>13}")
        for row in rows:
            if "error" in row:
                print(f"{row['trials_per_gpu']:>10}  error: {row['error']}")
            else:
                print(f"{row['trials_per_gpu']:>10}{row['images_per_s']:>12,.0f}"
                      f"{row['trials_per_hour']:>13,.1f}")
    if opts.json:
        Path(opts.json).write_text(json.dumps(results, indent=2, default=str))
    failed = any(check["problems"] for check in results["sweeps"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

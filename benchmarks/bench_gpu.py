"""GPU: images/s of each model family with mixed precision and XLA, and trials packed on a GPU.

Part A: for each model family (its defaults), images/s of ``model.fit`` on synthetic 32x32x3
images for mixed precision off/on x XLA off/on; the last of ``--epochs`` epochs is timed (the
first traces and compiles). Part B: N processes at once (spawned, each with GPU memory growth or
``--gpu-memory-mb``, as sweep workers are), each training the vgg family on its own synthetic
images after a warm-up epoch; prints aggregate images/s and trials/hour against N=1. Models,
compilation and GPU set-up are cifar_search's own (``model.build``, ``worker.configure_gpus``).

    python benchmarks/bench_gpu.py [--quick] [--json PATH] [--part a|b|all] [--backend jax]

Without a visible GPU it says so and exits 0; ``--cpu-ok`` runs it on the CPU anyway (to test
the script, with small ``--images``). About 5 minutes on an H100 or H200; ``--quick`` about 2.

Backends: sweeps train on TensorFlow, and that is what the script measures by default. Where
TensorFlow is not installed but JAX is, ``--backend jax`` (or ``KERAS_BACKEND=jax``) measures the
same models and settings on Keras's JAX backend, without importing TensorFlow. On JAX every train
step is XLA-compiled already (``jit_compile=True``); ``jit_compile=False`` there runs the step op
by op, eagerly, which is not what "XLA off" means on TensorFlow (graph mode without XLA). So by
default part A measures only float32 and mixed_float16 with jit on JAX (``--jax-eager`` adds the
eager columns), and part B's processes skip ``configure_gpus`` (TensorFlow's) and leave JAX's
GPU memory unclaimed until used (``XLA_PYTHON_CLIENT_PREALLOCATE=false``), or cap each at
``--gpu-memory-mb`` (``XLA_PYTHON_CLIENT_MEM_FRACTION``). JAX numbers are not TensorFlow numbers:
compare them with each other only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from typing import Any

from common import ROOT  # noqa: F401  (puts the checkout on sys.path)

FAMILIES = ("intro", "dropout", "vgg", "bnnet", "resnet")

#: (mixed precision, XLA) settings of part A, in table order.
SETTINGS = ((False, False), (False, True), (True, False), (True, True))

#: Part A on JAX: jit only (``--jax-eager`` adds SETTINGS' eager ones).
JAX_SETTINGS = ((False, True), (True, True))

BACKENDS = ("tensorflow", "jax")

#: Defaults: (full run, --quick). Images are rounded down to whole batches.
DEFAULTS = {
    "images": (20_000, 5_000),        # synthetic training images per run / per process
    "epochs": (2, 2),                 # part A epochs per run; the last is timed
    "processes": ("1,2,4,8", "1,2,4"),  # part B: processes training at once
    "pack_epochs": (2, 1),            # part B: timed epochs per process, after one warm-up
}

#: Epochs of one trial, for trials/hour (the default budget of a sweep).
TRIAL_EPOCHS = 10

#: Seconds a part B process waits for the others to be ready before giving up.
BARRIER_SECONDS = 300


def arguments() -> argparse.Namespace:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--quick", action="store_true", help="fewer images and processes")
    args.add_argument("--cpu-ok", action="store_true", help="run without a GPU (a test)")
    args.add_argument("--part", choices=("a", "b", "all"), default="all")
    args.add_argument("--images", type=int, help="synthetic images (20000; quick 5000)")
    args.add_argument("--batch", type=int, default=128, help="images per step (128)")
    args.add_argument("--epochs", type=int, help="part A epochs per run, last timed (2)")
    args.add_argument("--families", default=",".join(FAMILIES), help="part A families")
    args.add_argument("--processes", help="part B process counts (1,2,4,8; quick 1,2,4)")
    args.add_argument("--pack-family", default="vgg", help="part B family (vgg)")
    args.add_argument("--pack-epochs", type=int, help="part B timed epochs (2; quick 1)")
    args.add_argument("--pack-mixed-precision", action="store_true",
                      help="part B trains under mixed_float16 (default float32)")
    args.add_argument("--gpu-memory-mb", type=int, default=None,
                      help="part B per-process GPU memory limit (default: memory growth)")
    args.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    args.add_argument("--backend", choices=BACKENDS,
                      default=os.environ.get("KERAS_BACKEND") or "tensorflow",
                      help="Keras backend (default: $KERAS_BACKEND, else tensorflow)")
    args.add_argument("--jax-eager", action="store_true",
                      help="on JAX, part A also runs jit_compile=False (eager, op by op: slow)")
    opts = args.parse_args()
    if opts.backend not in BACKENDS:
        args.error(f"backend {opts.backend!r} (from KERAS_BACKEND) is not one of "
                   f"{', '.join(BACKENDS)}")
    for key, (full, quick) in DEFAULTS.items():
        if getattr(opts, key) is None:
            setattr(opts, key, quick if opts.quick else full)
    opts.images = max(opts.batch, opts.images // opts.batch * opts.batch)
    opts.families = [f for f in opts.families.split(",") if f]
    opts.processes = [int(n) for n in str(opts.processes).split(",") if n]
    return opts


def synthetic(images: int, seed: int) -> tuple[Any, Any]:
    """Random 32x32x3 float32 images in [0, 1) and labels 0-9 (throughput only)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.random((images, 32, 32, 3), dtype=np.float32), rng.integers(0, 10, images)


def settings(opts: argparse.Namespace) -> tuple[tuple[bool, bool], ...]:
    """Part A's (mixed precision, XLA) settings on this backend, in table order."""
    if opts.backend == "jax" and not opts.jax_eager:
        return JAX_SETTINGS
    return SETTINGS


def setting_name(backend: str, mixed: bool, xla: bool) -> str:
    """A table column: fp32, fp32+xla, mixed, mixed+xla (TensorFlow); fp32 jit, ... (JAX)."""
    precision = "mixed" if mixed else "fp32"
    if backend == "jax":
        return f"{precision} {'jit' if xla else 'eager'}"
    return precision + ("+xla" if xla else "")


def gpu_memory_peak_mib(backend: str = "tensorflow") -> float | None:
    """Peak GPU memory this process allocated, or None without a GPU."""
    if backend == "jax":
        import jax

        device = jax.local_devices()[0]
        stats = device.memory_stats() if device.platform == "gpu" else None
        if not stats or "peak_bytes_in_use" not in stats:
            return None
        return stats["peak_bytes_in_use"] / 2**20
    import tensorflow as tf

    if not tf.config.list_logical_devices("GPU"):
        return None
    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


def nvidia_smi() -> dict[str, Any]:
    """nvidia-smi's name, memory and driver of GPU 0, and the driver's CUDA version."""
    info: dict[str, Any] = {}
    try:
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
             "--format=csv,noheader"], capture_output=True, text=True, timeout=30, check=True)
        info["nvidia_smi"] = smi.stdout.strip().splitlines()[0]
        header = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=30)
        found = re.search(r"CUDA Version:\s*([\d.]+)", header.stdout)
        if found:
            info["driver_cuda"] = found.group(1)
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    return info


def gpu_memory_total_mib() -> float | None:
    """Total memory of GPU 0 by nvidia-smi, or None."""
    found = re.search(r",\s*(\d+)\s*MiB", nvidia_smi().get("nvidia_smi", ""))
    return float(found.group(1)) if found else None


def describe_jax_machine() -> dict[str, Any]:
    """GPU name and memory; JAX, jaxlib, CUDA, cuDNN and Keras versions (no TensorFlow)."""
    import jax
    import keras
    from jaxlib.version import __version__ as jaxlib_version

    info: dict[str, Any] = {"backend": "jax", "jax": jax.__version__,
                            "jaxlib": jaxlib_version, "keras": keras.__version__}
    devices = jax.devices()
    gpus = [d for d in devices if d.platform == "gpu"]
    info["gpus"] = len(gpus)
    if gpus:
        info["gpu"] = gpus[0].device_kind
        capability = getattr(gpus[0], "compute_capability", None)
        if capability:
            info["compute_capability"] = str(capability)
        try:
            info["platform_version"] = gpus[0].client.platform_version
        except Exception:  # noqa: BLE001 (best effort: the report goes on without it)
            pass
        try:
            from jax._src.lib import cuda_versions  # not public: versions are best effort

            if cuda_versions is not None:
                info["cuda"] = cuda_versions.cuda_runtime_get_version()
                info["cudnn"] = cuda_versions.cudnn_get_version()
        except Exception:  # noqa: BLE001 (a private module: versions are best effort)
            pass
    else:
        info["devices"] = [str(d) for d in devices]
    info.update(nvidia_smi())
    return info


def describe_machine() -> dict[str, Any]:
    """GPU name, memory and driver; TensorFlow, CUDA and Keras versions."""
    import keras
    import tensorflow as tf

    info: dict[str, Any] = {"tensorflow": tf.__version__, "keras": keras.__version__}
    build = tf.sysconfig.get_build_info()
    info["cuda"] = build.get("cuda_version")
    info["cudnn"] = build.get("cudnn_version")
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        info["gpu"] = details.get("device_name", "unknown")
        info["compute_capability"] = ".".join(map(str, details.get("compute_capability", ())))
        info["gpus"] = len(gpus)
    try:
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
             "--format=csv,noheader"], capture_output=True, text=True, timeout=30, check=True)
        info["nvidia_smi"] = smi.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    return info


class EpochTimer:
    """Wall time of each epoch (a Keras callback, built lazily so that Keras loads late)."""

    @staticmethod
    def make() -> Any:
        import keras

        class Timer(keras.callbacks.Callback):
            def __init__(self) -> None:
                super().__init__()
                self.times: list[float] = []

            def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
                self.started = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                self.times.append(time.perf_counter() - self.started)  # logs are synced

        return Timer()


# --------------------------------------------------------------------------------------------
# Part A: one family, one setting, in this process
# --------------------------------------------------------------------------------------------


def fit_throughput(family: str, mixed: bool, xla: bool, x: Any, y: Any, batch: int,
                   epochs: int) -> dict[str, Any]:
    """Images/s of the last epoch of ``model.fit`` for one family and setting."""
    import keras

    from cifar_search.model import build

    keras.backend.clear_session()
    build.set_precision(mixed)
    keras.utils.set_random_seed(0)
    model = build.build_model(family, {}, x.shape[1:], 10)
    build.compile_model(model, {}, xla)
    timer = EpochTimer.make()
    model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0, callbacks=[timer])
    # What compiled, read back as build.describe does (without its TensorFlow device lookup).
    return {"family": family, "mixed_precision": mixed, "xla": xla,
            "jit_compile": bool(model.jit_compile), "dtype_policy": model.dtype_policy.name,
            "params": int(model.count_params()), "first_epoch_s": round(timer.times[0], 3),
            "epoch_s": round(timer.times[-1], 4),
            "images_per_s": round(len(x) / timer.times[-1], 1)}


def part_a(opts: argparse.Namespace) -> list[dict[str, Any]]:
    x, y = synthetic(opts.images, 0)
    rows = []
    for family in opts.families:
        for mixed, xla in settings(opts):
            try:
                rows.append(fit_throughput(family, mixed, xla, x, y, opts.batch, opts.epochs))
            except Exception as error:  # noqa: BLE001 (one setting failing must not hide the
                # others)
                rows.append({"family": family, "mixed_precision": mixed, "xla": xla,
                             "error": f"{type(error).__name__}: {error}"})
    from cifar_search.model import build

    build.set_precision(False)
    return rows


def print_part_a(rows: list[dict[str, Any]], opts: argparse.Namespace) -> None:
    print(f"\nPart A: model.fit images/s, {opts.images} synthetic 32x32x3 images, batch "
          f"{opts.batch}, epoch {opts.epochs} of {opts.epochs} timed (family defaults)"
          f"{', Keras on JAX' if opts.backend == 'jax' else ''}")
    if opts.backend == "jax":
        print("(JAX: 'jit' is jit_compile=True, one XLA program per train step, as every JAX "
              "step is; 'eager' is jit_compile=False, op by op. Neither is TensorFlow's "
              "graph-without-XLA, so these columns do not compare with TensorFlow's.)")
    chosen = settings(opts)
    names = [setting_name(opts.backend, m, x) for m, x in chosen]
    width = max(12, *(len(n) + 2 for n in names))
    print(f"{'family':<9}{'params':>10}" + "".join(f"{n:>{width}}" for n in names)
          + f"{'best':>{width}}{'best/' + names[0]:>{max(width, len(names[0]) + 7)}}")
    for family in opts.families:
        cells = [next(r for r in rows if r["family"] == family and r["mixed_precision"] == m
                      and r["xla"] == x) for m, x in chosen]
        rates = [c.get("images_per_s") for c in cells]
        params = next((c["params"] for c in cells if "params" in c), 0)
        line = f"{family:<9}{params:>10,}" + "".join(
            f"{r:>{width},.0f}" if r else f"{'error':>{width}}" for r in rates)
        ok = [(r, n) for r, n in zip(rates, names, strict=True) if r]
        if ok and rates[0]:
            best, name = max(ok)
            line += f"{name:>{width}}{best / rates[0]:>{width - 1}.2f}x"
        print(line)
    for row in rows:
        if "error" in row:
            print(f"  {row['family']} mixed={row['mixed_precision']} xla={row['xla']}: "
                  f"{row['error']}")
        elif row["xla"] and not row["jit_compile"]:
            print(f"  {row['family']}: XLA was asked for but Keras compiled without it")
    print("(first epochs, with tracing and XLA compilation, in seconds: " + ", ".join(
        f"{r['family']}/{setting_name(opts.backend, r['mixed_precision'], r['xla'])} "
        f"{r['first_epoch_s']:.1f}" for r in rows if "first_epoch_s" in r) + ")")


# --------------------------------------------------------------------------------------------
# Part B: N processes training at once
# --------------------------------------------------------------------------------------------


def pack_process(rank: int, count: int, settings: dict[str, Any], barrier: Any,
                 results: Any) -> None:
    """One of ``count`` processes: set up like a sweep worker, warm up, then train timed.
    ``settings["envs"]``, when given, is each rank's worker environment (its GPU and memory
    cap: :func:`cifar_search.execution.placement.worker_env`)."""
    try:
        from cifar_search.execution.placement import MEMORY_VAR

        os.environ.update(settings.get("envs", [{}] * count)[rank])
        if MEMORY_VAR in os.environ:
            settings = {**settings, "gpu_memory_mb": int(os.environ[MEMORY_VAR])}
        backend = settings["backend"]
        os.environ["KERAS_BACKEND"] = backend
        if backend == "jax":
            configure_jax_memory(settings["jax_memory_fraction"])
        else:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            import tensorflow as tf

            from cifar_search.execution.local import threads_per_worker
            from cifar_search.execution.worker import configure_gpus

            threads = threads_per_worker(count)
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
            configure_gpus(settings["gpu_memory_mb"])
        import keras

        from cifar_search.model import build

        build.set_precision(settings["mixed"])
        keras.utils.set_random_seed(rank)
        x, y = synthetic(settings["images"], rank)
        model = build.build_model(settings["family"], {}, x.shape[1:], 10)
        build.compile_model(model, {})
        model.fit(x, y, epochs=1, batch_size=settings["batch"], verbose=0)  # trace, compile
        barrier.wait(timeout=BARRIER_SECONDS)
        started = time.time()
        model.fit(x, y, epochs=settings["epochs"], batch_size=settings["batch"], verbose=0)
        ended = time.time()
        results.put({"rank": rank, "started": started, "ended": ended,
                     "images": len(x) * settings["epochs"],
                     "jit_compile": bool(model.jit_compile),
                     "peak_mib": gpu_memory_peak_mib(settings["backend"])})
    except Exception as error:  # noqa: BLE001 (whatever fails is reported to the parent)
        barrier.abort()  # the others stop waiting
        results.put({"rank": rank, "error": f"{type(error).__name__}: {error}"})


def run_packed(count: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Start ``count`` processes, let them train at once, and add up their throughput."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(count)
    results = context.Queue()
    processes = [context.Process(target=pack_process, args=(rank, count, settings, barrier,
                                                            results), daemon=True)
                 for rank in range(count)]
    for process in processes:
        process.start()
    reports = []
    deadline = time.monotonic() + 2 * BARRIER_SECONDS
    while len(reports) < count and time.monotonic() < deadline:
        try:
            reports.append(results.get(timeout=5))
        except Exception:  # noqa: BLE001 (queue.Empty, or a queue broken by a dying process:
            # look for processes that died without a word)
            if not any(p.is_alive() for p in processes) and results.empty():
                break
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
    errors = [r["error"] for r in reports if "error" in r]
    if errors or len(reports) < count:
        return {"processes": count, "error": errors[0] if errors else
                f"{count - len(reports)} process(es) died without reporting"}
    wall = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    images = sum(r["images"] for r in reports)
    rate = images / wall
    peaks = [r["peak_mib"] for r in reports if r["peak_mib"] is not None]
    return {"processes": count, "wall_s": round(wall, 3), "images_per_s": round(rate, 1),
            "trials_per_hour": round(rate * 3600 / (settings["images"] * TRIAL_EPOCHS), 1),
            "jit_compile": reports[0]["jit_compile"],
            "peak_gpu_mib_per_process": round(max(peaks), 1) if peaks else None}


def configure_jax_memory(fraction: float | None) -> None:
    """Before JAX starts: claim GPU memory as used (fraction None), or that fraction up front.

    JAX otherwise claims 75% of the GPU at start-up, which leaves nothing for a second process.
    """
    if fraction is None:
        os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    else:
        os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "true"
        os.environ["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{fraction:.4f}"


def part_b(opts: argparse.Namespace) -> list[dict[str, Any]]:
    fraction = None
    if opts.backend == "jax" and opts.gpu_memory_mb:
        total = gpu_memory_total_mib()
        if total:
            fraction = min(1.0, opts.gpu_memory_mb / total)
    settings = {"family": opts.pack_family, "images": opts.images, "batch": opts.batch,
                "epochs": opts.pack_epochs, "mixed": opts.pack_mixed_precision,
                "gpu_memory_mb": opts.gpu_memory_mb, "backend": opts.backend,
                "jax_memory_fraction": fraction}
    return [run_packed(count, settings) for count in opts.processes]


def print_part_b(rows: list[dict[str, Any]], opts: argparse.Namespace) -> None:
    jax = opts.backend == "jax"
    memory = (f"{opts.gpu_memory_mb} MiB each" if opts.gpu_memory_mb else
              "no preallocation" if jax else "memory growth")
    precision = "mixed_float16" if opts.pack_mixed_precision else "float32"
    compiled = "Keras on JAX, jit_compile auto" if jax else "XLA as Keras decides"
    print(f"\nPart B: N processes training {opts.pack_family} at once ({precision}, "
          f"{compiled}, {memory}), {opts.images} images each, {opts.pack_epochs} timed "
          f"epoch(s) after a warm-up; a trial = {TRIAL_EPOCHS} epochs of {opts.images} images")
    print(f"{'N':>3}{'images/s':>12}{'trials/hour':>13}{'x vs N=1':>10}{'peak MiB/proc':>15}")
    base = next((r["images_per_s"] for r in rows if r["processes"] == 1
                 and "images_per_s" in r), None)
    for row in rows:
        if "error" in row:
            print(f"{row['processes']:>3}  error: {row['error']}")
            continue
        ratio = f"{row['images_per_s'] / base:>9.2f}x" if base else f"{'n/a':>10}"
        peak = row["peak_gpu_mib_per_process"]
        print(f"{row['processes']:>3}{row['images_per_s']:>12,.0f}{row['trials_per_hour']:>13,.1f}"
              f"{ratio}{peak if peak is not None else 'n/a':>15}")
    if jax and any(r.get("jit_compile") is False for r in rows):
        print("  (Keras did not jit the train step: eager JAX, not comparable)")


# --------------------------------------------------------------------------------------------


def start_jax(opts: argparse.Namespace) -> dict[str, Any] | int:
    """Set up Keras on JAX in this process: the machine's description, or an exit status."""
    os.environ["KERAS_BACKEND"] = "jax"
    configure_jax_memory(None)  # before JAX starts: leave the GPU's memory to part B
    try:
        import jax
        import keras
    except ImportError as error:
        print(f"Keras on JAX is not installed here ({error}): nothing to measure")
        return 1
    if keras.backend.backend() != "jax":
        print(f"Keras was already set up on {keras.backend.backend()}, not JAX")
        return 1
    machine = describe_jax_machine()
    if not machine["gpus"] and not opts.cpu_ok:
        print(f"no GPU visible to JAX {jax.__version__} ({', '.join(machine['devices'])}): "
              "nothing to measure; --cpu-ok runs the benchmark on the CPU")
        return 0
    device = (f"{machine['gpu']}" + (f" (compute capability {machine['compute_capability']})"
                                     if "compute_capability" in machine else "")
              if machine["gpus"] else "CPU only (--cpu-ok)")
    print(f"device: {device}" + (f"; nvidia-smi: {machine['nvidia_smi']}"
                                 if "nvidia_smi" in machine else "")
          + (f"; driver CUDA {machine['driver_cuda']}" if "driver_cuda" in machine else ""))
    print(f"Keras {machine['keras']} on JAX {machine['jax']} (jaxlib {machine['jaxlib']}"
          + (f", CUDA runtime {machine['cuda']}, cuDNN {machine['cudnn']}"
             if "cuda" in machine else "")
          + f"), Python {sys.version.split()[0]}; no TensorFlow: these are JAX-backend numbers")
    return machine


def main() -> int:
    opts = arguments()
    os.environ["KERAS_BACKEND"] = opts.backend  # before Keras loads, here and in part B
    if opts.backend == "jax":
        machine = start_jax(opts)
        return machine if isinstance(machine, int) else measure(opts, machine)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError:
        print("TensorFlow is not installed here: nothing to measure (where JAX is, "
              "--backend jax measures Keras on JAX instead)")
        return 1
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus and not opts.cpu_ok:
        print(f"no GPU visible (TensorFlow {tf.__version__}): nothing to measure; "
              "--cpu-ok runs the benchmark on the CPU")
        return 0
    from cifar_search.execution.worker import configure_gpus

    configure_gpus(None)  # before any op: leave the GPU's memory to part B's processes
    machine = describe_machine()
    device = f"{machine['gpu']} (compute capability {machine['compute_capability']})" \
        if gpus else "CPU only (--cpu-ok)"
    print(f"device: {device}" + (f"; nvidia-smi: {machine['nvidia_smi']}"
                                 if "nvidia_smi" in machine else ""))
    print(f"TensorFlow {machine['tensorflow']} (CUDA {machine['cuda']}, cuDNN "
          f"{machine['cudnn']}), Keras {machine['keras']}, Python {sys.version.split()[0]}")
    return measure(opts, machine)


def measure(opts: argparse.Namespace, machine: dict[str, Any]) -> int:
    """Parts A and B as asked; prints the tables and writes the JSON."""
    sys.stdout.flush()
    started = time.perf_counter()
    report: dict[str, Any] = {"machine": machine, "options": {
        k: v for k, v in vars(opts).items() if k not in ("json",)}}
    if opts.part in ("a", "all"):
        report["part_a"] = part_a(opts)
        print_part_a(report["part_a"], opts)
        sys.stdout.flush()
    if opts.part in ("b", "all"):
        report["part_b"] = part_b(opts)
        print_part_b(report["part_b"], opts)
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(f"\n{report['seconds']:.0f} s in all")
    if opts.json:
        with open(opts.json, "w") as out:
            json.dump(report, out, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())

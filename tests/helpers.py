"""Helpers shared by test modules: the CLI as a subprocess, and a workspace's MLflow runs."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

#: The shipped spaces of a sweep's own model (the tutorials' models in sweeps/tutorial_models):
#: they may name parameters that only their model reads.
OWN_MODEL_SPACES = frozenset({"cnn3_sgd", "convbn_augmentation", "convnet", "convnet2",
                              "convnet_resnet", "vgg_8class"})


#: A folder whose ``sitecustomize`` makes ``import tensorflow`` fail in every process started
#: with it on ``PYTHONPATH``: a machine without TensorFlow.
NO_TENSORFLOW = ROOT / "tests" / "no_tensorflow"


def cli_env(tensorflow: bool = True) -> dict[str, str]:
    """The environment of a CLI subprocess: this checkout, no data or tracking defaults
    (``tensorflow`` False: TensorFlow cannot be imported, :data:`NO_TENSORFLOW`)."""
    path = str(ROOT) if tensorflow else os.pathsep.join([str(NO_TENSORFLOW), str(ROOT)])
    env = {**os.environ, "PYTHONPATH": path, "CIFAR_SEARCH_DATA": ""}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def cli(*args, cwd, check=True, timeout=600, tensorflow=True):
    """``python -m cifar_search ARGS`` in ``cwd``; raises with its output unless it exits 0."""
    result = subprocess.run([sys.executable, "-m", "cifar_search", *map(str, args)], cwd=cwd,
                            env=cli_env(tensorflow), capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


#: What TensorFlow prints while it loads: never on the terminal without --debug.
TF_NOISE = ("tensorflow", "absl", "oneDNN", "retracing", "WARNING", "I0000")


#: Lines of Optuna's logger ("[W 2026-12-07 19:57:44,123] Param … unique value length …"), of
#: Python's warnings (matplotlib's UserWarning, Optuna's ExperimentalWarning) and of Keras'
#: download ("Downloading data from …"): never on the terminal at the default verbosity.
OTHER_NOISE = re.compile(r"^\[[DIWEC] \d{4}-|\w+Warning:|Downloading data from|matplotlib",
                         re.MULTILINE)


def assert_quiet(result, *more):
    """Nothing of TensorFlow's, Optuna's, matplotlib's or Python's warnings reached the terminal
    of a CLI run (``more``: other text the run wrote, e.g. what ``capfd`` caught)."""
    text = "\n".join([result.stdout, result.stderr, *more])
    for noise in TF_NOISE:
        assert noise not in text, (noise, text[-2000:])
    assert not OTHER_NOISE.search(text), text[-2000:]


def mlflow_runs(workspace, experiment):
    """(client, runs) of ``experiment`` in a workspace's embedded MLflow store."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{Path(workspace) / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    return client, runs


def cli_inline(*args, cwd, check=True):
    """A read-only command (status, best, check, export) run in this process: the same
    ``main`` as ``python -m cifar_search``, without a new interpreter's start-up."""
    import contextlib
    import io

    from cifar_search.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = {name: os.environ.pop(name, None) for name in ("MLFLOW_TRACKING_URI",
                                                            "CIFAR_SEARCH_DATA")}
    try:
        with contextlib.chdir(cwd), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
    finally:
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value
    result = subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"exit {code}\n{result.stdout}\n{result.stderr}")
    return result


def snapshot(folder, sweep="sweep.py", workspace="ws"):
    """What a study holds, as ``status --json`` and ``export --format json`` print it (None
    where there is no study): equal before and after a refused command means nothing changed."""
    status = cli_inline("status", sweep, "--json", "--workspace", workspace, cwd=folder,
                        check=False)
    exported = cli_inline("export", sweep, "--format", "json", "--output", "-", "--workspace",
                          workspace, cwd=folder, check=False)
    if status.returncode != 0:
        return None
    return status.stdout, exported.stdout


#: Where a test makes its memory-limited cgroups (cgroup v1's memory controller).
MEMORY_CGROUPS = Path("/sys/fs/cgroup/memory")


@contextlib.contextmanager
def memory_cgroup(limit_bytes):
    """A new cgroup v1 memory cgroup limited to ``limit_bytes`` (Linux, as root): a process
    is put in by writing its pid to the folder's ``cgroup.procs``; only such processes meet
    the limit, never the test's own. Skipped where none can be made, a failure under
    ``CI=true`` (CI runs as root). Processes left in it are killed and it is removed after."""
    folder = MEMORY_CGROUPS / f"cifar-search-test-{os.getpid()}-{time.monotonic_ns()}"
    try:
        folder.mkdir()
        (folder / "memory.limit_in_bytes").write_text(str(limit_bytes))
        with contextlib.suppress(OSError):  # swap limited too, where it is accounted
            (folder / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
    except OSError as error:
        with contextlib.suppress(OSError):
            folder.rmdir()
        if os.environ.get("CI") == "true":
            raise AssertionError(
                f"cannot make a memory cgroup in {MEMORY_CGROUPS}: {error}") from error
        pytest.skip(f"no writable cgroup v1 memory controller here: {error}")
    try:
        yield folder
    finally:
        for pid in (folder / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while True:  # a cgroup whose last process has just died may be busy a moment
            try:
                folder.rmdir()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

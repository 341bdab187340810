"""The sweep that the crash and signal tests interrupt, and what they check after."""

import json
import subprocess
import sys
import time
from pathlib import Path


from tests.helpers import cli_env, cli_inline


SWEEP = """
from cifar_search import Budget, Compute, Objective, Sweep

sweep = Sweep(
    name="resumable",
    space={"parameters": {"dropout_rate": {"grid": POINTS}, "filters": 4}},
    model="dropout",
    budget=Budget(epochs=EPOCHS, batch_size=4),
    objective=Objective("val_loss"),
    sampler="grid",
    workers=WORKERS,
    compute=Compute(backend="BACKEND"),
)
"""


def start(folder, data, *extra, tensorflow=True):
    """``run`` of the sweep in ``folder``, started as a process of its own (``tensorflow``
    False: where TensorFlow cannot be imported)."""
    command = [sys.executable, "-m", "cifar_search", "run", "sweep.py", "--data", str(data),
               "--workspace", "ws", *extra]
    return subprocess.Popen(command, cwd=folder, env=cli_env(tensorflow),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run(folder, *args):
    """A command run to its end in this process (the interrupted ones are started with
    :func:`start`, as processes of their own); its output."""
    return cli_inline(*args, "--workspace", "ws", cwd=folder).stdout


def checkpoints(folder):
    return list((folder / "ws" / "trials").glob("*/*/state.json"))


def wait_for(condition, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def workers_of(pid):
    """Worker processes descending from process ``pid`` (forked by its fork server)."""
    out = subprocess.run(["pgrep", "-x", "cifar-worker"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split() if pid in ancestors(int(p))]


def ancestors(pid):
    found = []
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        found.append(pid)
    return found


#: The grid's dropout rates: each is one trial.
POINTS = (0.1, 0.2, 0.3, 0.4)


def make_sweep(folder, epochs=12, workers=1, backend="tensorflow", points=POINTS):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sweep.py").write_text(SWEEP.replace("POINTS", str(list(points)))
                                     .replace("EPOCHS", str(epochs))
                                     .replace("WORKERS", str(workers))
                                     .replace("BACKEND", backend))


def assert_invariants(folder, epochs, points=POINTS):
    """Exactly one finished trial per grid point, no RUNNING left, MLflow agrees."""
    from mlflow import MlflowClient

    status = json.loads(run(folder, "status", "sweep.py", "--json"))
    finished = [t for t in status["trials"] if t["state"] in ("complete", "pruned", "failed")]
    assert sorted(t["params"]["dropout_rate"] for t in finished) == sorted(points)
    assert {t["state"] for t in status["trials"]} <= {"complete", "interrupted"}
    client = MlflowClient(tracking_uri=f"sqlite:///{folder / 'ws' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("resumable")
    runs = {r.info.run_id: r for r in client.search_runs([experiment.experiment_id],
                                                          max_results=1000)}
    assert not [r for r in runs.values() if r.info.status == "RUNNING"]
    children = {r_id: r for r_id, r in runs.items() if "mlflow.parentRunId" in r.data.tags}
    assert set(children) == {t["mlflow_run_id"] for t in status["trials"]}
    for trial in status["trials"]:
        run_ = children[trial["mlflow_run_id"]]
        expected = {"complete": "FINISHED", "interrupted": "KILLED"}[trial["state"]]
        assert run_.info.status == expected
        if trial["state"] == "complete":
            steps = [m.step for m in client.get_metric_history(run_.info.run_id, "val_loss")]
            assert steps == list(range(1, epochs + 1))  # each epoch once, none missing
    assert cli_inline("status", "sweep.py", "--workspace", "ws", cwd=folder).returncode == 0
    return status

"""A worker that the kernel's OOM killer ends fails its trial at once with that reason, in the
study, in MLflow and in ``status``; the sweep goes on with the other trials. For real: the
workers run in a memory-limited cgroup, and the sweep's own model allocates past the limit for
one value of its parameter (only inside that cgroup: never in the test's own process)."""

import json

import pytest

from cifar_search.execution.local import WorkerPool
from tests.helpers import cli_inline, memory_cgroup, mlflow_runs

pytestmark = pytest.mark.processes

SWEEP = '''
import keras
from keras import layers

from cifar_search import Budget, Data, Sweep


def in_limited_cgroup():
    with open("/proc/self/cgroup") as stream:
        return "cifar-search-test-" in stream.read()


def build(params, input_shape, num_classes):
    if params["dropout_rate"] == 0.3 and in_limited_cgroup():
        hog = []
        while True:  # until the kernel's OOM killer ends this worker
            hog.append(b"\\1" * (16 << 20))
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(4, 3, activation="relu")(inputs)
    x = layers.Dropout(params["dropout_rate"])(layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


sweep = Sweep(name="hungry", space={"parameters": {"dropout_rate": {"grid": [0.3, 0.5]},
                                                   "learning_rate": 0.01}},
              model=build, data=Data(validation=0.25), budget=Budget(epochs=1, batch_size=16),
              sampler="grid", workers=1, seed=1, engine=ENGINE)
'''

#: The workers' memory: about 3 times what one needs for this sweep's tiny model.
LIMIT_BYTES = 1 << 30


@pytest.mark.parametrize("engine", ["optuna", "kerastuner"])
def test_a_worker_killed_by_the_oom_killer_fails_its_trial_and_the_sweep_goes_on(
        tmp_path, tiny_data, monkeypatch, engine):
    (tmp_path / "sweep.py").write_text(SWEEP.replace("ENGINE", repr(engine)))
    with memory_cgroup(LIMIT_BYTES) as cgroup:
        spawn = WorkerPool._spawn

        def spawn_limited(pool, threads=None, slot=0):
            new = spawn(pool, threads, slot)
            (cgroup / "cgroup.procs").write_text(str(new.process.pid))
            return new

        monkeypatch.setattr(WorkerPool, "_spawn", spawn_limited)
        output = cli_inline("run", "sweep.py", "--data", tiny_data, "--workspace", "ws",
                            cwd=tmp_path).stdout
        peak = int((cgroup / "memory.max_usage_in_bytes").read_text())
    reason = ("out of memory: the kernel's OOM killer ended the worker (memory limit 1.0 GiB "
              "of its cgroup; run fewer workers, a smaller batch_size or a smaller model)")
    assert f"reason: {reason}" in output, output
    assert "continues from its checkpoint" not in output  # failed at once, not retried
    status = json.loads(cli_inline("status", "sweep.py", "--json", "--workspace", "ws",
                                   cwd=tmp_path).stdout)
    states = {t["params"]["dropout_rate"]: t["state"] for t in status["trials"]}
    assert states == {0.3: "failed", 0.5: "complete"}, (status, peak)
    table = cli_inline("status", "sweep.py", "--workspace", "ws", cwd=tmp_path).stdout
    assert reason in table, table
    _, runs = mlflow_runs(tmp_path / "ws", "hungry")
    failed = [r for r in runs if r.data.tags.get("fail_reason") == reason]
    assert [r.info.status for r in failed] == ["FAILED"], [r.data.tags for r in runs]

"""Data parallelism: one trial over two devices with MirroredStrategy (the CPU split into two
logical devices, so the path runs without a GPU), and its refusal on one device."""

import json
import re
import subprocess
import sys
import textwrap

import pytest

from cifar_search.errors import TrialError
from cifar_search.model import parallel
from tests.helpers import ROOT, cli_env

SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    from cifar_search.execution.protocol import Reply, TrialTask
    from cifar_search.model import data, train
    cache = data.prepare(sys.argv[1], sys.argv[2])
    task = TrialTask(number=0, params={"data_parallel": True, "flip": True, "shift": 0.1,
                                       "stop_monitor": "val_loss", "stop_patience": 5},
                     family="dropout", epochs=2, batch_size=8, patience=None,
                     metric="val_accuracy", direction="maximize", seed=0, data_dir=str(cache),
                     validation="test", subset=None, split_seed=0,
                     trial_dir=sys.argv[3], steps_per_execution=4)
    seen = []
    result = train.run_trial(task, lambda epoch, logs: seen.append(epoch) or Reply.CONTINUE)
    print(json.dumps({"state": str(result.state), "epochs": result.epochs, "seen": seen,
                      "value": result.value, "devices": train.parallel.devices(),
                      "steps": int(train.keras.models.load_model(
                          result.model_path).steps_per_execution)}))
""")


@pytest.mark.processes
def test_a_trial_trains_on_two_devices_at_once(tmp_path, tiny_data):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_data), str(tmp_path / "c"),
                           str(tmp_path / "trial")], cwd=ROOT, env=cli_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["state"], result["epochs"], result["seen"]) == ("complete", 2, [0, 1])
    assert 0 <= result["value"] <= 1
    assert result["devices"] == ["/device:CPU:0", "/device:CPU:1"]
    assert result["steps"] == 1  # one step per call under the strategy, whatever was asked
    assert (tmp_path / "trial" / "model.keras").is_file()


def test_data_parallelism_is_refused_on_one_device():
    with pytest.raises(TrialError, match="^" + re.escape(
            "compute.data_parallel: True needs 2 or more devices; this worker sees 1 "
            "(/device:CPU:0); set data_parallel=False or give the worker more GPUs") + "$"):
        parallel.check_devices(["/device:CPU:0"])
    with pytest.raises(TrialError, match="sees 0 \\(none\\)"):
        parallel.check_devices([])


def test_without_data_parallelism_there_is_no_strategy():
    with parallel.scope(False) as strategy:
        assert strategy is None

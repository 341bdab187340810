"""What reaches the terminal of a run: cifar_search's own lines only. A one-trial sweep over two
parameters (a contour over one value of each) on CIFAR-10 as Keras downloads it: TensorFlow
imported in the main process for the download, Keras' "Downloading data from …", then the
fork server, the trial, the test evaluation, the plots and the registration."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import assert_quiet, cli_env

pytestmark = pytest.mark.processes

SWEEP = """
from cifar_search import Budget, Objective, Sweep

sweep = Sweep(
    name="first-look",
    space={"parameters": {"dropout_rate": {"grid": [0.1, 0.3]}, "filters": {"grid": [4, 8]}}},
    model="dropout",
    budget=Budget(epochs=1, batch_size=8),
    objective=Objective("val_accuracy"),
    sampler="grid",
    trials=1,
)
"""

#: The command line with Keras' CIFAR-10 download served from a local file through Keras' own
#: ``get_file`` (argv: the file's URL, Keras' cache folder, then the command's arguments).
DOWNLOADING = r"""
import sys
import numpy as np
from cifar_search import quiet
from cifar_search.cli import main
from cifar_search.fast_exit import exit_quickly

origin, keras_home, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
imported = quiet.import_tensorflow

def import_tensorflow(*modules):
    imported(*modules)
    import keras

    def load_data():
        arrays = np.load(keras.utils.get_file("cifar-tiny.npz", origin=origin,
                                              cache_dir=keras_home))
        return ((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"]))

    keras.datasets.cifar10.load_data = load_data

quiet.import_tensorflow = import_tensorflow
exit_quickly(lambda: main(argv))
"""


def test_a_one_trial_sweep_on_downloaded_data_prints_only_its_own_lines(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.arange(60, dtype=np.uint8) % 10
    served = tmp_path / "served.npz"
    np.savez(served, x_train=rng.integers(0, 256, (60, 32, 32, 3), dtype=np.uint8),
             y_train=labels.reshape(-1, 1), x_test=rng.integers(0, 256, (20, 32, 32, 3),
                                                                 dtype=np.uint8),
             y_test=labels[:20].reshape(-1, 1))
    (tmp_path / "sweep.py").write_text(SWEEP)
    (tmp_path / "keras").mkdir()  # else Keras downloads into /tmp/.keras
    result = subprocess.run(
        [sys.executable, "-c", DOWNLOADING, served.as_uri(), str(tmp_path / "keras"), "run",
         "sweep.py", "--workspace", "ws"],
        cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "keras" / "datasets" / "cifar-tiny.npz").is_file()  # it was fetched
    assert result.stderr == ""
    assert_quiet(result)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("new study 'first-look': 1 trials")
    assert lines[1].startswith("trial   0 complete val_accuracy=")
    assert lines[-1].startswith("1/1 trials finished; compare them in the MLflow UI")

"""A sweep on Keras's JAX backend where TensorFlow cannot be imported (its data through the
``PyDataset``, no ``tf.data``), whole and killed with ``kill -9`` mid-trial: the resumed
study's trials equal the uninterrupted one's, its MLflow runs are complete, and its
registered model loads back (on TensorFlow, in this process)."""

import importlib.util
import json
import signal

import numpy as np
import pytest

from tests.engines.optuna.interrupted import (assert_invariants, make_sweep, run, start,
                                              wait_for)
from tests.helpers import cli, mlflow_runs

pytestmark = [pytest.mark.processes,
              pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                 reason="JAX is not installed (pip install -e '.[jax]')")]


POINTS = (0.1, 0.3)


def trials_of(folder):
    """Each finished trial's (params, value, epochs trained), by its parameters."""
    rows = json.loads(run(folder, "export", "sweep.py", "--format", "json", "--output", "-"))
    return sorted((r["param.dropout_rate"], r["value"], r["epochs_trained"]) for r in rows
                  if r["state"] == "complete")


def test_a_jax_sweep_killed_mid_trial_resumes_to_the_uninterrupted_study(tmp_path, tiny_data):
    import mlflow

    whole, cut = tmp_path / "whole", tmp_path / "cut"
    # two trials: the killed one, then one drawn after its retry (which takes a number)
    make_sweep(whole, epochs=2, backend="jax", points=POINTS)
    make_sweep(cut, epochs=2, backend="jax", points=POINTS)
    # beside the interrupted one (the cores are shared); every process without TensorFlow
    uninterrupted = start(whole, tiny_data, tensorflow=False)
    interrupted = start(cut, tiny_data, tensorflow=False)
    state = cut / "ws" / "trials" / "resumable" / "00000" / "state.json"
    assert wait_for(state.exists, timeout=300), interrupted.communicate(timeout=30)[0]
    interrupted.send_signal(signal.SIGKILL)  # mid-trial: epoch 1 of 2 saved
    interrupted.communicate()
    resumed = cli("resume", "sweep.py", "--data", tiny_data, "--workspace", "ws", cwd=cut,
                  tensorflow=False)
    output, _ = uninterrupted.communicate(timeout=600)
    assert uninterrupted.returncode == 0, output

    assert "2/2 trials finished" in resumed.stdout, resumed.stdout
    status = assert_invariants(cut, epochs=2, points=POINTS)
    assert [t["state"] for t in status["trials"]].count("interrupted") == 1
    assert trials_of(cut) == trials_of(whole)
    assert "best model registered: models:/resumable/1 " in output
    _, runs = mlflow_runs(whole / "ws", "resumable")
    trained = [r for r in runs if "resolved.backend" in r.data.params]
    assert {(r.data.params["resolved.backend"], r.data.params["resolved.device"])
            for r in trained} == {("jax", "CPU")}
    mlflow.set_tracking_uri(f"sqlite:///{whole / 'ws' / 'mlflow.db'}")
    try:
        model = mlflow.pyfunc.load_model("models:/resumable/1")
    finally:
        mlflow.set_tracking_uri(None)
    logits = model.predict(np.random.default_rng(0).random((3, 32, 32, 3), dtype=np.float32))
    assert logits.shape == (3, 10) and np.isfinite(logits).all()

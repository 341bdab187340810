"""A sweep on Keras's JAX backend: trains, records, and registers a model that loads back (on
TensorFlow, in this process)."""

import importlib.util

import numpy as np
import pytest

from tests.helpers import cli, mlflow_runs

pytestmark = [pytest.mark.processes,
              pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                 reason="JAX is not installed (pip install -e '.[jax]')")]

JAX_SWEEP = """
from cifar_search import Budget, Compute, Objective, Sweep

sweep = Sweep(
    name="tiny-jax",
    space={"parameters": {"units": {"grid": [8, 16]}, "filters": 4}},
    model="intro",
    budget=Budget(epochs=1, batch_size=16),
    objective=Objective("val_loss"),
    sampler="grid",
    compute=Compute(backend="jax"),
    seed=2,
)
"""


def test_a_sweep_trains_on_jax_and_its_registered_model_loads(tmp_path, tiny_data):
    import mlflow

    (tmp_path / "sweep.py").write_text(JAX_SWEEP)
    workspace = tmp_path / "ws"
    first = cli("run", "sweep.py", "--data", tiny_data, "--workspace", workspace, cwd=tmp_path)
    assert first.stdout.count(" complete ") == 2
    assert "best model registered: models:/tiny-jax/1 " in first.stdout
    _, runs = mlflow_runs(workspace, "tiny-jax")
    trials = [r for r in runs if "resolved.backend" in r.data.params]
    assert len(trials) == 2
    assert {r.data.params["resolved.backend"] for r in trials} == {"jax"}
    mlflow.set_tracking_uri(f"sqlite:///{workspace / 'mlflow.db'}")
    try:
        model = mlflow.pyfunc.load_model("models:/tiny-jax/1")
    finally:
        mlflow.set_tracking_uri(None)
    logits = model.predict(np.random.default_rng(0).random((3, 32, 32, 3), dtype=np.float32))
    assert logits.shape == (3, 10) and np.isfinite(logits).all()

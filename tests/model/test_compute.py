"""Mixed precision, XLA and GPU memory settings take effect and are recorded (tested on CPU)."""

import math
import time

import keras
import pytest
import tensorflow as tf

from cifar_search.execution.local import WorkerPool
from cifar_search.execution.protocol import Reply, RunEnd, TrialTask
from cifar_search.model import build as models
from cifar_search.model import data
from cifar_search.model.train import run_trial
from cifar_search.session.worker import run_task

HAS_GPU = bool(tf.config.list_physical_devices("GPU"))


@pytest.fixture(autouse=True)
def float32_after():
    """Leave the process's dtype policy as other tests expect it."""
    yield
    models.set_precision(False)


@pytest.fixture(scope="module")
def cache(tiny_data, tmp_path_factory):
    return data.prepare(tiny_data, tmp_path_factory.mktemp("cache"))


def task(cache, folder, number=0, **changes):
    settings = dict(number=number, params={"dropout_rate": 0.2}, family="dropout", epochs=1,
                    batch_size=16, patience=None, metric="val_loss", direction="minimize",
                    seed=number, data_dir=str(cache), validation=0.2, subset=None, split_seed=0,
                    trial_dir=str(folder / f"{number:05d}"))
    return TrialTask(**{**settings, **changes})


def train(task_, reply=Reply.CONTINUE):
    """Run a trial; return its result and the logs of each epoch."""
    epochs = []

    def hook(epoch, logs):
        epochs.append(logs)
        return reply

    return run_trial(task_, hook), epochs


def test_logits_are_float32_under_either_policy():
    for mixed, hidden in ((True, "float16"), (False, "float32")):
        models.set_precision(mixed)
        model = models.build_model("vgg", {"depth": 1}, (32, 32, 3), 10)
        assert model.get_layer("logits").compute_dtype == "float32"
        assert model.outputs[0].dtype == "float32"
        assert {layer.compute_dtype for layer in model.layers
                if isinstance(layer, keras.layers.Conv2D)} == {hidden}


def test_mixed_precision_trial_trains_and_records_its_policy(cache, tmp_path):
    result, epochs = train(task(cache, tmp_path, mixed_precision=True))
    assert result.state == RunEnd.COMPLETE
    assert result.config["dtype_policy"] == "mixed_float16"
    assert result.config["logits_dtype"] == "float32"
    assert result.config["optimizer"] == "Adam"  # read inside the loss-scale wrapper
    assert math.isfinite(epochs[0]["loss"]) and math.isfinite(result.value)
    saved = keras.models.load_model(result.model_path)
    assert saved.predict(tf.zeros((2, 32, 32, 3)), verbose=0).dtype == "float32"


def test_policy_does_not_leak_into_the_next_trial(cache, tmp_path):
    mixed, _ = train(task(cache, tmp_path, 0, mixed_precision=True))
    plain, _ = train(task(cache, tmp_path, 1))
    assert mixed.config["dtype_policy"] == "mixed_float16"
    assert plain.config["dtype_policy"] == "float32"
    assert keras.mixed_precision.dtype_policy().name == "float32"


def test_mixed_precision_trial_continues_from_its_checkpoint(cache, tmp_path):
    first, _ = train(task(cache, tmp_path, 0, epochs=2, mixed_precision=True), reply=Reply.STOP)
    assert (first.state, first.epochs) == (RunEnd.STOPPED, 1)
    models.set_precision(False)  # the worker may have trained anything in between
    again, epochs = train(task(cache, tmp_path, 1, epochs=2, mixed_precision=True,
                               resume_dir=str(tmp_path / "00000")))
    assert (again.state, again.epochs, len(epochs)) == (RunEnd.COMPLETE, 2, 1)
    assert again.config["dtype_policy"] == "mixed_float16"
    assert math.isfinite(again.value)


@pytest.mark.parametrize("xla, expected", [(True, True), (False, False), (None, HAS_GPU)])
def test_xla_setting_is_the_models_jit_compile(cache, tmp_path, xla, expected):
    result, _ = train(task(cache, tmp_path, xla=xla))
    assert result.config["jit_compile"] is expected
    assert result.config["device"] == models.training_device()
    assert result.config["backend"] == "tensorflow"
    if not HAS_GPU:
        assert result.config["device"] == "CPU"


@pytest.mark.parametrize("steps", [1, 4])
def test_steps_per_execution_is_applied_and_every_batch_still_trains(cache, tmp_path, steps):
    result, epochs = train(task(cache, tmp_path, steps_per_execution=steps, batch_size=5))
    assert result.config["steps_per_execution"] == steps
    saved = keras.models.load_model(result.model_path)
    split = data.load_split(cache, 0.2, None, 0)
    batches = math.ceil(len(split.x_train) / 5)  # the last, partial batch included
    assert int(saved.optimizer.iterations) == batches
    assert saved.steps_per_execution == steps  # kept when a trial resumes from its checkpoint


def test_workers_start_with_a_gpu_memory_limit(tmp_path):
    with WorkerPool(1, 1, gpu_memory_mb=256, runner=run_task) as pool:
        deadline = time.monotonic() + 60
        while not pool.idle() and time.monotonic() < deadline:
            for _, message in pool.events(1.0):
                assert message is not None, "the worker died while starting"
        assert len(pool.idle()) == 1
        assert pool.workers[0].process.is_alive()

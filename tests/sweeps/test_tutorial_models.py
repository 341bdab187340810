"""The tutorials' models (``sweeps/tutorial_models``): their exact layers and parameter counts
(each tutorial's ``model.summary()`` where it prints one, counted by hand from its layers
otherwise), each trained a step through the framework's path for a sweep's own model with
its tutorial's augmentation and early stopping, and each tutorial sweep's space built."""

import importlib
import sys

import keras
import numpy as np
import pytest

from cifar_search.config.load import load_sweep
from cifar_search.config.user_model import Model, check_points
from cifar_search.model import build, stopping, user
from tests.helpers import ROOT

SWEEPS = ROOT / "sweeps"
if str(SWEEPS) not in sys.path:  # as when a sweep file beside the package is loaded
    sys.path.append(str(SWEEPS))

#: model function -> (classes, total parameters, non-trainable parameters, where the count
#: is from)
COUNTS = {
    "keras_book:vgg2": (8, 1_182_248, 0, "by hand: 896+9248+18496+36928+1048832+65792+2056"),
    "deep_learning_lab:cnn3": (10, 257_978, 0, "by hand: 896+18496+73856+163920+810"),
    "curious_insight:simplenet": (10, 123_330, 0, "Curious Insight's summary (SimpleNet, [40])"),
    "curious_insight:convnet": (10, 37_490, 0, "Curious Insight's summary (ConvNet)"),
    "curious_insight:convnet2": (10, 156_570, 600, "Curious Insight's summary (ConvNet2)"),
    "curious_insight:resnet_small": (10, 771_690, 1_800, "Curious Insight's summary (ResNet)"),
    "quick_reference:convbn": (10, 744_874, 192,
                               "by hand: 1792+256+18464+128+590336+131328+2570"),
}

#: Each tutorial's augmentation and early stopping, as trial parameters.
TRAINING = {
    "keras_book:vgg2": {"flip": True, "shift": 0.2, "rotation": 15,
                        "stop_monitor": "val_accuracy", "stop_patience": 10,
                        "keep_best": "val_loss"},
    "deep_learning_lab:cnn3": {"optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9},
    "curious_insight:simplenet": {"flip": True, "shift": 0.1, "learning_rate": 0.01},
    "curious_insight:convnet": {"flip": True, "shift": 0.1, "learning_rate": 0.01},
    "curious_insight:convnet2": {"flip": True, "shift": 0.1, "learning_rate": 0.01},
    "curious_insight:resnet_small": {"flip": True, "shift": 0.1, "learning_rate": 0.01},
    "quick_reference:convbn": {"flip": True, "rotation": 20, "shift": 0.02, "zoom": 0.1},
}

#: Each tutorial sweep and the model function it passes as model=.
TUTORIAL_SWEEPS = {
    "vgg_8class": "keras_book:vgg2",
    "cnn3_sgd": "deep_learning_lab:cnn3",
    "convnet": "curious_insight:convnet",
    "convnet2": "curious_insight:convnet2",
    "convnet_resnet": "curious_insight:resnet_small",
    "convbn_augmentation": "quick_reference:convbn",
}


def function(name):
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(f"tutorial_models.{module}"), attribute)


def built(name, classes=10, **params):
    keras.backend.clear_session()
    return function(name)(params, (32, 32, 3), classes)


def non_trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_each_tutorial_model_has_the_tutorials_parameter_count(name):
    classes, total, frozen, _ = COUNTS[name]
    model = built(name, classes)
    assert (model.count_params(), non_trainable(model)) == (total, frozen)
    assert model.output_shape == (None, classes) and user.gives_probabilities(model)


@pytest.mark.parametrize("name", sorted(TRAINING))
def test_each_tutorial_model_trains_a_step_with_its_augmentation_and_early_stopping(
        name, tmp_path):
    params = {"stop_monitor": "loss", "stop_patience": 1, "keep_best": "loss",
              **TRAINING[name]}
    keras.backend.clear_session()
    model = user.build_compiled(Model(f"tutorial_models.{name}"), params, (32, 32, 3), 10)
    rule = stopping.rule_of(params, None, "val_loss")
    stopper = stopping.EarlyStop(rule, tmp_path)
    x = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    y = np.arange(8) % 8
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[stopper],
                        validation_data=(x, y)).history  # one step
    assert np.isfinite(history["loss"]).all()
    assert stopper.progress.kept_epoch == 1
    assert stopper.progress.best == pytest.approx(history[rule.monitor][0])
    augment = build.augmentation(params)
    layers = {type(layer).__name__ for layer in model.layers}
    assert ("RandomFlip" in layers) == augment["flip"]
    assert ("RandomRotation" in layers) == bool(augment["rotation"])
    assert ("RandomTranslation" in layers) == bool(augment["shift"])
    assert ("RandomZoom" in layers) == bool(augment["zoom"])


def layer_order(model):
    names = {"Conv2D": "conv", "MaxPooling2D": "pool", "Dropout": "drop", "Dense": "dense",
             "BatchNormalization": "bn", "Flatten": "flat", "GlobalMaxPooling2D": "gmax",
             "GlobalAveragePooling2D": "gavg", "Add": "add"}
    return [names[type(layer).__name__] for layer in model.layers
            if type(layer).__name__ in names]


def test_the_layer_orders_are_the_tutorials():
    assert layer_order(built("keras_book:vgg2", 8)) == [
        "conv", "conv", "pool", "drop", "conv", "conv", "pool", "drop", "flat",
        "dense", "drop", "dense", "drop", "dense"]
    assert layer_order(built("deep_learning_lab:cnn3")) == [
        "conv", "pool", "drop", "conv", "pool", "drop", "conv", "pool", "drop", "flat",
        "dense", "drop", "dense"]
    assert layer_order(built("curious_insight:convnet")) == [
        "conv", "conv", "conv", "gmax", "dense"]
    assert layer_order(built("curious_insight:convnet2")) == (
        ["conv"] + ["conv", "bn"] * 4 + ["gmax", "dense"])
    stage = ["conv", "bn", "conv", "bn", "add", "conv", "bn", "add"]
    assert layer_order(built("curious_insight:resnet_small")) == (
        ["conv"] + stage * 4 + ["gmax", "drop", "dense"])
    assert layer_order(built("quick_reference:convbn")) == [
        "conv", "bn", "pool", "conv", "bn", "pool", "flat", "dense", "drop", "dense", "drop",
        "dense"]
    convs = [layer for layer in built("quick_reference:convbn").layers
             if isinstance(layer, keras.layers.Conv2D)]
    assert [c.padding for c in convs] == ["valid", "valid"]


def test_the_knobs_take_effect():
    model = built("keras_book:vgg2", 8, filters_1=16, filters_2=48, dropout_1=0.1,
                  dropout_2=0.2, units_1=64, units_2=32, dense_dropout=0.4, activation="tanh")
    assert [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)] == [
        16, 16, 48, 48]
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [
        0.1, 0.2, 0.4, 0.4]
    assert [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)] == [
        64, 32, 8]
    assert {layer.activation.__name__ for layer in model.layers
            if isinstance(layer, keras.layers.Activation)} == {"tanh", "softmax"}
    resnet = built("curious_insight:resnet_small", res_layers=1, pooling="avg", dropout_rate=0.0)
    assert layer_order(resnet).count("add") == 4 and "gavg" in layer_order(resnet)
    assert "drop" not in layer_order(resnet)
    assert layer_order(built("curious_insight:simplenet", dense_layers=2, units_1=20,
                             units_2=30)) == ["flat", "dense", "dense", "dense"]


@pytest.mark.parametrize("name", sorted(TUTORIAL_SWEEPS))
def test_each_tutorial_sweep_builds_its_model_on_its_space(name):
    sweep = load_sweep(SWEEPS / f"{name}.py")
    assert isinstance(sweep.model, Model)
    assert str(sweep.model.build) == f"tutorial_models.{TUTORIAL_SWEEPS[name]}"
    keras.backend.clear_session()
    digest = user.check(sweep.model, check_points(sweep.space), sweep.space.swept(),
                        (32, 32, 3), 10, sweep.source)
    assert digest.startswith("sha256:")

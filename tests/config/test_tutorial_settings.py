"""The tutorials' training settings: class subsets, validation on the test set, augmentation,
early stopping and data parallelism, checked before any trial and carried to every trial as
fixed parameters; the four tutorials' sweeps start from the tutorial's own configuration,
with the tutorial's model function (sweeps/tutorial_models)."""

import re

import pytest

from cifar_search import Augmentation, Budget, Compute, Data, EarlyStopping
from cifar_search.config.checks import settings_params, with_settings
from cifar_search.config.load import load_sweep
from cifar_search.config.space import Space
from cifar_search.config.user_model import Model
from cifar_search.errors import ConfigError
from tests.helpers import ROOT

SPACE = {"parameters": {"dropout_rate": {"grid": [0.2, 0.4]}}}


def sweep_with(tmp_path, body, space="{'parameters': {'dropout_rate': {'grid': [0.2, 0.4]}}}"):
    path = tmp_path / "sweep.py"
    path.write_text("from cifar_search import *\n"
                    f"sweep = Sweep(name='s', space={space}, model='dropout', sampler='grid', "
                    f"{body})\n")
    return path


def test_settings_become_fixed_parameters_of_every_trial_first(tmp_path):
    sweep = load_sweep(sweep_with(tmp_path, "data=Data(classes=['c1', 'c0'], "
                                  "validation='test'), budget=Budget(early_stopping="
                                  "EarlyStopping('val_accuracy', 5, keep_best='val_loss')), "
                                  "augmentation=Augmentation(flip=True, rotation=15), "
                                  "compute=Compute(data_parallel=True)"))
    assert sweep.space.grid() == [
        {"classes": "c1,c0", "stop_monitor": "val_accuracy", "stop_patience": 5,
         "keep_best": "val_loss", "data_parallel": True, "flip": True, "rotation": 15,
         "dropout_rate": dropout} for dropout in (0.2, 0.4)]
    assert sweep.space.swept() == ("dropout_rate",)
    assert sweep.fingerprint()["data"]["validation"] == "test"
    assert "classes" in sweep.fingerprint()["space"]["parameters"]


def test_no_settings_leave_the_space_and_fingerprint_as_they_were():
    sweep = load_sweep(ROOT / "sweeps" / "dropout.py")
    assert settings_params(sweep) == {} and with_settings(sweep) == sweep
    assert list(sweep.fingerprint()["space"]["parameters"]) == ["dropout_rate"]


def test_early_stopping_keeps_the_monitors_best_by_default_or_the_last_epoch():
    assert EarlyStopping("val_accuracy", 3).params() == {
        "stop_monitor": "val_accuracy", "stop_patience": 3, "keep_best": "val_accuracy"}
    assert EarlyStopping("loss", 2, keep_best=None).params()["keep_best"] == ""


@pytest.mark.parametrize("make, message", [
    (lambda: Data(classes=["cat"]), "data.classes: ['cat'] is not allowed; classes is a "
     "list of 2 or more class names (the data's folder names, e.g. 'cat'), or None for all"),
    (lambda: Data(classes=["cat", "cat"]), "data.classes: ['cat', 'cat'] is not allowed; "
     "each class is named once"),
    (lambda: Data(classes=["a,b", "c"]), "data.classes: ['a,b', 'c'] is not allowed"),
    (lambda: Data(validation="train"), "data.validation: 'train' is not allowed; validation "
     "is a fraction in (0, 1) of the training images, 'test' (the test set) or 'test_half' "
     "(a seeded half of it; the other half is the test)"),
    (lambda: Augmentation(shift=1.0), "augmentation.shift: 1.0 is not allowed; shift is a "
     "number from 0 to 1 (excluded)"),
    (lambda: Augmentation(rotation=float("nan")), "augmentation.rotation: nan is not allowed"),
    (lambda: Augmentation(flip=1), "augmentation.flip: 1 is not allowed; flip is True or False"),
    (lambda: EarlyStopping("val_acc", 10), "budget.early_stopping.monitor: 'val_acc' is not "
     "allowed; early stopping monitors one of val_loss, val_accuracy, loss, accuracy"),
    (lambda: EarlyStopping("val_loss", 0), "budget.early_stopping.patience: 0 is not allowed; "
     "patience is a whole number of epochs >= 1, at most 10000"),
    (lambda: EarlyStopping("val_loss", 3, keep_best="top5"), "budget.early_stopping.keep_best: "
     "'top5' is not allowed"),
    (lambda: Budget(patience=3, early_stopping=EarlyStopping()), "budget.patience: 3 is not "
     "allowed; give patience or early_stopping, not both"),
    (lambda: Compute(data_parallel="yes"), "compute.data_parallel: 'yes' is not allowed; "
     "data_parallel is True or False"),
])
def test_bad_settings_are_refused_in_one_line(make, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        make()


def test_bad_settings_name_the_sweep_file(tmp_path):
    path = sweep_with(tmp_path, "augmentation=Augmentation(zoom=-0.1)")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: augmentation.zoom: -0.1 is "
                                          "not allowed; zoom is a number from 0 to 1"):
        load_sweep(path)


def test_a_setting_given_twice_is_refused(tmp_path):
    path = sweep_with(tmp_path, "augmentation=Augmentation(flip=True)",
                      space="{'parameters': {'flip': {'grid': [True, False]}}}")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: space.flip: 'flip' is not "
                                          r"allowed; the sweep sets it \(data, "):
        load_sweep(path)


TUTORIALS = {
    "vgg_8class": ("keras_book:vgg2",
                   {"dense_dropout": 0.5, "units_1": 256, "units_2": 256, "dropout_1": 0.25,
                    "dropout_2": 0.25, "flip": True, "shift": 0.2, "rotation": 15,
                    "stop_monitor": "val_accuracy", "stop_patience": 10,
                    "keep_best": "val_loss"}, 50),
    "cnn3_sgd": ("deep_learning_lab:cnn3",
                 {"optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.01, "units_1": 80}, 64),
    "convnet": ("curious_insight:convnet",
                {"learning_rate": 0.01, "pooling": "max", "flip": True, "shift": 0.1}, 256),
    "convnet2": ("curious_insight:convnet2",
                 {"learning_rate": 0.01, "filters_5": 160, "flip": True, "shift": 0.1}, 256),
    "convnet_resnet": ("curious_insight:resnet_small",
                       {"learning_rate": 0.01, "res_layers": 2, "flip": True, "shift": 0.1}, 256),
    "convbn_augmentation": ("quick_reference:convbn",
                            {"optimizer": "adam", "dense_dropout": 0.2, "flip": True,
                             "rotation": 20.0, "shift": 0.02}, 32),
}


@pytest.mark.parametrize("name", sorted(TUTORIALS))
def test_each_tutorials_sweep_starts_from_its_configuration(name):
    function, first, batch = TUTORIALS[name]
    sweep = load_sweep(ROOT / "sweeps" / f"{name}.py")
    assert isinstance(sweep.space, Space) and isinstance(sweep.model, Model)
    assert str(sweep.model.build) == f"tutorial_models.{function}"
    grid = sweep.space.grid()
    assert first.items() <= grid[0].items() and len(grid) > 1
    assert sweep.budget.batch_size == batch and sweep.sampler.kind == "grid"
    assert sweep.override(epochs=200).budget.epochs == 200


def test_the_quick_reference_sweep_compares_with_and_without_augmentation():
    grid = load_sweep(ROOT / "sweeps" / "convbn_augmentation.py").space.grid()
    assert grid[1] == {"optimizer": "adam", "dense_dropout": 0.2, "flip": False}
    assert load_sweep(ROOT / "sweeps" / "vgg_8class.py").data.validation == "test"

"""What a session checks of the data before any study or run exists."""

import dataclasses

import pytest

from cifar_search import Data, Sweep
from cifar_search.errors import DataError
from cifar_search.session.data import prepare_data
from cifar_search.workspace import Workspace


def sweep_on(source, **data):
    return Sweep(name="checked", model="intro", sampler="grid", source="sweeps/checked.py",
                 space={"parameters": {"optimizer": {"grid": ["sgd", "adam"]}}},
                 data=Data(source=str(source), **data))


def test_a_class_the_data_lacks_is_refused_naming_the_sweep_file(tiny_data, tmp_path):
    sweep = sweep_on(tiny_data, classes=["c1", "truck"])
    with pytest.raises(DataError, match=r"^sweeps/checked\.py: data\.classes: 'truck' is not a "
                                        r"class of .*; its classes are c0, c1, .*c9$"):
        prepare_data(sweep, Workspace.at(tmp_path / "ws"))
    assert not (tmp_path / "ws" / "optuna.db").exists()


def test_classes_the_data_has_and_a_subset_it_holds_pass(tiny_data, tmp_path):
    sweep = dataclasses.replace(sweep_on(tiny_data, classes=["c1", "c4"]))
    assert prepare_data(sweep, Workspace.at(tmp_path / "ws")).is_dir()

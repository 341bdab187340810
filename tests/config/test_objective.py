"""Objective: one metric as before, several measures with their directions (pure)."""

import pytest

from cifar_search import Objective, Sweep


@pytest.mark.parametrize("metric, direction, expected", [
    (["val_accuracy", "params"], None, ("maximize", "minimize")),
    (["val_loss", "latency_ms", "train_seconds"], None, ("minimize",) * 3),
    (["val_accuracy", "params"], ["maximize", "maximize"], ("maximize", "maximize")),
    ("val_accuracy", None, ("maximize",)),
    ("val_loss", "maximize", ("maximize",)),
    (["val_loss"], None, ("minimize",)),
])
def test_directions_are_inferred_from_the_measures_table_or_given(metric, direction, expected):
    assert Objective(metric, direction).directions == expected


def test_one_objective_keeps_its_fingerprint_and_attributes():
    objective = Objective("val_accuracy")
    assert objective.fingerprint() == {"metric": "val_accuracy", "direction": "maximize"}
    assert objective.to_dict() == objective.fingerprint()
    assert (objective.metric, objective.direction, objective.several) == (
        "val_accuracy", "maximize", False)
    assert Objective(["val_loss"]) == Objective("val_loss")
    sweep = Sweep(name="x", space={"parameters": {"dropout_rate": {"grid": [0.1]}}},
                  model="dropout", sampler="grid")
    assert sweep.fingerprint()["objective"] == {"metric": "val_loss", "direction": "minimize"}


def test_several_objectives_prune_on_the_first_curve_and_pick_the_first_by_default():
    objective = Objective(["params", "val_loss", "val_accuracy"])
    assert objective.several and objective.metrics == ("params", "val_loss", "val_accuracy")
    assert (objective.prune_on, objective.metric, objective.direction) == (
        "val_loss", "val_loss", "minimize")
    assert (objective.pick, objective.chosen_by) == ("params", "params")
    assert objective.fingerprint() == {"metric": ["params", "val_loss", "val_accuracy"],
                                       "direction": ["minimize", "minimize", "maximize"]}
    assert objective.to_dict()["prune_on"] == "val_loss"


def test_prune_on_and_pick_are_named_and_the_curve_need_not_be_an_objective():
    objective = Objective(["val_accuracy", "params"], prune_on="val_loss", pick="params")
    assert (objective.metric, objective.direction, objective.chosen_by) == (
        "val_loss", "minimize", "params")
    assert objective.direction_of("params") == "minimize"

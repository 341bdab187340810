"""The samplers' fit to a space, as plain rules: the ``auto`` rule as a table, the spaces a
kind cannot work on, and the parameters a kind draws at random."""

import pytest

from cifar_search.config.samplers import GP_MAX_TRIALS, Shape, fallback_note, misfit, pick, shape_of
from cifar_search.config.space import Space

LR = {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}
RATE = {"type": "float", "low": 0.0, "high": 0.5}
OPTIMIZER = {"choices": ["sgd", "adam"]}
MOMENTUM = {"type": "float", "low": 0.5, "high": 0.9, "when": {"optimizer": "sgd"}}


def space(**parameters):
    return Space.from_dict({"parameters": parameters})


def test_the_shape_of_a_space():
    shape = shape_of(space(optimizer=OPTIMIZER, momentum=MOMENTUM, learning_rate=LR,
                           units={"grid": [8, 16]}, filters=4))
    assert shape == Shape(numeric=("momentum", "learning_rate"),
                          categorical=("optimizer", "units"), conditional=("momentum",))
    assert shape.modelled == ("learning_rate",)
    assert shape_of(space(units={"grid": [8, 16]}, depth={"type": "int", "low": 1,
                                                          "high": 3})).grid_points == 6


@pytest.mark.parametrize("parameters, trials, gp_installed, kind", [
    # every parameter listed, the grid fits in the trials (or the sweep ends with the grid)
    ({"optimizer": OPTIMIZER, "units": {"grid": [8, 16]}}, 4, False, "grid"),
    ({"optimizer": OPTIMIZER, "units": {"grid": [8, 16]}}, None, True, "grid"),
    ({"depth": {"type": "int", "low": 1, "high": 3}}, 3, True, "grid"),
    # listed, but more points than trials: a model of the space
    ({"optimizer": OPTIMIZER, "units": {"grid": [8, 16]}}, 3, True, "tpe"),
    # numeric ranges that always exist, a small budget: gp when PyTorch is there
    ({"learning_rate": LR, "dropout_rate": RATE}, 20, True, "gp"),
    ({"learning_rate": LR, "dropout_rate": RATE}, 20, False, "tpe"),
    ({"learning_rate": LR}, GP_MAX_TRIALS, True, "gp"),
    ({"learning_rate": LR}, GP_MAX_TRIALS + 1, True, "tpe"),
    # categorical or conditional parameters
    ({"learning_rate": LR, "optimizer": OPTIMIZER}, 20, True, "tpe"),
    ({"optimizer": {"choices": ["sgd"]}, "momentum": MOMENTUM, "learning_rate": LR}, 20, True,
     "tpe"),
    # no trials and no grid: tpe, which the engine then refuses without a number of trials
    ({"learning_rate": LR}, None, True, "tpe"),
])
def test_the_auto_rule(parameters, trials, gp_installed, kind):
    assert pick(shape_of(space(**parameters)), trials, gp_installed).kind == kind


def test_auto_says_why_and_how_to_get_gp():
    shape = shape_of(space(learning_rate=LR))
    assert pick(shape, 20, True).reason == (
        "every swept parameter is a numeric range and the budget is small (20 trials, at most "
        "100)")
    assert pick(shape, 20, False).reason.endswith(
        "but PyTorch is not installed: pip install -e \".[gp]\"")
    assert pick(shape_of(space(optimizer=OPTIMIZER)), 1, True).reason == (
        "the space has categorical parameters (optimizer)")


def test_the_spaces_a_sampler_cannot_work_on():
    categorical = shape_of(space(optimizer=OPTIMIZER, units={"grid": [8, 16]}))
    conditional = shape_of(space(optimizer=OPTIMIZER, momentum=MOMENTUM))
    assert misfit("cmaes", categorical).startswith("CMA-ES models numeric ranges")
    assert misfit("cmaes", conditional) is not None  # momentum exists for sgd only
    assert misfit("cmaes", shape_of(space(learning_rate=LR, optimizer=OPTIMIZER))) is None
    assert misfit("qmc", conditional).startswith("a quasi-random sequence draws every")
    assert misfit("qmc", categorical) is None
    for kind in ("grid", "random", "tpe", "nsga2", "gp"):
        assert misfit(kind, conditional) is None


def test_what_a_sampler_draws_at_random_is_said_once():
    shape = shape_of(space(optimizer=OPTIMIZER, momentum=MOMENTUM, learning_rate=LR))
    assert fallback_note("cmaes", shape) == (
        "sampler 'cmaes': CMA-ES models learning_rate; momentum, optimizer (categorical or "
        "conditional) are drawn at random in each trial, as Optuna's CmaEsSampler does")
    assert fallback_note("gp", shape).startswith("sampler 'gp': momentum (conditional)")
    assert fallback_note("cmaes", shape_of(space(learning_rate=LR))) is None
    assert fallback_note("tpe", shape) is None

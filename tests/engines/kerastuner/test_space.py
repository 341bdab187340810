"""The space as KerasTuner hyperparameters: every shipped space translated and read back, each
parameter form, conditions, and what KerasTuner cannot express (pinned messages)."""

import keras_tuner
import pytest

from cifar_search.config.space import Space, load_space
from cifar_search.engines.kerastuner.space import hyperparameters, params_of, specs
from cifar_search.errors import ConfigError
from tests.helpers import OWN_MODEL_SPACES, ROOT

SHIPPED = sorted((ROOT / "search_spaces").glob("*.yaml"))

KT_CLASS = {"Fixed": "Fixed", "Choice": "Choice", "Int": "Int", "Float": "Float"}


def space(parameters, source="space.yaml"):
    return Space.from_dict({"parameters": parameters}, source=source)


def conditions_of(hp_object):
    return [(c.name, tuple(c.values)) for c in hp_object.conditions]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_space_round_trips(path):
    """Translated, saved as KerasTuner config and read back: the same parameters, kinds,
    bounds and conditions; values KerasTuner draws are values the space allows, active
    exactly where the space says."""
    original = load_space(path, own=path.stem in OWN_MODEL_SPACES)
    read_back = keras_tuner.HyperParameters.from_config(hyperparameters(original).get_config())
    by_name = {hp.name: hp for hp in read_back.space}
    assert list(by_name) == list(original.names)
    for spec in specs(original):
        hp = by_name[spec.name]
        assert type(hp).__name__ == KT_CLASS[spec.kind]
        for key, value in spec.args.items():
            assert getattr(hp, key if key != "values" else "values") == value
        assert conditions_of(hp) == [(p, tuple(v)) for p, v in spec.scopes]
    oracle = keras_tuner.oracles.RandomSearchOracle(
        objective="val_loss", max_trials=40, hyperparameters=read_back, seed=1)
    for trial in range(40):
        values = oracle.populate_space(str(trial))["values"]
        params = params_of(original, values)
        for param in original.params:
            assert (param.name in params) == param.active(params)
            if param.name in params:
                assert param.possible(params[param.name]), (param.name, params)


@pytest.mark.parametrize("parameters, kind, args", [
    ({"activation": "relu"}, "Fixed", {"value": "relu"}),
    ({"optimizer": {"choices": ["sgd", "adam"]}}, "Choice", {"values": ["sgd", "adam"]}),
    ({"dropout_rate": {"grid": [0, 0.5]}}, "Choice", {"values": [0.0, 0.5]}),
    ({"depth": {"type": "int", "low": 1, "high": 4, "step": 3}}, "Int",
     {"min_value": 1, "max_value": 4, "step": 3, "sampling": "linear"}),
    ({"filters": {"type": "int", "low": 8, "high": 64, "log": True}}, "Int",
     {"min_value": 8, "max_value": 64, "step": None, "sampling": "log"}),
    ({"learning_rate": {"type": "float", "low": 1e-4, "high": 0.1, "log": True}}, "Float",
     {"min_value": 1e-4, "max_value": 0.1, "step": None, "sampling": "log"}),
    ({"momentum": {"type": "float", "low": 0.0, "high": 0.9, "step": 0.3}}, "Float",
     {"min_value": 0.0, "max_value": 0.9, "step": 0.3, "sampling": "linear"}),
])
def test_each_parameter_form(parameters, kind, args):
    (spec,) = specs(space(parameters))
    assert (spec.kind, dict(spec.args), spec.scopes) == (kind, args, ())


def test_a_range_condition_on_an_int_becomes_the_values_it_allows():
    made = specs(space({"depth": {"type": "int", "low": 1, "high": 4},
                        "filters_3": {"choices": [16, 32], "when": {"depth": {"min": 3}}},
                        "optimizer": {"choices": ["sgd", "adam"]},
                        "momentum": {"value": 0.9, "when": {"optimizer": "sgd"}}}))
    assert made[1].scopes == (("depth", (3, 4)),)
    assert made[3].scopes == (("optimizer", ("sgd",)),)


def test_params_leave_out_inactive_parameters_and_kerastuners_own_entries():
    made = space({"optimizer": {"choices": ["sgd", "adam"]},
                  "momentum": {"type": "float", "low": 0.0, "high": 0.9, "step": 0.1,
                               "when": {"optimizer": "sgd"}},
                  "filters": 8})
    assert params_of(made, {"optimizer": "adam", "momentum": 0.3, "tuner/epochs": 2}) == {
        "optimizer": "adam", "filters": 8}
    assert params_of(made, {"optimizer": "sgd", "momentum": 0.30000000000000004}) == {
        "optimizer": "sgd", "momentum": 0.3, "filters": 8}


@pytest.mark.parametrize("parameters, message", [
    ({"dropout_rate": {"type": "float", "low": 0.0, "high": 0.5},
      "learning_rate": {"value": 0.01, "when": {"dropout_rate": {"min": 0.2}}}},
     "space.yaml: space.learning_rate: when.dropout_rate={'min': 0.2} is a range of a "
     "continuous parameter; KerasTuner's conditions list the parent's values: give "
     "dropout_rate a step or a grid, or use engine 'optuna'"),
])
def test_what_kerastuner_cannot_express_is_refused_naming_file_and_key(parameters, message):
    with pytest.raises(ConfigError) as error:
        specs(space(parameters))
    assert str(error.value) == message

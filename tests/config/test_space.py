"""Parsing and validating search spaces: tables of input -> expected output or error."""

import optuna
import pytest

from cifar_search.errors import ConfigError
from cifar_search.config.space import Choice, Fixed, FloatRange, IntRange, Space, load_space
from tests.helpers import ROOT


def parse(parameters):
    return Space.from_dict({"parameters": parameters}, source="space.yaml")


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("relu", Fixed("activation", value="relu")),
        ({"value": "tanh"}, Fixed("activation", value="tanh")),
        ({"choices": ["relu", "elu"]}, Choice("activation", values=("relu", "elu"))),
        ({"grid": ["relu", "gelu"]}, Choice("activation", values=("relu", "gelu"), kind="grid")),
    ],
)
def test_categorical_forms(spec, expected):
    assert parse({"activation": spec})["activation"] == expected


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"type": "int", "low": 1, "high": 4}, IntRange("depth", low=1, high=4)),
        ({"type": "int", "low": 1, "high": 5, "step": 2}, IntRange("depth", low=1, high=5, step=2)),
        ({"type": "int", "low": 1, "high": 4, "log": True}, IntRange("depth", low=1, high=4, log=True)),
    ],
)
def test_int_ranges(spec, expected):
    assert parse({"depth": spec})["depth"] == expected


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"type": "float", "low": 0.0, "high": 0.5}, FloatRange("dropout_rate", low=0.0, high=0.5)),
        ({"type": "float", "low": 0, "high": 0.5, "step": 0.1},
         FloatRange("dropout_rate", low=0.0, high=0.5, step=0.1)),
        ({"type": "float", "low": 0.1, "high": 0.5, "log": True},
         FloatRange("dropout_rate", low=0.1, high=0.5, log=True)),
    ],
)
def test_float_ranges(spec, expected):
    assert parse({"dropout_rate": spec})["dropout_rate"] == expected


@pytest.mark.parametrize(
    "parameters, grid",
    [
        ({"dropout_rate": {"grid": [0.15, 0.3]}}, [{"dropout_rate": 0.15}, {"dropout_rate": 0.3}]),
        ({"depth": {"type": "int", "low": 1, "high": 2}, "filters": 8},
         [{"depth": 1, "filters": 8}, {"depth": 2, "filters": 8}]),
        ({"dropout_rate": {"type": "float", "low": 0.0, "high": 0.2, "step": 0.1}},
         [{"dropout_rate": 0.0}, {"dropout_rate": 0.1}, {"dropout_rate": 0.2}]),
        # conditional: momentum exists only for sgd, so adam contributes one point
        ({"optimizer": {"choices": ["sgd", "adam"]},
          "momentum": {"grid": [0.0, 0.9], "when": {"optimizer": "sgd"}}},
         [{"optimizer": "sgd", "momentum": 0.0}, {"optimizer": "sgd", "momentum": 0.9},
          {"optimizer": "adam"}]),
        # per-block filters exist only up to depth
        ({"depth": {"grid": [1, 2]}, "filters_2": {"grid": [8, 16], "when": {"depth": {"min": 2}}}},
         [{"depth": 1}, {"depth": 2, "filters_2": 8}, {"depth": 2, "filters_2": 16}]),
    ],
)
def test_grid(parameters, grid):
    assert parse(parameters).grid() == grid


def test_round_trip_through_plain_data():
    space = parse({
        "optimizer": {"choices": ["sgd", "adam"]},
        "momentum": {"type": "float", "low": 0.0, "high": 0.9, "when": {"optimizer": "sgd"}},
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "depth": {"type": "int", "low": 1, "high": 3},
        "filters_3": {"choices": [32, 64], "when": {"depth": {"min": 3}}},
        "activation": "relu",
    })
    assert Space.from_dict(space.to_dict(), source="space.yaml") == space


def test_suggest_follows_conditions():
    space = parse({
        "optimizer": {"choices": ["sgd", "adam"]},
        "momentum": {"type": "float", "low": 0.0, "high": 0.9, "when": {"optimizer": "sgd"}},
        "activation": "relu",
    })
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(20):
        trial = study.ask()
        params = space.suggest(trial)
        assert params["activation"] == "relu"
        assert ("momentum" in params) == (params["optimizer"] == "sgd")
        assert "activation" not in trial.params  # fixed values are not Optuna parameters
        seen.add(params["optimizer"])
        study.tell(trial, 0.0)
    assert seen == {"sgd", "adam"}


def test_scientific_notation_without_dot_is_a_float(tmp_path):
    path = tmp_path / "lr.yaml"
    path.write_text("parameters:\n  learning_rate: {type: float, low: 1e-4, high: 1e-1, log: true}\n")
    assert load_space(path)["learning_rate"] == FloatRange(
        "learning_rate", low=1e-4, high=1e-1, log=True)


def test_shipped_spaces_are_valid():
    files = sorted(ROOT.joinpath("search_spaces").glob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        assert load_space(path).params


def test_continuous_range_has_no_grid():
    space = parse({"learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}})
    with pytest.raises(ConfigError, match="continuous range; a grid search needs finite values"):
        space.grid()


def test_each_parameter_samples_the_distribution_built_while_loading():
    space = parse({
        "optimizer": {"choices": ["sgd", "adam"]},
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "depth": {"type": "int", "low": 1, "high": 5, "step": 2},
        "dropout_rate": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        "activation": "relu",
    })
    trial = optuna.create_study().ask()
    space.suggest(trial)
    assert trial.distributions == {p.name: p.distribution() for p in space.params
                                   if p.distribution() is not None}


def test_a_grid_is_counted_before_it_is_built(monkeypatch):
    from cifar_search.config import space as module

    monkeypatch.setattr(module, "MAX_GRID_POINTS", 6)
    small = parse({"depth": {"grid": [1, 2]}, "units": {"grid": [8, 16, 32]}})
    assert len(small.grid()) == 6
    large = parse({"depth": {"grid": [1, 2]}, "units": {"grid": [8, 16, 32, 64]}})
    with pytest.raises(ConfigError, match="the grid has more than 6 points"):
        large.grid()
    # a conditional parameter counts only where it is active: 1 + 1 + 4 points
    conditional = parse({"depth": {"grid": [1, 2, 3]},
                         "filters_3": {"grid": [8, 16, 32, 64], "when": {"depth": {"min": 3}}}})
    assert len(conditional.grid()) == 6

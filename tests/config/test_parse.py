"""Parsing a space's plain data into typed parameters: tables of input -> expected output."""

import pytest

from cifar_search.config.space import Choice, Fixed, FloatRange, IntRange, Space


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
        ({"type": "int", "low": 1, "high": 4, "log": True},
         IntRange("depth", low=1, high=4, log=True)),
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

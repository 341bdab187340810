"""Search spaces: grids, and the shipped space files."""

import pytest

from cifar_search.config.space import Space, load_space
from cifar_search.errors import ConfigError
from tests.helpers import OWN_MODEL_SPACES, ROOT


def parse(parameters):
    return Space.from_dict({"parameters": parameters}, source="space.yaml")


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


def test_shipped_spaces_are_valid():
    files = sorted(ROOT.joinpath("search_spaces").glob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        assert load_space(path, own=path.stem in OWN_MODEL_SPACES).params


def test_continuous_range_has_no_grid():
    space = parse({"learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}})
    with pytest.raises(ConfigError, match="continuous range; a grid search needs finite values"):
        space.grid()


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

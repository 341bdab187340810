"""The space as KerasClassifier parameters, grids and distributions (pure, table-driven)."""

from __future__ import annotations

import pytest

from cifar_search import ConfigError, Space
from cifar_search.engines.sklearn import params
from tests.engines.sklearn.sweeps import OPTIMIZER_GRID


@pytest.mark.parametrize("space_params, as_written, expected", [
    ({"optimizer": "sgd", "momentum": 0.9, "dropout_rate": 0.2, "batch_size": 16}, False,
     {"model__optimizer": "sgd", "model__momentum": 0.9, "model__dropout_rate": 0.2,
      "batch_size": 16}),
    ({"optimizer": "sgd", "learning_rate": 0.1, "dropout_rate": 0.2}, True,
     {"optimizer": "SGD", "optimizer__learning_rate": 0.1, "model__dropout_rate": 0.2}),
])
def test_estimator_params_round_trip(space_params, as_written, expected):
    routed = params.to_estimator_params(space_params, as_written)
    assert routed == expected
    assert params.from_estimator_params({**routed, "random_state": 7}, as_written) == space_params


def test_distributions_translate_each_parameter_type():
    from scipy import stats

    space = Space.from_dict({"parameters": {
        "activation": "relu",
        "optimizer": {"choices": ["sgd", "adam"]},
        "units": {"type": "int", "low": 8, "high": 32, "step": 8},
        "filters": {"type": "int", "low": 4, "high": 64, "log": True},
        "dropout_rate": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.25},
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "weight_decay": {"type": "float", "low": 0.0, "high": 0.01},
    }})
    dists = params.distributions(space)
    assert dists["model__activation"] == ["relu"]
    assert dists["model__optimizer"] == ["sgd", "adam"]
    assert dists["model__units"] == [8, 16, 24, 32]
    assert dists["model__filters"] == params.LogInt(4, 64)
    assert dists["model__dropout_rate"] == [0.0, 0.25, 0.5]
    assert isinstance(dists["model__learning_rate"].dist, type(stats.loguniform))
    assert dists["model__learning_rate"].support() == pytest.approx((1e-4, 1e-1))
    assert dists["model__weight_decay"].support() == pytest.approx((0.0, 0.01))
    draws = [params.LogInt(4, 64).rvs(random_state=seed) for seed in range(200)]
    assert min(draws) >= 4 and max(draws) <= 64 and all(isinstance(d, int) for d in draws)
    assert sum(d < 16 for d in draws) > 60  # log-uniform: half the draws below sqrt(4*64)
    assert params.distributions(space, as_written=True)["optimizer"] == ["SGD", "Adam"]


def test_conditional_random_space_is_refused():
    space = Space.from_dict({"parameters": OPTIMIZER_GRID}, source="spaces/opt.yaml")
    with pytest.raises(ConfigError) as info:
        params.distributions(space)
    assert str(info.value) == (
        "spaces/opt.yaml: momentum: when={'optimizer': 'sgd'} is not allowed with engine "
        "'sklearn' and sampler 'random'; RandomizedSearchCV cannot sample conditional "
        "parameters: use engine 'optuna', or sampler 'grid'")

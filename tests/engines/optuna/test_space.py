"""A space as Optuna samples it: conditions followed, each parameter's distribution."""

import optuna

from cifar_search.config.space import Space
from cifar_search.engines.optuna.space import distribution, suggest


def parse(parameters):
    return Space.from_dict({"parameters": parameters}, source="space.yaml")


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
        params = suggest(space, trial)
        assert params["activation"] == "relu"
        assert ("momentum" in params) == (params["optimizer"] == "sgd")
        assert "activation" not in trial.params  # fixed values are not Optuna parameters
        seen.add(params["optimizer"])
        study.tell(trial, 0.0)
    assert seen == {"sgd", "adam"}


def test_each_parameter_samples_the_distribution_built_while_loading():
    space = parse({
        "optimizer": {"choices": ["sgd", "adam"]},
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "depth": {"type": "int", "low": 1, "high": 5, "step": 2},
        "dropout_rate": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        "activation": "relu",
    })
    trial = optuna.create_study().ask()
    suggest(space, trial)
    assert trial.distributions == {p.name: distribution(p) for p in space.params
                                   if distribution(p) is not None}

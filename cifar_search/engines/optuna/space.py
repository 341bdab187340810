"""A cifar_search space as Optuna sees it: each parameter's distribution, and one trial's
values asked of an Optuna trial.

Example:
    >>> import optuna
    >>> from cifar_search.config.space import Space
    >>> space = Space.from_dict({"parameters": {"dropout_rate": {"grid": [0.2, 0.4]}}})
    >>> trial = optuna.create_study().ask()
    >>> suggest(space, trial)["dropout_rate"] in (0.2, 0.4)
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cifar_search.config.params import Choice, Fixed, FloatRange, IntRange, Param
from cifar_search.config.space import Space
from cifar_search.errors import ConfigError, clipped, shown
from cifar_search.search.distributions import distribution as spec_distribution

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

__all__ = ["check_distributions", "distribution", "suggest", "suggest_param"]


def distribution(param: Param) -> BaseDistribution | None:
    """The Optuna distribution :func:`suggest_param` samples from (None for a fixed value)."""
    return spec_distribution(param.spec())


def suggest_param(param: Param, trial: optuna.Trial) -> Any:
    """Ask an Optuna trial for one parameter's value."""
    if isinstance(param, Fixed):
        return param.value
    if isinstance(param, Choice):
        return trial.suggest_categorical(param.name, list(param.values))
    if isinstance(param, IntRange):
        return trial.suggest_int(param.name, param.low, param.high, step=param.step,
                                 log=param.log)
    if isinstance(param, FloatRange):
        return trial.suggest_float(param.name, param.low, param.high, step=param.step,
                                   log=param.log)
    raise TypeError(f"no Optuna suggestion for {type(param).__name__}")


def suggest(space: Space, trial: optuna.Trial) -> dict[str, Any]:
    """Sample every active parameter from an Optuna trial, in file order."""
    values: dict[str, Any] = {}
    for param in space.params:
        if param.active(values):
            values[param.name] = suggest_param(param, trial)
    return values


def check_distributions(space: Space) -> None:
    """Build each parameter's Optuna distribution now, so that Optuna's own checks run before
    any study exists (a ConfigError naming the space file and the parameter)."""
    for param in space.params:
        try:
            distribution(param)
        except (TypeError, ValueError, OverflowError) as error:
            raise ConfigError(param.name, f"{shown(param.spec())} is not allowed; Optuna "
                              f"refuses it: {clipped(str(error))}", space.source) from None

"""The space as scikit-learn sees it: KerasClassifier parameter names, GridSearchCV candidates
and RandomizedSearchCV distributions. Pure functions (no TensorFlow, no data, no I/O).

Routing: a space parameter ``dropout_rate`` is the model function's ``model__dropout_rate``;
``batch_size`` is a fit argument of KerasClassifier. With ``as_written`` the optimizer and its
settings go where the lesson put them (``optimizer``, ``optimizer__learning_rate``), where
scikeras ignores them once the model function has compiled the model.

Example:
    >>> to_estimator_params({"optimizer": "sgd", "batch_size": 16})
    {'model__optimizer': 'sgd', 'batch_size': 16}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Mapping

import numpy as np

from cifar_search.config.families import OPTIMIZERS
from cifar_search.config.space import Choice, FloatRange, Fixed, IntRange, Param, Space
from cifar_search.errors import ConfigError

__all__ = [
    "LogInt",
    "distributions",
    "from_estimator_params",
    "grid_candidates",
    "to_estimator_params",
]

#: Space parameters that are fit arguments of KerasClassifier, not model-function arguments.
FIT_PARAMS = frozenset({"batch_size"})

#: Optimizer settings that the as-written mode routes to KerasClassifier's ``optimizer__``.
OPTIMIZER_SETTINGS = frozenset({"learning_rate", "momentum", "weight_decay"})


def _estimator_name(name: str, as_written: bool) -> str:
    """The KerasClassifier parameter that carries space parameter ``name``."""
    if name in FIT_PARAMS:
        return name
    if as_written and name == "optimizer":
        return "optimizer"  # KerasClassifier's own, as the lesson did: ignored once compiled
    if as_written and name in OPTIMIZER_SETTINGS:
        return f"optimizer__{name}"  # scikeras routes these to that optimizer: ignored too
    return f"model__{name}"


def _estimator_value(name: str, value: Any, as_written: bool) -> Any:
    """The value KerasClassifier gets: the Keras class name of an as-written optimizer."""
    if as_written and name == "optimizer":
        return OPTIMIZERS[value]  # the Keras class name, "SGD", as in the lesson
    return value


def to_estimator_params(params: Mapping[str, Any], as_written: bool = False) -> dict[str, Any]:
    """A candidate's space parameters as KerasClassifier parameters.

    Example:
        >>> to_estimator_params({"optimizer": "sgd", "batch_size": 16, "dropout_rate": 0.2})
        {'model__optimizer': 'sgd', 'batch_size': 16, 'model__dropout_rate': 0.2}
        >>> to_estimator_params({"optimizer": "sgd", "learning_rate": 0.1}, as_written=True)
        {'optimizer': 'SGD', 'optimizer__learning_rate': 0.1}
    """
    return {_estimator_name(k, as_written): _estimator_value(k, v, as_written)
            for k, v in params.items()}


def from_estimator_params(params: Mapping[str, Any], as_written: bool = False) -> dict[str, Any]:
    """The inverse of :func:`to_estimator_params` (``random_state`` is left out; NumPy
    scalars become the Python values they hold).

    Example:
        >>> from_estimator_params({"optimizer": "SGD", "random_state": 7}, as_written=True)
        {'optimizer': 'sgd'}
    """
    classes = {cls: name for name, cls in OPTIMIZERS.items()}
    result: dict[str, Any] = {}
    for key, value in params.items():
        if key == "random_state":
            continue
        name = key.split("__", 1)[1] if "__" in key else key
        value = value.item() if isinstance(value, np.generic) else value
        result[name] = classes[value] if as_written and key == "optimizer" else value
    return result


def grid_candidates(space: Space) -> list[dict[str, Any]]:
    """Every grid point of the space (conditional parameters only where active): the same
    candidates as the Optuna engine's grid.

    Raises:
        ConfigError: a continuous range, or a grid that is too large (see ``Space.grid``).
    """
    return space.grid()


@dataclass(frozen=True)
class LogInt:
    """Whole numbers in [``low``, ``high``], log-uniform and rounded, as Optuna samples
    ``suggest_int(log=True)``; a scipy-like distribution for ParameterSampler.

    Example:
        >>> 4 <= LogInt(4, 64).rvs(random_state=0) <= 64
        True
    """

    low: int
    high: int

    def rvs(self, random_state: Any = None) -> int:
        """One draw."""
        from scipy import stats

        value = stats.loguniform(self.low - 0.5, self.high + 0.5).rvs(random_state=random_state)
        return int(min(self.high, max(self.low, round(float(value)))))


def _distribution(param: Param) -> Any:
    """A RandomizedSearchCV distribution of one parameter: a list, or a scipy distribution."""
    from scipy import stats

    if isinstance(param, (Fixed, Choice)):
        return list(param.grid_values())
    if isinstance(param, IntRange):
        return LogInt(param.low, param.high) if param.log else param.grid_values()
    if isinstance(param, FloatRange):
        if param.step is not None:
            return param.grid_values()
        if param.low == param.high:
            return [param.low]
        if param.log:
            return stats.loguniform(param.low, param.high)
        return stats.uniform(param.low, param.high - param.low)
    raise TypeError(f"unknown parameter type {type(param).__name__}")


def _random_values(param: Param, as_written: bool) -> Any:
    """:func:`_distribution`, its listed values as KerasClassifier values."""
    values = _distribution(param)
    if isinstance(values, list):
        return [_estimator_value(param.name, v, as_written) for v in values]
    return values


def distributions(space: Space, as_written: bool = False) -> dict[str, Any]:
    """RandomizedSearchCV distributions of the space, keyed by KerasClassifier parameter.

    Fixed values and choices become lists, integer ranges the list of their values (or
    log-uniform whole numbers), stepped float ranges their values, other float ranges
    ``scipy.stats.uniform`` or ``loguniform``. When every distribution is a list,
    scikit-learn draws distinct candidates.

    Raises:
        ConfigError: the space has conditional (``when``) parameters, which RandomizedSearchCV
            cannot sample.

    Example:
        >>> space = Space.from_dict({"parameters": {"optimizer": {"choices": ["sgd", "adam"]}}})
        >>> distributions(space)
        {'model__optimizer': ['sgd', 'adam']}
    """
    for param in space.params:
        if param.when:
            when = {c.param: c.to_data() for c in param.when}
            raise ConfigError(
                param.name, f"when={when!r} is not allowed with engine 'sklearn' and sampler "
                "'random'; RandomizedSearchCV cannot sample conditional parameters: use "
                "engine 'optuna', or sampler 'grid'", space.source)
    return {_estimator_name(p.name, as_written): _random_values(p, as_written)
            for p in space.params}

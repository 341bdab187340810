"""A cifar_search space as KerasTuner hyperparameters, translated once, and back.

Each parameter becomes one KerasTuner hyperparameter: a fixed value ``Fixed``, choices and grid
values ``Choice``, int and float ranges ``Int`` / ``Float`` (``step``; ``log: true`` as
``sampling="log"``). Each clause of ``when`` opens a ``conditional_scope`` on its parent, a
``{min:, max:}`` clause as the list of the parent's values it allows. What KerasTuner cannot
express (a range condition on a continuous parent, a choice of mixed types) is a
:class:`~cifar_search.errors.ConfigError` naming the space file and the key.

:func:`specs` is pure (plain data, no KerasTuner: a sweep is checked without importing
TensorFlow); :func:`hyperparameters` builds the ``keras_tuner.HyperParameters``;
:func:`params_of` turns a trial's values back into the parameters the space gives a trial.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from collections.abc import Mapping

from cifar_search.config.space import Choice, Condition, Fixed, FloatRange, IntRange, Param, Space
from cifar_search.errors import ConfigError, shown

if TYPE_CHECKING:
    import keras_tuner

#: Values a KerasTuner condition lists at most (a ``{min:, max:}`` clause is enumerated).
MAX_CONDITION_VALUES = 10_000


@dataclass(frozen=True)
class HpSpec:
    """One KerasTuner hyperparameter as plain data.

    Attributes:
        kind: ``Fixed``, ``Choice``, ``Int`` or ``Float`` (the ``HyperParameters`` method).
        name: the parameter.
        args: the method's keyword arguments besides name and the conditions.
        scopes: ``(parent, allowed values)`` for each ``conditional_scope`` it is made in.
    """

    kind: str
    name: str
    args: Mapping[str, Any]
    scopes: tuple[tuple[str, tuple], ...] = ()


def _error(space: Space, name: str, problem: str) -> ConfigError:
    return ConfigError(f"space.{name}", problem, space.source)


def _one_type(space: Space, param: Param, values: tuple) -> list[Any]:
    """Choice values of one type, as KerasTuner requires (whole numbers among reals become
    reals)."""
    kinds = {type(v) for v in values}
    if kinds == {int, float}:
        return [float(v) for v in values]
    if len(kinds) > 1:
        raise _error(space, param.name, f"{shown(list(values))} mixes "
                     f"{', '.join(sorted(k.__name__ for k in kinds))}; KerasTuner's Choice "
                     "takes values of one type (use engine 'optuna')")
    return list(values)


def _args(space: Space, param: Param) -> tuple[str, dict[str, Any]]:
    """The HyperParameters method and its arguments for one parameter."""
    if isinstance(param, Fixed):
        return "Fixed", {"value": param.value}
    if isinstance(param, Choice):
        return "Choice", {"values": _one_type(space, param, param.values)}
    if isinstance(param, IntRange):
        step = None if param.log else param.step
        return "Int", {"min_value": param.low, "max_value": param.high, "step": step,
                       "sampling": "log" if param.log else "linear"}
    if isinstance(param, FloatRange):
        return "Float", {"min_value": param.low, "max_value": param.high, "step": param.step,
                         "sampling": "log" if param.log else "linear"}
    raise _error(space, param.name, f"{type(param).__name__} has no KerasTuner form")


def _allowed(space: Space, param: Param, condition: Condition) -> tuple:
    """The parent's values a clause allows, as the list KerasTuner's condition takes."""
    if condition.values is not None:
        return tuple(condition.values)
    parent = space[condition.param]
    values = parent.grid_values()
    if values is None or len(values) > MAX_CONDITION_VALUES:
        raise _error(space, param.name, f"when.{condition.param}={shown(condition.to_data())} "
                     f"is a range of a continuous parameter; KerasTuner's conditions list "
                     f"the parent's values: give {condition.param} a step or a grid, or use "
                     "engine 'optuna'")
    return tuple(v for v in values if condition.holds(v))


def specs(space: Space) -> list[HpSpec]:
    """The space as KerasTuner hyperparameters, in file order (pure).

    Raises:
        ConfigError: a parameter or condition KerasTuner cannot express.

    Example:
        >>> specs(Space.from_dict({"parameters": {"depth": {"type": "int", "low": 1,
        ...                                                 "high": 3}}}))[0].kind
        'Int'
    """
    result = []
    for param in space.params:
        kind, args = _args(space, param)
        scopes = tuple((c.param, _allowed(space, param, c)) for c in param.when)
        result.append(HpSpec(kind, param.name, args, scopes))
    return result


def hyperparameters(space: Space) -> keras_tuner.HyperParameters:
    """The space as a ``keras_tuner.HyperParameters`` (conditions as nested scopes)."""
    import contextlib

    import keras_tuner

    hp = keras_tuner.HyperParameters()
    for spec in specs(space):
        with contextlib.ExitStack() as scopes:
            for parent, values in spec.scopes:
                scopes.enter_context(hp.conditional_scope(parent, list(values)))
            getattr(hp, spec.kind)(spec.name, **spec.args)
    return hp


def params_of(space: Space, values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a trial of ``values`` (KerasTuner's) trains with: every parameter active
    under the values chosen before it, in file order; KerasTuner's ``tuner/…`` entries left out.

    Example:
        >>> space = Space.from_dict({"parameters": {"dropout_rate": {"grid": [0.2]}}})
        >>> params_of(space, {"dropout_rate": 0.2, "tuner/epochs": 3})
        {'dropout_rate': 0.2}
    """
    params: dict[str, Any] = {}
    for param in space.params:
        if not param.active(params):
            continue
        value = param.value if isinstance(param, Fixed) else values[param.name]
        if isinstance(param, FloatRange):
            value = round(float(value), 12)  # KerasTuner steps accumulate rounding error
        elif isinstance(param, IntRange):
            value = int(value)
        params[param.name] = value
    return params

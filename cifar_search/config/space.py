"""Declarative search spaces: a YAML file parsed into typed, validated parameters.

A space file has an optional ``description`` and a ``parameters`` mapping. Each parameter is one
of::

    parameters:
      activation: relu                                  # fixed value
      optimizer: {choices: [sgd, rmsprop, adam]}        # categorical
      dropout_rate: {grid: [0.15, 0.30, 0.45]}          # explicit grid values
      depth: {type: int, low: 2, high: 4}               # int range (step, log optional)
      learning_rate: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
      momentum: {type: float, low: 0.0, high: 0.9, step: 0.1, when: {optimizer: sgd}}
      filters_4: {choices: [64, 128], when: {depth: {min: 4}}}

``when`` makes a parameter conditional on parameters defined *before* it: a value, a list of
values, or ``{min: …, max: …}`` for numbers; several keys must all hold.

Everything is checked when the file is read: types, finite numbers within each parameter's
bounds, ``log`` with ``low > 0``, empty, oversized or repeated choices, unknown keys, unknown
parameter, optimizer and activation names, and conditions that reference missing parameters or
values they can never take; each parameter's Optuna distribution is built, so that Optuna's own
checks run too. The file itself is bounded: at most :data:`MAX_SPACE_BYTES` of UTF-8, no YAML
anchors or aliases, no duplicate keys, at most :data:`MAX_NESTING` levels deep. The same
:class:`Space` then samples Optuna trials (:meth:`Space.suggest`) and enumerates grids
(:meth:`Space.grid`).

Example:
    >>> space = Space.from_dict({"parameters": {"dropout_rate": {"grid": [0.2, 0.4]}}})
    >>> space.grid()
    [{'dropout_rate': 0.2}, {'dropout_rate': 0.4}]
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Mapping

import yaml

from cifar_search.errors import ConfigError, clipped, shown
from cifar_search.config.families import (
    ACTIVATIONS,
    LR_SCHEDULES,
    MAX_BATCH_SIZE,
    MAX_BLOCKS,
    MAX_DENSE_LAYERS,
    MAX_FILTERS,
    MAX_LEARNING_RATE,
    MAX_PATIENCE,
    MAX_RES_LAYERS,
    MAX_ROTATION,
    MAX_UNITS,
    MAX_WEIGHT_DECAY,
    OPTIMIZERS,
    POOLINGS,
    STOP_METRICS,
)

__all__ = ["Choice", "Condition", "FloatRange", "Fixed", "IntRange", "Space", "load_space"]

#: A grid larger than this is refused: it would never finish on one machine. It also bounds
#: the values of one ``choices``/``grid`` list and of one range with a ``step``.
MAX_GRID_POINTS = 100_000

#: Largest space file, in bytes: shipped spaces are under 1 KiB; 64 KiB holds a list of some
#: 12,000 grid values, and the (pure-Python) YAML parser reads it in about half a second.
MAX_SPACE_BYTES = 64 * 1024

#: Deepest nesting of YAML collections (a space needs 5: parameters, name, when, parent, min).
MAX_NESTING = 16

SPEC_KEYS = ("type", "low", "high", "step", "log", "choices", "grid", "value", "when")


# --------------------------------------------------------------------------------------------
# What each hyperparameter accepts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """The values one hyperparameter accepts."""

    kind: str  # "float", "int", "bool" or "name"
    check: Callable[[Any], bool]
    allowed: str


def _names(options: Iterable[str]) -> Callable[[Any], bool]:
    allowed = set(options)
    return lambda value: value in allowed


#: Every number must also be finite (see :func:`check_value`); the bounds' reasons are given
#: with the constants in :mod:`cifar_search.config.families`.
RULES: dict[str, Rule] = {
    "dropout_rate": Rule("float", lambda v: 0 <= v < 1, "a dropout rate lies in [0, 1)"),
    "learning_rate": Rule("float", lambda v: 0 < v <= MAX_LEARNING_RATE,
                          f"a learning rate lies in (0, {MAX_LEARNING_RATE:g}]"),
    "momentum": Rule("float", lambda v: 0 <= v < 1, "momentum lies in [0, 1)"),
    "weight_decay": Rule("float", lambda v: 0 <= v <= MAX_WEIGHT_DECAY,
                         f"weight decay lies in [0, {MAX_WEIGHT_DECAY:g}]"),
    "optimizer": Rule("name", _names(OPTIMIZERS), "optimizers are " + ", ".join(OPTIMIZERS)),
    "activation": Rule("name", _names(ACTIVATIONS), "activations are " + ", ".join(ACTIVATIONS)),
    "depth": Rule("int", lambda v: 1 <= v <= MAX_BLOCKS,
                  f"depth is a whole number of blocks >= 1, at most {MAX_BLOCKS}"),
    "filters": Rule("int", lambda v: 1 <= v <= MAX_FILTERS,
                    f"filters is a whole number >= 1, at most {MAX_FILTERS}"),
    "units": Rule("int", lambda v: 1 <= v <= MAX_UNITS,
                  f"units is a whole number >= 1, at most {MAX_UNITS}"),
    "batch_size": Rule("int", lambda v: 1 <= v <= MAX_BATCH_SIZE,
                       f"batch size is a whole number >= 1, at most {MAX_BATCH_SIZE}"),
    "batch_norm": Rule("bool", lambda v: True, "batch_norm is true or false"),
    "augmentation": Rule("bool", lambda v: True, "augmentation is true or false"),
    "lr_schedule": Rule("name", _names(LR_SCHEDULES),
                        "learning-rate schedules are " + ", ".join(LR_SCHEDULES)),
    "label_smoothing": Rule("float", lambda v: 0 <= v < 1, "label smoothing lies in [0, 1)"),
}
for _block in range(1, MAX_BLOCKS + 1):
    RULES[f"filters_{_block}"] = Rule(
        "int", lambda v: 1 <= v <= MAX_FILTERS,
        f"filters_{_block} is a whole number >= 1, at most {MAX_FILTERS}"
    )

# The tutorials' families and training settings (config/families.py: their meaning).
RULES.update({
    "dense_dropout": Rule("float", lambda v: 0 <= v < 1, "a dropout rate lies in [0, 1)"),
    "dense_layers": Rule("int", lambda v: 0 <= v <= MAX_DENSE_LAYERS,
                         f"dense_layers is a whole number from 0 to {MAX_DENSE_LAYERS}"),
    "res_layers": Rule("int", lambda v: 0 <= v <= MAX_RES_LAYERS,
                       f"res_layers is a whole number from 0 to {MAX_RES_LAYERS}"),
    "pooling": Rule("name", _names(POOLINGS), "global poolings are " + ", ".join(POOLINGS)),
    "l2": Rule("float", lambda v: 0 <= v <= MAX_WEIGHT_DECAY,
               f"an L2 penalty lies in [0, {MAX_WEIGHT_DECAY:g}]"),
    "flip": Rule("bool", lambda v: True, "flip is true or false"),
    "tta": Rule("bool", lambda v: True, "tta is true or false"),
    "shift": Rule("float", lambda v: 0 <= v < 1, "a shift is a fraction of the image in [0, 1)"),
    "rotation": Rule("float", lambda v: 0 <= v <= MAX_ROTATION,
                     f"a rotation is in degrees, from 0 to {MAX_ROTATION:g}"),
    "zoom": Rule("float", lambda v: 0 <= v < 1, "a zoom is a fraction in [0, 1)"),
    "classes": Rule("name", lambda v: v == "" or len(set(v.split(","))) >= 2,
                    "classes are 2 or more comma-separated class names, or '' for all"),
    "stop_monitor": Rule("name", _names(("", *STOP_METRICS)),
                         "early stopping monitors one of " + ", ".join(STOP_METRICS)),
    "stop_patience": Rule("int", lambda v: 0 <= v <= MAX_PATIENCE,
                          f"patience is a whole number of epochs from 0 (off) to {MAX_PATIENCE}"),
    "keep_best": Rule("name", _names(("", *STOP_METRICS)),
                      "keep_best names one of " + ", ".join(STOP_METRICS)
                      + ", or '' (the last epoch's weights)"),
    "data_parallel": Rule("bool", lambda v: True, "data_parallel is true or false"),
})
for _block in range(1, MAX_BLOCKS + 1):
    RULES[f"dropout_{_block}"] = Rule(
        "float", lambda v: 0 <= v < 1, f"dropout_{_block} is a dropout rate in [0, 1)")
for _layer in range(1, MAX_DENSE_LAYERS + 1):
    RULES[f"units_{_layer}"] = Rule(
        "int", lambda v: 1 <= v <= MAX_UNITS,
        f"units_{_layer} is a whole number >= 1, at most {MAX_UNITS}")

KNOWN_PARAMETERS = tuple(sorted(RULES))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _has_kind(kind: str, value: Any) -> bool:
    """Whether ``value`` has the Python type that a rule of ``kind`` expects."""
    if kind == "float":
        return _is_number(value)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    return isinstance(value, str)


def _is_finite(value: Any) -> bool:
    """Whether a number is finite (ints always are; NaN and infinities are not)."""
    return not isinstance(value, float) or math.isfinite(value)


def check_value(name: str, value: Any, where: str = "value") -> None:
    """Raise :class:`ConfigError` unless ``value`` is allowed for hyperparameter ``name``."""
    rule = RULES[name]
    if not _has_kind(rule.kind, value):
        expected = {"float": "a number", "int": "a whole number", "bool": "true or false",
                    "name": "a name"}[rule.kind]
        raise ConfigError(name, f"{where}={shown(value)} is not {expected}; {rule.allowed}")
    if not _is_finite(value):
        raise ConfigError(name, f"{where}={shown(value)} is not a finite number; {rule.allowed}")
    if not rule.check(value):
        problem = "is unknown" if rule.kind == "name" else "is out of range"
        raise ConfigError(name, f"{where}={shown(value)} {problem}; {rule.allowed}")


# --------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One clause of ``when``: the parameter ``param`` takes one of ``values`` or lies in
    [``min``, ``max``]."""

    param: str
    values: tuple | None = None
    min: float | None = None
    max: float | None = None

    def holds(self, value: Any) -> bool:
        """Whether the parent's ``value`` satisfies this clause."""
        if self.values is not None:
            return value in self.values
        if not _is_number(value):
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def to_data(self) -> Any:
        """Plain data as written in a space file."""
        if self.values is not None:
            return list(self.values) if len(self.values) != 1 else self.values[0]
        return {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """Base of the typed parameters: a name and the conditions under which it exists."""

    name: str
    when: tuple[Condition, ...] = ()

    def active(self, values: Mapping[str, Any]) -> bool:
        """Whether this parameter exists given the values chosen so far."""
        return all(c.param in values and c.holds(values[c.param]) for c in self.when)

    def grid_values(self) -> list[Any] | None:
        """Every value for a grid search, or None when the domain is continuous."""
        raise NotImplementedError

    def possible(self, value: Any) -> bool:
        """Whether this parameter can take ``value``."""
        raise NotImplementedError

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial for a value."""
        raise NotImplementedError

    def distribution(self) -> Any:
        """The Optuna distribution :meth:`suggest` samples from (None for a fixed value)."""
        raise NotImplementedError

    def spec(self) -> dict[str, Any]:
        """Plain data for this parameter (without ``when``)."""
        raise NotImplementedError

    def to_data(self) -> Any:
        """Plain data as written in a space file (the inverse of :func:`parse_param`)."""
        data = self.spec()
        if self.when:
            data["when"] = {c.param: c.to_data() for c in self.when}
        return data


@dataclass(frozen=True)
class Fixed(Param):
    """A value that every trial uses."""

    value: Any = None

    def grid_values(self) -> list[Any]:
        return [self.value]

    def possible(self, value: Any) -> bool:
        return value == self.value

    def suggest(self, trial: Any) -> Any:
        return self.value

    def distribution(self) -> None:
        return None

    def spec(self) -> dict[str, Any]:
        return {"value": self.value}


@dataclass(frozen=True)
class Choice(Param):
    """A categorical parameter (``choices``) or explicit grid values (``grid``)."""

    values: tuple = ()
    kind: str = "choices"

    def grid_values(self) -> list[Any]:
        return list(self.values)

    def possible(self, value: Any) -> bool:
        return value in self.values

    def suggest(self, trial: Any) -> Any:
        return trial.suggest_categorical(self.name, list(self.values))

    def distribution(self) -> Any:
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(list(self.values))

    def spec(self) -> dict[str, Any]:
        return {self.kind: list(self.values)}


@dataclass(frozen=True)
class _Range(Param):
    """Base of the numeric ranges: ``low`` to ``high`` inclusive, optionally on a ``step`` or
    log-scaled (the fields are the subclass's, which sets its type and default step)."""

    TYPE: ClassVar[str] = ""
    DEFAULT_STEP: ClassVar[Any] = None

    def possible(self, value: Any) -> bool:
        return _is_number(value) and self.low <= value <= self.high

    def count(self) -> float:
        """How many values a range with a step has (``inf`` without one)."""
        if self.step is None:
            return math.inf
        return math.floor((self.high - self.low) / self.step + 1e-9) + 1

    def spec(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.TYPE, "low": self.low, "high": self.high}
        if self.step != self.DEFAULT_STEP:
            data["step"] = self.step
        if self.log:
            data["log"] = True
        return data


@dataclass(frozen=True)
class IntRange(_Range):
    """Whole numbers from ``low`` to ``high`` inclusive, every ``step``, optionally log-scaled."""

    low: int = 0
    high: int = 0
    step: int = 1
    log: bool = False
    TYPE: ClassVar[str] = "int"
    DEFAULT_STEP: ClassVar[Any] = 1

    def grid_values(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))

    def suggest(self, trial: Any) -> int:
        return trial.suggest_int(self.name, self.low, self.high, step=self.step, log=self.log)

    def distribution(self) -> Any:
        from optuna.distributions import IntDistribution

        return IntDistribution(self.low, self.high, log=self.log, step=self.step)


@dataclass(frozen=True)
class FloatRange(_Range):
    """Real numbers in [``low``, ``high``], optionally on a ``step`` or log-scaled."""

    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    log: bool = False
    TYPE: ClassVar[str] = "float"

    def grid_values(self) -> list[float] | None:
        if self.step is None:
            return None
        count = int(round((self.high - self.low) / self.step))
        return [round(self.low + i * self.step, 12) for i in range(count + 1)]

    def suggest(self, trial: Any) -> float:
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def distribution(self) -> Any:
        from optuna.distributions import FloatDistribution

        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)


# --------------------------------------------------------------------------------------------
# Parsing: pure functions from plain data to typed parameters
# --------------------------------------------------------------------------------------------


def _closest(name: Any, known: Iterable[str]) -> str:
    if not isinstance(name, str) or len(name) > 40:
        return ""
    known = list(known)
    if not name[-1:].isdigit():  # 'dropout' means dropout_rate rather than dropout_8
        known = [k for k in known if not k[-1:].isdigit()] or known
    match = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _key(name: Any) -> str:
    """A key as an error message names it: short text as is, anything else :func:`shown`."""
    return name if isinstance(name, str) and len(name) <= 40 and name.isprintable() \
        else shown(name, 40)


def _check_param_name(name: Any) -> None:
    if not isinstance(name, str) or name not in RULES:
        raise ConfigError(
            "parameters",
            f"unknown parameter {shown(name, 40)}{_closest(name, RULES)}; "
            f"known parameters are {', '.join(KNOWN_PARAMETERS)}",
        )


def _parse_bool_flag(name: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(name, f"{key}={shown(value)} is not allowed; {key} is true or false")
    return value


def _parse_choice(name: str, spec: Mapping[str, Any], key: str) -> Choice:
    values = spec[key]
    if not isinstance(values, list) or not values:
        raise ConfigError(name, f"{key}={shown(values)} is not allowed; {key} is a non-empty list")
    if len(values) > MAX_GRID_POINTS:
        raise ConfigError(name, f"{key} has {len(values)} values; at most {MAX_GRID_POINTS} "
                          "are allowed (use a range with type: int or float)")
    seen: set[Any] = set()
    for value in values:
        if isinstance(value, (list, dict)):
            raise ConfigError(name, f"{key} value {shown(value)} is not allowed; values are "
                              "scalars")
        check_value(name, value, where=f"{key} value")
        if value in seen:  # 1 and 1.0 are the same value here, as for Optuna
            raise ConfigError(name, f"{key} repeats {shown(value)}; each value may appear once")
        seen.add(value)
    return Choice(name, values=tuple(values), kind=key)


def _parse_step(name: str, kind: str, step: Any, low: Any, high: Any, log: bool) -> Any:
    """The range's step, checked: positive, finite, dividing high - low, not too fine."""
    if not _has_kind(kind, step) or not _is_finite(step) or step <= 0:
        raise ConfigError(name, f"step={shown(step)} is not allowed; step is a finite {kind} > 0")
    if log and (kind == "float" or step != 1):
        raise ConfigError(name, f"step={shown(step)} is not allowed with log: true; drop one")
    span = (high - low) / step
    if not math.isfinite(span) or span + 1 > MAX_GRID_POINTS:
        raise ConfigError(name, f"step={shown(step)} gives more than {MAX_GRID_POINTS} values "
                          f"from {shown(low)} to {shown(high)}; use a larger step or no step")
    if not math.isclose(span, round(span), abs_tol=1e-9):
        raise ConfigError(
            name, f"step={shown(step)} does not divide high - low = {shown(high - low)}; "
            "high - low must be a multiple of step"
        )
    return step


def _parse_range(name: str, spec: Mapping[str, Any]) -> IntRange | FloatRange:
    kind = spec.get("type")
    if kind not in ("int", "float"):
        raise ConfigError(
            name, f"type={shown(kind)} is not allowed; a range needs type: int or type: float"
        )
    for key in ("low", "high"):
        if key not in spec:
            raise ConfigError(name, f"a {kind} range needs '{key}'")
        if not _has_kind(kind, spec[key]):
            raise ConfigError(name, f"{key}={shown(spec[key])} is not allowed; {key} is a {kind}")
    low, high = spec["low"], spec["high"]
    if RULES[name].kind not in (kind, "float" if kind == "int" else ""):
        raise ConfigError(name, f"type={shown(kind)} is not allowed; {RULES[name].allowed}")
    check_value(name, low, where="low")
    check_value(name, high, where="high")
    if low > high:
        raise ConfigError(name, f"low={shown(low)} is above high={shown(high)}; "
                          "low must be <= high")
    log = _parse_bool_flag(name, "log", spec.get("log", False))
    if log and low <= 0:
        raise ConfigError(name, f"low={shown(low)} is not allowed with log: true; "
                          "low must be > 0")
    step = spec.get("step")
    if step is not None:
        step = _parse_step(name, kind, step, low, high, log)
    if kind == "int":
        return IntRange(name, low=low, high=high, step=step or 1, log=log)
    return FloatRange(name, low=float(low), high=float(high),
                      step=None if step is None else float(step), log=log)


def _parse_spec(name: str, spec: Any) -> Param:
    """One parameter's spec (without ``when``) into a typed parameter."""
    if not isinstance(spec, Mapping):
        if isinstance(spec, list):
            raise ConfigError(
                name, f"{shown(spec)} is not allowed; write choices: [...] or grid: [...] "
                "for a list"
            )
        check_value(name, spec)
        return Fixed(name, value=spec)
    unknown = [k for k in spec if k not in SPEC_KEYS]
    if unknown:
        raise ConfigError(
            name, f"unknown key {shown(unknown[0], 40)}{_closest(unknown[0], SPEC_KEYS)}; "
            f"allowed keys are {', '.join(SPEC_KEYS)}"
        )
    forms = [k for k in ("choices", "grid", "value") if k in spec] + (
        ["low/high"] if "low" in spec or "high" in spec else []
    )
    if len(forms) != 1:
        raise ConfigError(
            name, f"{'keys ' + ' and '.join(forms) if forms else 'no value'} given; "
            "give exactly one of value, choices, grid or type with low/high"
        )
    if forms[0] in ("choices", "grid"):
        extra = [k for k in ("type", "step", "log") if k in spec]
        if extra:
            raise ConfigError(name, f"key '{extra[0]}' does not apply to {forms[0]}")
        return _parse_choice(name, spec, forms[0])
    if forms[0] == "value":
        check_value(name, spec["value"])
        return Fixed(name, value=spec["value"])
    return _parse_range(name, spec)


def _parse_condition(name: str, parent: Param, value: Any) -> Condition:
    where = f"when.{parent.name}"
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in ("min", "max")]
        if unknown or not value:
            raise ConfigError(
                name, f"{where}={shown(dict(value))} is not allowed; a range condition has "
                "min and/or max"
            )
        for key, bound in value.items():
            if not _is_number(bound) or not _is_finite(bound):
                raise ConfigError(name, f"{where}.{key}={shown(bound)} is not allowed; it is a "
                                  "finite number")
        if RULES[parent.name].kind not in ("int", "float"):
            raise ConfigError(name, f"{where}: min/max apply only to numeric parameters")
        if "min" in value and "max" in value and value["min"] > value["max"]:
            raise ConfigError(name, f"{where}={shown(dict(value))} can never hold; min must be "
                              "<= max")
        return Condition(parent.name, min=value.get("min"), max=value.get("max"))
    values = tuple(value) if isinstance(value, list) else (value,)
    if len(values) > MAX_GRID_POINTS:
        raise ConfigError(name, f"{where} lists {len(values)} values; at most "
                          f"{MAX_GRID_POINTS} are allowed")
    for item in values:
        if not parent.possible(item):
            raise ConfigError(
                name, f"{where}={shown(item)} can never hold; {parent.name} takes "
                f"{_describe_values(parent)}"
            )
    return Condition(parent.name, values=values)


def _describe_values(param: Param, most: int = 12) -> str:
    if isinstance(param, _Range) and param.count() > most:
        return f"values in [{param.low}, {param.high}]"
    values = param.grid_values() or []
    return ", ".join(shown(v, 40) for v in values[:most]) + (", …" if len(values) > most else "")


def _check_distribution(param: Param) -> None:
    """Build the parameter's Optuna distribution now, so that Optuna's own checks run before
    any study exists."""
    try:
        param.distribution()
    except (TypeError, ValueError, OverflowError) as error:
        raise ConfigError(param.name, f"{shown(param.spec())} is not allowed; Optuna refuses "
                          f"it: {clipped(str(error))}") from None


def parse_param(name: Any, spec: Any, before: Mapping[str, Param]) -> Param:
    """Parse one parameter; ``before`` holds the parameters defined earlier in the file.

    Example:
        >>> parse_param("depth", {"type": "int", "low": 1, "high": 3}, {})
        IntRange(name='depth', when=(), low=1, high=3, step=1, log=False)
    """
    _check_param_name(name)
    when = spec.get("when") if isinstance(spec, Mapping) else None
    body = {k: v for k, v in spec.items() if k != "when"} if isinstance(spec, Mapping) else spec
    param = _parse_spec(name, body)
    _check_distribution(param)
    if when is None:
        return param
    if not isinstance(when, Mapping) or not when:
        raise ConfigError(
            name, f"when={shown(when)} is not allowed; when maps earlier parameters to values"
        )
    conditions = []
    for parent_name, value in when.items():
        if parent_name not in before:
            raise ConfigError(
                name, f"when refers to {shown(parent_name, 40)}, which is not a parameter "
                f"defined before {name!r}; defined before it: {', '.join(before) or 'none'}"
            )
        conditions.append(_parse_condition(name, before[parent_name], value))
    return replace(param, when=tuple(conditions))


# --------------------------------------------------------------------------------------------
# The space
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Space:
    """An ordered, validated set of parameters.

    Attributes:
        params: the parameters in file order (conditions refer only to earlier ones).
        description: free text from the file.
        source: the file it was read from (for error messages), or None.
    """

    params: tuple[Param, ...]
    description: str = ""
    source: str | None = None

    @classmethod
    def from_dict(cls, data: Any, source: str | None = None) -> "Space":
        """Parse plain data (as read from YAML); raises :class:`ConfigError` naming ``source``."""
        try:
            return cls._from_dict(data, source)
        except ConfigError as error:
            if not source:
                raise
            raise error.in_file(source) from None

    @classmethod
    def _from_dict(cls, data: Any, source: str | None) -> "Space":
        if not isinstance(data, Mapping):
            raise ConfigError("", "a space file is a mapping with 'parameters', got "
                              f"{shown(data)}")
        unknown = [k for k in data if k not in ("description", "parameters")]
        if unknown:
            raise ConfigError(
                _key(unknown[0]), "unknown top-level key; allowed keys are description, parameters"
            )
        raw = data.get("parameters")
        if not isinstance(raw, Mapping) or not raw:
            raise ConfigError(
                "parameters", f"{shown(raw)} is not allowed; parameters maps names to specs"
            )
        params: dict[str, Param] = {}
        for name, spec in raw.items():
            params[name] = parse_param(name, spec, params)
        description = data.get("description", "")
        if not isinstance(description, str):
            raise ConfigError("description", f"{shown(description)} is not allowed; it is text")
        return cls(tuple(params.values()), description, source)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back into an equal space."""
        data: dict[str, Any] = {"parameters": {p.name: p.to_data() for p in self.params}}
        if self.description:
            data["description"] = self.description
        return data

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in file order."""
        return tuple(p.name for p in self.params)

    def __getitem__(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def swept(self) -> tuple[str, ...]:
        """Names of the parameters that vary (not fixed)."""
        return tuple(p.name for p in self.params if not isinstance(p, Fixed))

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Sample every active parameter from an Optuna trial, in file order."""
        values: dict[str, Any] = {}
        for param in self.params:
            if param.active(values):
                values[param.name] = param.suggest(trial)
        return values

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of grid values, conditional parameters only where active.

        The size of each step is counted before it is built, so a grid over
        :data:`MAX_GRID_POINTS` is refused without building it.

        Raises:
            ConfigError: a parameter has a continuous domain, or the grid is too large.
        """
        points: list[dict[str, Any]] = [{}]
        for param in self.params:
            values = param.grid_values()
            if values is None:
                raise ConfigError(
                    param.name, f"{shown(param.spec())} is a continuous range; a grid search "
                    "needs finite values: add step, or use grid: [...]", self.source
                )
            active = [param.active(point) for point in points]
            size = sum(len(values) if on else 1 for on in active)
            if size > MAX_GRID_POINTS:
                raise ConfigError(
                    "", f"the grid has more than {MAX_GRID_POINTS} points; narrow the space "
                    "or use sampler 'random' or 'tpe'", self.source
                )
            points = list(itertools.chain.from_iterable(
                [{**point, param.name: v} for v in values] if on else [point]
                for point, on in zip(points, active, strict=True)
            ))
        return points

    def values_of(self, name: str) -> set[Any] | None:
        """Every value ``name`` can take, or None if it is absent or continuous."""
        if name not in self:
            return None
        values = self[name].grid_values()
        return None if values is None else set(values)


class _Loader(yaml.SafeLoader):
    """YAML 1.1 safe loader that also reads ``1e-4`` (no dot) as a float, as YAML 1.2 does, and
    refuses what a space never needs and a hostile file uses: anchors and aliases (a
    "billion laughs" file expands aliases of aliases), merge keys, duplicate keys (YAML would
    keep the last silently), nesting deeper than :data:`MAX_NESTING`, and integers beyond
    Python's 4300-digit conversion limit."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name, *name) are not allowed in a space "
                "file; write each value out", event.start_mark)
        if self._depth >= MAX_NESTING:
            raise yaml.composer.ComposerError(
                None, None, f"collections nest more than {MAX_NESTING} levels deep; a space "
                "needs at most 5", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise yaml.constructor.ConstructorError(
                        None, None, "merge keys (<<) are not allowed in a space file; write "
                        "each key out", key_node.start_mark)
                key = self.construct_object(key_node, deep=True)
                try:
                    repeated = key in seen
                except TypeError:  # unhashable: the base class says so
                    continue
                if repeated:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {shown(key, 40)}; each key may appear once "
                        "in a mapping", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Any) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"the integer {shown(node.value, 40)} has too many digits",
                node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def _read_text(path: Path) -> str:
    """The file's text: at most :data:`MAX_SPACE_BYTES`, UTF-8 (ConfigError otherwise)."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_SPACE_BYTES + 1)
    except (OSError, ValueError) as error:  # ValueError: a NUL character in the path
        raise ConfigError("", f"cannot read the space file ({error.strerror or error})",
                          str(path)) from None
    if len(raw) > MAX_SPACE_BYTES:
        raise ConfigError("", f"the space file is larger than {MAX_SPACE_BYTES // 1024} KiB; a "
                          "space is a short YAML file (use ranges instead of long lists)",
                          str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ConfigError(f"line {line}", f"byte 0x{raw[error.start]:02x} at offset "
                          f"{error.start} is not UTF-8; a space file is UTF-8 text",
                          str(path)) from None


def load_space(path: str | Path) -> Space:
    """Read and validate a space file.

    Example:
        >>> space = load_space("search_spaces/dropout.yaml")  # doctest: +SKIP
    """
    path = Path(path)
    text = _read_text(path)
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        if isinstance(error, yaml.reader.ReaderError):  # a character YAML does not allow
            where = f"line {text.count(chr(10), 0, error.position) + 1}"
        problem = getattr(error, "problem", None) or (str(error).splitlines() or [""])[0]
        raise ConfigError(where, f"invalid YAML: {clipped(problem)}", str(path)) from None
    except (ValueError, OverflowError) as error:  # e.g. a date that does not exist
        raise ConfigError("", f"invalid YAML: {clipped(str(error))}", str(path)) from None
    return Space.from_dict(data, source=str(path))

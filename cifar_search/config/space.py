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

Everything is checked when the file is read: types, ranges, ``log`` with ``low > 0``, empty or
repeated choices, unknown keys, unknown parameter, optimizer and activation names, and conditions
that reference missing parameters or values they can never take. The same :class:`Space` then
samples Optuna trials (:meth:`Space.suggest`) and enumerates grids (:meth:`Space.grid`).

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

from cifar_search.errors import ConfigError
from cifar_search.config.families import ACTIVATIONS, LR_SCHEDULES, MAX_BLOCKS, OPTIMIZERS

__all__ = ["Choice", "Condition", "FloatRange", "Fixed", "IntRange", "Space", "load_space"]

#: A grid larger than this is refused: it would never finish on one machine.
MAX_GRID_POINTS = 100_000

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


RULES: dict[str, Rule] = {
    "dropout_rate": Rule("float", lambda v: 0 <= v < 1, "a dropout rate lies in [0, 1)"),
    "learning_rate": Rule("float", lambda v: v > 0, "a learning rate is a number > 0"),
    "momentum": Rule("float", lambda v: 0 <= v < 1, "momentum lies in [0, 1)"),
    "weight_decay": Rule("float", lambda v: v >= 0, "weight decay is a number >= 0"),
    "optimizer": Rule("name", _names(OPTIMIZERS), "optimizers are " + ", ".join(OPTIMIZERS)),
    "activation": Rule("name", _names(ACTIVATIONS), "activations are " + ", ".join(ACTIVATIONS)),
    "depth": Rule("int", lambda v: v >= 1, "depth is a whole number of blocks >= 1"),
    "filters": Rule("int", lambda v: v >= 1, "filters is a whole number >= 1"),
    "units": Rule("int", lambda v: v >= 1, "units is a whole number >= 1"),
    "batch_size": Rule("int", lambda v: v >= 1, "batch size is a whole number >= 1"),
    "batch_norm": Rule("bool", lambda v: True, "batch_norm is true or false"),
    "augmentation": Rule("bool", lambda v: True, "augmentation is true or false"),
    "lr_schedule": Rule("name", _names(LR_SCHEDULES),
                        "learning-rate schedules are " + ", ".join(LR_SCHEDULES)),
    "label_smoothing": Rule("float", lambda v: 0 <= v < 1, "label smoothing lies in [0, 1)"),
}
for _block in range(1, MAX_BLOCKS + 1):
    RULES[f"filters_{_block}"] = Rule(
        "int", lambda v: v >= 1, f"filters_{_block} is a whole number >= 1"
    )

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


def check_value(name: str, value: Any, where: str = "value") -> None:
    """Raise :class:`ConfigError` unless ``value`` is allowed for hyperparameter ``name``."""
    rule = RULES[name]
    if not _has_kind(rule.kind, value):
        expected = {"float": "a number", "int": "a whole number", "bool": "true or false",
                    "name": "a name"}[rule.kind]
        raise ConfigError(name, f"{where}={value!r} is not {expected}; {rule.allowed}")
    if not rule.check(value):
        problem = "is unknown" if rule.kind == "name" else "is out of range"
        raise ConfigError(name, f"{where}={value!r} {problem}; {rule.allowed}")


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


# --------------------------------------------------------------------------------------------
# Parsing: pure functions from plain data to typed parameters
# --------------------------------------------------------------------------------------------


def _closest(name: str, known: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _check_param_name(name: Any) -> None:
    if not isinstance(name, str) or name not in RULES:
        raise ConfigError(
            "parameters",
            f"unknown parameter {name!r}{_closest(str(name), RULES)}; "
            f"known parameters are {', '.join(KNOWN_PARAMETERS)}",
        )


def _parse_bool_flag(name: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(name, f"{key}={value!r} is not allowed; {key} is true or false")
    return value


def _parse_choice(name: str, spec: Mapping[str, Any], key: str) -> Choice:
    values = spec[key]
    if not isinstance(values, list) or not values:
        raise ConfigError(name, f"{key}={values!r} is not allowed; {key} is a non-empty list")
    for value in values:
        if isinstance(value, (list, dict)):
            raise ConfigError(name, f"{key} value {value!r} is not allowed; values are scalars")
        check_value(name, value, where=f"{key} value")
    repeated = [v for v in values if values.count(v) > 1]
    if repeated:
        raise ConfigError(name, f"{key} repeats {repeated[0]!r}; each value may appear once")
    return Choice(name, values=tuple(values), kind=key)


def _parse_range(name: str, spec: Mapping[str, Any]) -> IntRange | FloatRange:
    kind = spec.get("type")
    if kind not in ("int", "float"):
        raise ConfigError(
            name, f"type={kind!r} is not allowed; a range needs type: int or type: float"
        )
    for key in ("low", "high"):
        if key not in spec:
            raise ConfigError(name, f"a {kind} range needs '{key}'")
        if not _has_kind(kind, spec[key]):
            raise ConfigError(name, f"{key}={spec[key]!r} is not allowed; {key} is a {kind}")
    low, high = spec["low"], spec["high"]
    if RULES[name].kind not in (kind, "float" if kind == "int" else ""):
        raise ConfigError(name, f"type={kind!r} is not allowed; {RULES[name].allowed}")
    check_value(name, low, where="low")
    check_value(name, high, where="high")
    if low > high:
        raise ConfigError(name, f"low={low!r} is above high={high!r}; low must be <= high")
    log = _parse_bool_flag(name, "log", spec.get("log", False))
    if log and low <= 0:
        raise ConfigError(name, f"low={low!r} is not allowed with log: true; low must be > 0")
    step = spec.get("step")
    if step is not None:
        if not _has_kind(kind, step) or step <= 0:
            raise ConfigError(name, f"step={step!r} is not allowed; step is a {kind} > 0")
        if log and (kind == "float" or step != 1):
            raise ConfigError(name, f"step={step!r} is not allowed with log: true; drop one")
        span = (high - low) / step
        if not math.isclose(span, round(span), abs_tol=1e-9):
            raise ConfigError(
                name, f"step={step!r} does not divide high - low = {high - low!r}; "
                "high - low must be a multiple of step"
            )
    if kind == "int":
        return IntRange(name, low=low, high=high, step=step or 1, log=log)
    return FloatRange(name, low=float(low), high=float(high),
                      step=None if step is None else float(step), log=log)


def _parse_spec(name: str, spec: Any) -> Param:
    """One parameter's spec (without ``when``) into a typed parameter."""
    if not isinstance(spec, Mapping):
        if isinstance(spec, list):
            raise ConfigError(
                name, f"{spec!r} is not allowed; write choices: [...] or grid: [...] for a list"
            )
        check_value(name, spec)
        return Fixed(name, value=spec)
    unknown = [k for k in spec if k not in SPEC_KEYS]
    if unknown:
        raise ConfigError(
            name, f"unknown key {unknown[0]!r}{_closest(str(unknown[0]), SPEC_KEYS)}; "
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
                name, f"{where}={dict(value)!r} is not allowed; a range condition has min and/or max"
            )
        for key, bound in value.items():
            if not _is_number(bound):
                raise ConfigError(name, f"{where}.{key}={bound!r} is not allowed; it is a number")
        if RULES[parent.name].kind not in ("int", "float"):
            raise ConfigError(name, f"{where}: min/max apply only to numeric parameters")
        return Condition(parent.name, min=value.get("min"), max=value.get("max"))
    values = tuple(value) if isinstance(value, list) else (value,)
    for item in values:
        if not parent.possible(item):
            raise ConfigError(
                name, f"{where}={item!r} can never hold; {parent.name} takes "
                f"{_describe_values(parent)}"
            )
    return Condition(parent.name, values=values)


def _describe_values(param: Param) -> str:
    values = param.grid_values()
    if (values is None or len(values) > 12) and isinstance(param, _Range):
        return f"values in [{param.low}, {param.high}]"
    return ", ".join(repr(v) for v in values)


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
    if when is None:
        return param
    if not isinstance(when, Mapping) or not when:
        raise ConfigError(
            name, f"when={when!r} is not allowed; when maps earlier parameters to values"
        )
    conditions = []
    for parent_name, value in when.items():
        if parent_name not in before:
            raise ConfigError(
                name, f"when refers to {parent_name!r}, which is not a parameter defined "
                f"before {name!r}; defined before it: {', '.join(before) or 'none'}"
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
            raise ConfigError("", f"a space file is a mapping with 'parameters', got {data!r}")
        unknown = [k for k in data if k not in ("description", "parameters")]
        if unknown:
            raise ConfigError(
                str(unknown[0]), "unknown top-level key; allowed keys are description, parameters"
            )
        raw = data.get("parameters")
        if not isinstance(raw, Mapping) or not raw:
            raise ConfigError(
                "parameters", f"{raw!r} is not allowed; parameters maps names to specs"
            )
        params: dict[str, Param] = {}
        for name, spec in raw.items():
            params[name] = parse_param(name, spec, params)
        description = data.get("description", "")
        if not isinstance(description, str):
            raise ConfigError("description", f"{description!r} is not allowed; it is text")
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

        Raises:
            ConfigError: a parameter has a continuous domain, or the grid is too large.
        """
        points: list[dict[str, Any]] = [{}]
        for param in self.params:
            values = param.grid_values()
            if values is None:
                raise ConfigError(
                    param.name, f"{param.spec()} is a continuous range; a grid search needs "
                    "finite values: add step, or use grid: [...]", self.source
                )
            points = list(itertools.chain.from_iterable(
                [{**point, param.name: v} for v in values] if param.active(point) else [point]
                for point in points
            ))
            if len(points) > MAX_GRID_POINTS:
                raise ConfigError(
                    "", f"the grid has more than {MAX_GRID_POINTS} points; narrow the space "
                    "or use sampler 'random' or 'tpe'", self.source
                )
        return points

    def values_of(self, name: str) -> set[Any] | None:
        """Every value ``name`` can take, or None if it is absent or continuous."""
        if name not in self:
            return None
        values = self[name].grid_values()
        return None if values is None else set(values)


class _Loader(yaml.SafeLoader):
    """YAML 1.1 safe loader that also reads ``1e-4`` (no dot) as a float, as YAML 1.2 does."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def load_space(path: str | Path) -> Space:
    """Read and validate a space file.

    Example:
        >>> space = load_space("search_spaces/dropout.yaml")  # doctest: +SKIP
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError("", f"cannot read the space file ({error.strerror or error})",
                          str(path)) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(where, f"invalid YAML: {problem}", str(path)) from None
    return Space.from_dict(data, source=str(path))

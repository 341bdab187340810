"""Parsing a space's plain data into typed parameters: pure functions, tested with tables of
input and expected output (``tests/config/test_parse.py``).

Everything is checked here: types, finite numbers within each parameter's bounds, ``log`` with
``low > 0``, empty, oversized or repeated choices, unknown keys, unknown parameter, optimizer and
activation names, and conditions that reference missing parameters or values they can never
take.

Example:
    >>> parse_param("depth", {"type": "int", "low": 1, "high": 3}, {})
    IntRange(name='depth', when=(), low=1, high=3, step=1, log=False)
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from cifar_search.config.params import (
    Choice,
    Condition,
    Fixed,
    FloatRange,
    IntRange,
    Param,
    Range,
)
from cifar_search.config.rules import (
    KNOWN_PARAMETERS,
    MAX_GRID_POINTS,
    RULES,
    check_value,
    has_kind,
    rule_of,
    is_finite,
    is_number,
)
from cifar_search.errors import ConfigError, shown

__all__ = ["SPEC_KEYS", "key_shown", "parse_param"]

SPEC_KEYS = ("type", "low", "high", "step", "log", "choices", "grid", "value", "when")


def _closest(name: Any, known: Iterable[str]) -> str:
    if not isinstance(name, str) or len(name) > 40:
        return ""
    known = list(known)
    if not name[-1:].isdigit():  # 'dropout' means dropout_rate rather than dropout_8
        known = [k for k in known if not k[-1:].isdigit()] or known
    match = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


def key_shown(name: Any) -> str:
    """A key as an error message names it: short text as is, anything else :func:`shown`."""
    return name if isinstance(name, str) and len(name) <= 40 and name.isprintable() \
        else shown(name, 40)


def _check_param_name(name: Any, own: bool = False) -> None:
    """A name the framework knows (with ``own``, for a sweep's own model: any identifier)."""
    if own and isinstance(name, str) and name.isidentifier():
        return
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
    if not has_kind(kind, step) or not is_finite(step) or step <= 0:
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
        if not has_kind(kind, spec[key]):
            raise ConfigError(name, f"{key}={shown(spec[key])} is not allowed; {key} is a {kind}")
    low, high = spec["low"], spec["high"]
    if rule_of(name).kind not in (kind, "float" if kind == "int" else "", "any"):
        raise ConfigError(name, f"type={shown(kind)} is not allowed; {rule_of(name).allowed}")
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
            if not is_number(bound) or not is_finite(bound):
                raise ConfigError(name, f"{where}.{key}={shown(bound)} is not allowed; it is a "
                                  "finite number")
        if rule_of(parent.name).kind not in ("int", "float", "any"):
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
    if isinstance(param, Range) and param.count() > most:
        return f"values in [{param.low}, {param.high}]"
    values = param.grid_values() or []
    return ", ".join(shown(v, 40) for v in values[:most]) + (", …" if len(values) > most else "")




def parse_param(name: Any, spec: Any, before: Mapping[str, Param], own: bool = False) -> Param:
    """Parse one parameter; ``before`` holds the parameters defined earlier in the file; with
    ``own`` (the sweep's own model) a name the framework does not know is allowed.
    """
    _check_param_name(name, own)
    when = spec.get("when") if isinstance(spec, Mapping) else None
    body = {k: v for k, v in spec.items() if k != "when"} if isinstance(spec, Mapping) else spec
    param = _parse_spec(name, body)
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

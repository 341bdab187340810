"""What each hyperparameter accepts: one :class:`Rule` per name, and :func:`check_value`.

A space may sweep only the names in :data:`RULES`, and every value it lists or bounds must
pass the name's rule; the bounds' reasons are given with the constants in
:mod:`cifar_search.config.families`.

Example:
    >>> check_value("dropout_rate", 0.2)
    >>> RULES["depth"].kind
    'int'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cifar_search.config.families import (
    ACTIVATIONS,
    LR_SCHEDULES,
    MAX_BATCH_SIZE,
    MAX_BLOCKS,
    MAX_FILTERS,
    MAX_LEARNING_RATE,
    MAX_PATIENCE,
    MAX_ROTATION,
    MAX_UNITS,
    MAX_WEIGHT_DECAY,
    OPTIMIZERS,
    STOP_METRICS,
)
from cifar_search.errors import ConfigError, shown

__all__ = ["KNOWN_PARAMETERS", "MAX_GRID_POINTS", "OWN_RULE", "RULES", "Rule", "check_value",
           "has_kind", "rule_of",
           "is_finite", "is_number"]

#: A grid larger than this is refused: it would never finish on one machine. It also bounds
#: the values of one ``choices``/``grid`` list and of one range with a ``step``.
MAX_GRID_POINTS = 100_000


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

# The training settings (config/families.py: their meaning).
RULES.update({
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

KNOWN_PARAMETERS = tuple(sorted(RULES))

#: The rule of a parameter of the sweep's own model that the framework does not know: any
#: finite number, whole number, name or true/false (the model's function reads it).
OWN_RULE = Rule("any", lambda v: True, "a parameter of your own model is a number, a name or "
                "true/false")


def rule_of(name: str) -> Rule:
    """The rule of parameter ``name``: its own, or :data:`OWN_RULE` for a name the framework
    does not know (only a sweep's own model may use one: see ``parse_param``)."""
    return RULES.get(name, OWN_RULE)


def is_number(value: Any) -> bool:
    """An int or a float (not a bool; NaN and infinities included)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def has_kind(kind: str, value: Any) -> bool:
    """Whether ``value`` has the Python type that a rule of ``kind`` expects."""
    if kind == "float":
        return is_number(value)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "any":
        return isinstance(value, (int, float, str))
    return isinstance(value, str)


def is_finite(value: Any) -> bool:
    """Whether a number is finite (ints always are; NaN and infinities are not)."""
    return not isinstance(value, float) or math.isfinite(value)


def check_value(name: str, value: Any, where: str = "value") -> None:
    """Raise :class:`ConfigError` unless ``value`` is allowed for hyperparameter ``name``."""
    rule = rule_of(name)
    if not has_kind(rule.kind, value):
        expected = {"float": "a number", "int": "a whole number", "bool": "true or false",
                    "name": "a name", "any": "a number, a name or true/false"}[rule.kind]
        raise ConfigError(name, f"{where}={shown(value)} is not {expected}; {rule.allowed}")
    if not is_finite(value):
        raise ConfigError(name, f"{where}={shown(value)} is not a finite number; {rule.allowed}")
    if not rule.check(value):
        problem = "is unknown" if rule.kind == "name" else "is out of range"
        raise ConfigError(name, f"{where}={shown(value)} {problem}; {rule.allowed}")

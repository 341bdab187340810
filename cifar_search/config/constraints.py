"""Constraints: limits on a trial's measures that a result must keep to be feasible, e.g.
``Sweep(constraints={"params": "<= 1_000_000", "latency_ms": "<= 2"})``.

A constraint names a measure of :data:`cifar_search.config.measures.MEASURES` and a limit
written as an operator (``<=``, ``<``, ``>=``, ``>``) and a number: digits with optional
underscores, an optional decimal part and an optional ``k`` (thousand) or ``M`` (million)
suffix. Parsing is pure; nothing here knows Optuna. The Optuna engine turns
:func:`excesses` into its ``constraints_func`` (a value above 0 breaks a constraint, as
Optuna reads it) and the worker refuses to train a model whose ``params`` already breaks one
(:func:`violations`).

Example:
    >>> c = parse("params", "<= 1.5M")
    >>> c.text, c.holds(1_000_000), c.broken(2_000_000)
    ('params <= 1500000', True, 'params 2,000,000 > 1,500,000')
    >>> parse_flag("latency_ms<2")
    ('latency_ms', '<2')
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cifar_search.config.measures import MEASURES, measure_names
from cifar_search.errors import ConfigError, shown

__all__ = ["Constraint", "OPERATORS", "as_limits", "excesses", "parse", "parse_all", "parse_flag",
           "violations"]

#: Each operator and the one that says how a value breaks it (in a reason).
OPERATORS = {"<=": ">", "<": ">=", ">=": "<", ">": "<="}

#: What a limit may be (in error messages).
GRAMMAR = ("a limit is an operator (<=, <, >=, >) and a number, e.g. '<= 1_000_000', "
           "'< 2.5', '>= 0.6' or '<= 1.5M' (underscores between digits; k: thousand, "
           "M: million)")

_LIMIT = re.compile(r"\s*(<=|>=|<|>)\s*(\d+(?:_\d+)*(?:\.\d+(?:_\d+)*)?)\s*([kKM]?)\s*")
_SUFFIX = {"": 1, "k": 1_000, "K": 1_000, "M": 1_000_000}
_FLAG = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*((?:<=|>=|<|>).*)", re.S)


@dataclass(frozen=True)
class Constraint:
    """One limit on one measure.

    Attributes:
        measure: a measure's name (see :data:`~cifar_search.config.measures.MEASURES`).
        op: ``<=``, ``<``, ``>=`` or ``>``.
        bound: the number it is compared with.
    """

    measure: str
    op: str
    bound: float

    @property
    def limit(self) -> str:
        """``<= 1000000``: the limit as the fingerprint keeps it (``1M`` and ``1_000_000``
        are one limit)."""
        return f"{self.op} {_number(self.bound)}"

    @property
    def text(self) -> str:
        """``params <= 1000000``."""
        return f"{self.measure} {self.limit}"

    def excess(self, value: float) -> float:
        """How far ``value`` is beyond the limit, as Optuna's ``constraints_func`` reads it:
        at most 0 when it holds, above 0 when broken (a strict limit met exactly is broken
        by the smallest amount a float can say).

        Example:
            >>> parse("params", "< 10").excess(10), parse("val_accuracy", ">= 0.5").excess(0.75)
            (1.7763568394002505e-15, -0.25)
        """
        over = value - self.bound if self.op in ("<=", "<") else self.bound - value
        if over == 0 and self.op in ("<", ">"):
            return math.ulp(self.bound)
        return float(over)

    def holds(self, value: float) -> bool:
        """Whether ``value`` keeps the limit."""
        return self.excess(value) <= 0

    def broken(self, value: float) -> str | None:
        """Why ``value`` breaks the limit (``params 1,234,567 > 1,000,000``), or None."""
        if self.holds(value):
            return None
        return f"{self.measure} {_shown(value)} {OPERATORS[self.op]} {_shown(self.bound)}"


def parse(name: Any, limit: Any) -> Constraint:
    """One constraint from the sweep's ``constraints`` mapping.

    Raises:
        ConfigError: ``constraints.<name>``: a name that is no measure (the measures listed),
            or a limit outside the grammar.
    """
    key = f"constraints.{name}"
    if not isinstance(name, str) or name not in MEASURES:
        raise ConfigError(key, f"{shown(name)} is no measure; a constraint names one of "
                               f"{measure_names()}")
    if isinstance(limit, Constraint) and limit.measure == name:  # parsed already (a flag)
        return limit
    found = _LIMIT.fullmatch(limit) if isinstance(limit, str) else None
    if found is None:
        raise ConfigError(key, f"{shown(limit)} is not allowed; {GRAMMAR}")
    op, digits, suffix = found.groups()
    return Constraint(name, op, float(digits.replace("_", "")) * _SUFFIX[suffix])


def parse_all(given: Any) -> dict[str, Constraint]:
    """The sweep's ``constraints`` mapping, each parsed (:func:`parse`).

    Example:
        >>> {n: c.limit for n, c in parse_all({"latency_ms": "<2", "params": "<=250k"}).items()}
        {'latency_ms': '< 2', 'params': '<= 250000'}
    """
    if not isinstance(given, Mapping):
        raise ConfigError("constraints", f"{shown(given)} is not allowed; constraints map a "
                                         "measure to a limit, e.g. {'params': '<= 1_000_000'}")
    return {str(name): parse(name, limit) for name, limit in given.items()}


def parse_flag(text: str) -> tuple[str, str]:
    """A ``--constraint NAME<=VALUE`` flag as (name, limit), the limit checked.

    Raises:
        ConfigError: ``--constraint``: not a name and a limit, or either refused.
    """
    found = _FLAG.fullmatch(text)
    if found is None:
        raise ConfigError("--constraint", f"{shown(text)} is not allowed; a constraint is a "
                                          "measure and a limit, e.g. params<=1_000_000; "
                                          f"measures: {measure_names()}")
    name, limit = found.groups()
    try:
        parse(name, limit)
    except ConfigError as error:
        raise ConfigError("--constraint", error.message) from None
    return name, limit


def excesses(constraints: Iterable[Constraint], measures: Mapping[str, float]) -> list[float]:
    """Each constraint's excess (:meth:`Constraint.excess`) over a trial's ``measures``; a
    measure the trial does not have (a pruned trial's latency) counts as kept (0.0): nothing
    says it breaks the limit.

    Example:
        >>> excesses([parse("params", "<= 100"), parse("latency_ms", "<= 2")], {"params": 150})
        [50.0, 0.0]
    """
    return [c.excess(measures[c.measure]) if c.measure in measures else 0.0
            for c in constraints]


def excess_by_measure(constraints: Sequence[Constraint],
                      measures: Mapping[str, float]) -> dict[str, float]:
    """:func:`excesses` by each constraint's measure (as a trial's constraint values are kept).

    Example:
        >>> excess_by_measure([parse("params", "<= 100")], {"params": 150})
        {'params': 50.0}
    """
    return dict(zip((c.measure for c in constraints), excesses(constraints, measures),
                    strict=True))


def violations(constraints: Iterable[Constraint], measures: Mapping[str, float]) -> list[str]:
    """Why ``measures`` break the constraints, one reason each (empty: none broken; a measure
    not known yet breaks nothing).

    Example:
        >>> violations([parse("params", "<= 1M")], {"params": 1_234_567})
        ['params 1,234,567 > 1,000,000']
    """
    return [reason for c in constraints if c.measure in measures
            and (reason := c.broken(measures[c.measure])) is not None]


def as_limits(constraints: Iterable[Constraint]) -> dict[str, str]:
    """The constraints as plain data, each limit written one way (the fingerprint, messages).

    Example:
        >>> as_limits([parse("params", "<=1_000k")])
        {'params': '<= 1000000'}
    """
    return {c.measure: c.limit for c in constraints}


def known_before_training(constraints: Iterable[Constraint]) -> tuple[Constraint, ...]:
    """The constraints a built, untrained model can already break (on ``params``)."""
    return tuple(c for c in constraints if MEASURES[c.measure].known_before_training)


def _number(value: float) -> str:
    """A bound as plain text: ``1000000``, ``2.5``."""
    return str(int(value)) if value.is_integer() else repr(value)


def _shown(value: float) -> str:
    """A value in a reason: whole numbers with thousands separators, others to 4 digits."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.4g}"

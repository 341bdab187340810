"""The typed parameters of a space: a fixed value, choices, int and float ranges, and the
conditions (``when``) under which a parameter exists.

Each parameter knows its values (:meth:`Param.grid_values`, :meth:`Param.possible`) and its plain
data (:meth:`Param.spec`); what a search library makes of it (a distribution, a
hyperparameter) is the engine's translation.

Example:
    >>> IntRange("depth", low=1, high=3).grid_values()
    [1, 2, 3]
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from cifar_search.config.rules import is_number

__all__ = ["Choice", "Condition", "Fixed", "FloatRange", "IntRange", "Param", "Range"]


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
        if not is_number(value):
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def to_data(self) -> Any:
        """Plain data as written in a space file."""
        if self.values is not None:
            return list(self.values) if len(self.values) != 1 else self.values[0]
        return {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}


@dataclass(frozen=True)
class Param(abc.ABC):
    """Base of the typed parameters: a name and the conditions under which it exists."""

    name: str
    when: tuple[Condition, ...] = ()

    def active(self, values: Mapping[str, Any]) -> bool:
        """Whether this parameter exists given the values chosen so far."""
        return all(c.param in values and c.holds(values[c.param]) for c in self.when)

    @abc.abstractmethod
    def grid_values(self) -> list[Any] | None:
        """Every value for a grid search, or None when the domain is continuous."""

    @abc.abstractmethod
    def possible(self, value: Any) -> bool:
        """Whether this parameter can take ``value``."""

    @abc.abstractmethod
    def spec(self) -> dict[str, Any]:
        """Plain data for this parameter (without ``when``)."""

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

    def spec(self) -> dict[str, Any]:
        return {self.kind: list(self.values)}


@dataclass(frozen=True)
class Range(Param):
    """Base of the numeric ranges: ``low`` to ``high`` inclusive, optionally on a ``step`` or
    log-scaled (a subclass sets its type, and narrows the fields and the default step)."""

    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    log: bool = False
    TYPE: ClassVar[str] = ""
    DEFAULT_STEP: ClassVar[Any] = None

    def possible(self, value: Any) -> bool:
        return is_number(value) and self.low <= value <= self.high

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
class IntRange(Range):
    """Whole numbers from ``low`` to ``high`` inclusive, every ``step``, optionally log-scaled."""

    low: int = 0
    high: int = 0
    step: int = 1
    TYPE: ClassVar[str] = "int"
    DEFAULT_STEP: ClassVar[Any] = 1

    def grid_values(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))


@dataclass(frozen=True)
class FloatRange(Range):
    """Real numbers in [``low``, ``high``], optionally on a ``step`` or log-scaled."""

    TYPE: ClassVar[str] = "float"

    def grid_values(self) -> list[float] | None:
        if self.step is None:
            return None
        count = int(round((self.high - self.low) / self.step))
        return [round(self.low + i * self.step, 12) for i in range(count + 1)]

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

Everything is checked when the file is read (:mod:`.yaml_loader` bounds the file,
:mod:`.parse` checks each parameter against :mod:`.rules`); a :class:`Space` then enumerates
grids (:meth:`Space.grid`). Each engine translates it for its search library (Optuna's
distributions are the Optuna engine's).

Example:
    >>> space = Space.from_dict({"parameters": {"dropout_rate": {"grid": [0.2, 0.4]}}})
    >>> space.grid()
    [{'dropout_rate': 0.2}, {'dropout_rate': 0.4}]
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cifar_search.config.params import (
    Choice,
    Condition,
    Fixed,
    FloatRange,
    IntRange,
    Param,
)
from cifar_search.config.parse import key_shown, parse_param
from cifar_search.config.rules import MAX_GRID_POINTS, check_value
from cifar_search.config.yaml_loader import MAX_NESTING, MAX_SPACE_BYTES, read_yaml
from cifar_search.errors import ConfigError, shown

__all__ = ["MAX_GRID_POINTS", "MAX_NESTING", "MAX_SPACE_BYTES", "Choice", "Condition", "Fixed",
           "FloatRange", "IntRange", "Param", "Space", "check_value", "load_space"]


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
    def from_dict(cls, data: Any, source: str | None = None, own: bool = False) -> Space:
        """Parse plain data (as read from YAML); raises :class:`ConfigError` naming ``source``.
        With ``own`` (a sweep's own model) parameters the framework does not know are allowed."""
        try:
            return cls._from_dict(data, source, own)
        except ConfigError as error:
            if not source:
                raise
            raise error.in_file(source) from None

    @classmethod
    def _from_dict(cls, data: Any, source: str | None, own: bool = False) -> Space:
        if not isinstance(data, Mapping):
            raise ConfigError("", "a space file is a mapping with 'parameters', got "
                              f"{shown(data)}")
        unknown = [k for k in data if k not in ("description", "parameters")]
        if unknown:
            raise ConfigError(
                key_shown(unknown[0]),
                "unknown top-level key; allowed keys are description, parameters")
        raw = data.get("parameters")
        if not isinstance(raw, Mapping) or not raw:
            raise ConfigError(
                "parameters", f"{shown(raw)} is not allowed; parameters maps names to specs"
            )
        params: dict[str, Param] = {}
        for name, spec in raw.items():
            params[name] = parse_param(name, spec, params, own)
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



def load_space(path: str | Path, own: bool = False) -> Space:
    """Read and validate a space file (``own``: of a sweep's own model, see
    :meth:`Space.from_dict`).

    Example:
        >>> space = load_space("search_spaces/dropout.yaml")  # doctest: +SKIP
    """
    path = Path(path)
    return Space.from_dict(read_yaml(path), source=str(path), own=own)

"""A parameter's Optuna distribution, built from its plain data (``Param.spec()``).

Engine-neutral: the Optuna engine samples from these distributions, and the KerasTuner engine
shows its records as an in-memory Optuna study with the same ones (``status``, ``best``,
``export``). Optuna is imported on the first call, not with this module.

Example:
    >>> distribution({"type": "int", "low": 1, "high": 3})
    IntDistribution(high=3, log=False, low=1, step=1)
    >>> distribution({"value": "relu"}) is None
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution

__all__ = ["distribution"]


def distribution(spec: Mapping[str, Any]) -> BaseDistribution | None:
    """The distribution of a parameter written as ``spec`` (None for a fixed value).

    Args:
        spec: ``{"value": v}``, ``{"choices": [...]}`` or ``{"grid": [...]}``, or
            ``{"type": "int" | "float", "low": .., "high": .., "step": .., "log": ..}``.
    """
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if "value" in spec:
        return None
    for key in ("choices", "grid"):
        if key in spec:
            return CategoricalDistribution(list(spec[key]))
    log = bool(spec.get("log", False))
    if spec["type"] == "int":
        return IntDistribution(spec["low"], spec["high"], log=log, step=spec.get("step", 1))
    return FloatDistribution(spec["low"], spec["high"], log=log, step=spec.get("step"))

"""The engine registry: the only place that knows which engines exist.

Engines are imported on first use, so that validating a sweep does not import TensorFlow,
scikit-learn or KerasTuner.

Example:
    >>> names()
    ('optuna', 'sklearn', 'kerastuner')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cifar_search.engines.base import Engine

#: Engine name -> "module:class" of its plug-in.
REGISTRY = {
    "optuna": "cifar_search.engines.optuna:OptunaEngine",
    "sklearn": "cifar_search.engines.sklearn:SklearnEngine",
    "kerastuner": "cifar_search.engines.kerastuner:KerasTunerEngine",
}


def names() -> tuple[str, ...]:
    """The engines' names, the default first."""
    return tuple(REGISTRY)


def get(name: str) -> "Engine":
    """The engine called ``name`` (a KeyError for an unknown one: sweeps validate names)."""
    module, _, cls = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)()


def every() -> list["Engine"]:
    """Every engine, in registry order."""
    return [get(name) for name in REGISTRY]

"""The engine registry: the only place that knows which engines exist, and the engines' checks
of a sweep on top of config's (:func:`check`, :func:`load`, :func:`override`).

Engines are imported on first use, so that validating a sweep does not import TensorFlow,
scikit-learn or KerasTuner.

Example:
    >>> names()
    ('optuna', 'sklearn', 'kerastuner')
    >>> sweep = load("sweeps/dropout.py")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cifar_search.config.load import load_sweep
from cifar_search.config.require import require
from cifar_search.config.sweep import Sweep
from cifar_search.errors import ConfigError

if TYPE_CHECKING:
    from cifar_search.engines.base import Engine

__all__ = ["REGISTRY", "check", "every", "get", "load", "names", "override", "worker_count"]

#: Engine name -> "module:class" of its plug-in.
REGISTRY = {
    "optuna": "cifar_search.engines.optuna:OptunaEngine",
    "sklearn": "cifar_search.engines.sklearn:SklearnEngine",
    "kerastuner": "cifar_search.engines.kerastuner:KerasTunerEngine",
}


def names() -> tuple[str, ...]:
    """The engines' names, the default first."""
    return tuple(REGISTRY)


def get(name: str) -> Engine:
    """The engine called ``name`` (a KeyError for an unknown one: :func:`check` names them)."""
    module, _, cls = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)()


def every() -> list[Engine]:
    """Every engine, in registry order."""
    return [get(name) for name in REGISTRY]


def check(sweep: Sweep) -> None:
    """The engines' checks of a sweep: a known engine, options only under engines' names, each
    engine's own settings (whichever engine runs the sweep: a sweep file serves every engine
    through ``--engine`` and ``compare``), then what the chosen engine cannot honour.

    Raises:
        ConfigError: naming the key, the value and what is allowed.
    """
    require(sweep.engine in REGISTRY, "engine", sweep.engine,
            "engines are " + ", ".join(REGISTRY))
    for name, section in sweep.options.items():
        require(name in REGISTRY, f"options.{name}", section,
                "options are given under an engine's name: " + ", ".join(REGISTRY))
    for engine in every():
        engine.check_options(sweep)
    get(sweep.engine).check(sweep)


def load(path: str | Path) -> Sweep:
    """Load, resolve and validate a sweep file, with the engines' checks (:func:`check`).

    Raises:
        ConfigError: naming the sweep or space file, the key, the value and what is allowed.

    Example:
        >>> sweep = load("sweeps/dropout.py")  # doctest: +SKIP
    """
    sweep = load_sweep(path)
    try:
        check(sweep)
    except ConfigError as error:
        raise error.in_file(str(path)) from None
    return sweep


def override(sweep: Sweep, **changes: Any) -> Sweep:
    """A copy with command-line overrides, re-validated with the engines' checks; a key that
    is an engine's setting (``as_written``) goes to that engine's options, and an error names
    the flag (``--as-written``) or, for a setting of the file, the file.

    Example:
        >>> override(load("sweeps/optimizer_grid.py"), engine="sklearn")  # doctest: +SKIP
    """
    options: dict[str, dict[str, Any]] = {}
    for engine in every():
        for key in engine.settings:
            value = changes.pop(key, None)
            if value is not None:
                options.setdefault(engine.name, {})[key] = value
    return sweep.override(check=check, options=options, **changes)


def worker_count(sweep: Sweep) -> int:
    """The number of workers the sweep's engine trains it with (``workers="auto"``: what it
    picks for this machine)."""
    return get(sweep.engine).worker_count(sweep)

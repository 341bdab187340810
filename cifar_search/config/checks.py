"""A sweep's space against its model family, and the sweep's training settings as fixed
parameters of every trial: checks and translations that need the whole sweep and no search
library.

:func:`check_space` refuses a parameter that would take no effect in the family (an unused
name, a depth the images cannot hold, a block's filters below its depth, momentum with an
optimizer that ignores it); :func:`with_settings` adds the sweep's class subset, early stopping,
data parallelism and augmentation to its space (:func:`settings_params`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cifar_search.config.families import (
    COMPILE_PARAMS,
    MAX_FILTERS,
    MOMENTUM_OPTIMIZERS,
    TRAINING_DEFAULTS,
)
from cifar_search.config.require import require
from cifar_search.config.space import Fixed, Space, check_value
from cifar_search.config.sweep import Sweep

__all__ = ["check_space", "check_trials", "settings_params", "with_settings"]


def _possible(space: Space, name: str, default: Any) -> set[Any] | None:
    """Values ``name`` can take (its family/training default when the space omits it)."""
    if name not in space:
        return {default}
    return space.values_of(name)


def _check_depth(sweep: Sweep, space: Space) -> None:
    family = sweep.family
    if "depth" not in space or family.max_depth is None:
        return
    param = space["depth"]
    values = space.values_of("depth")
    highest = max(values) if values else param.high  # type: ignore[attr-defined]
    require(highest <= family.max_depth, "space.depth", highest,
            f"model {family.name!r} fits at most depth {family.max_depth} on 32x32 images")


def _check_block_filters(sweep: Sweep, space: Space) -> None:
    """``filters_i`` must exist only when ``depth >= i``, or it would take no effect."""
    if sweep.family.fixed_depth:
        return  # its filters_i are its own parameters
    default_depth = sweep.family.defaults.get("depth")
    for param in space.params:
        if not param.name.startswith("filters_"):
            continue
        block = int(param.name.split("_")[1])
        depths = _possible(space, "depth", default_depth)
        guarded = any(c.param == "depth" and c.min is not None and c.min >= block
                      for c in param.when)
        low = min(depths) if depths else space["depth"].low  # type: ignore[attr-defined]
        require(guarded or low >= block, f"space.{param.name}", param.to_data(),
                f"{param.name} takes effect only when depth >= {block}; "
                f"add when: {{depth: {{min: {block}}}}}")


def _highest(space: Space, name: str, default: Any) -> Any:
    """The largest value ``name`` can take (its family default when the space omits it)."""
    values = _possible(space, name, default)
    if values is None:
        return space[name].high  # type: ignore[attr-defined]
    return max(values) if None not in values else None


def _check_widths(sweep: Sweep, space: Space) -> None:
    """No convolution may get more than MAX_FILTERS filters, counting the doubling of
    ``filters`` per block (``filters_i``, where given, replaces block i's)."""
    family = sweep.family
    if "filters" not in space and "depth" not in space:
        return  # the families' own defaults are narrow
    filters = _highest(space, "filters", family.defaults.get("filters"))
    depth = _highest(space, "depth", family.defaults.get("depth"))
    if filters is None:
        return
    where = f"depth {depth}" if family.max_depth else f"model {family.name!r}"
    for block, width in enumerate(family.block_filters(filters, depth), start=1):
        if f"filters_{block}" in space and family.max_depth is not None:
            continue
        require(width <= MAX_FILTERS, "space.filters", filters,
                f"with {where} its block {block} would have {width} filters "
                f"({family.name!r} doubles filters per block); a convolution has at most "
                f"{MAX_FILTERS} filters")


def _check_momentum(space: Space) -> None:
    """``momentum`` must exist only with optimizers that take it."""
    if "momentum" not in space:
        return
    optimizers = _possible(space, "optimizer", TRAINING_DEFAULTS["optimizer"]) or set()
    for condition in space["momentum"].when:
        if condition.param == "optimizer" and condition.values is not None:
            optimizers &= set(condition.values)
    ignored = sorted(optimizers - set(MOMENTUM_OPTIMIZERS))
    require(not ignored, "space.momentum", space["momentum"].to_data(),
            f"momentum takes effect only with {', '.join(MOMENTUM_OPTIMIZERS)} "
            f"but would also be sampled with {', '.join(ignored)}; "
            f"add when: {{optimizer: [{', '.join(MOMENTUM_OPTIMIZERS)}]}}")


def _check_user_model(sweep: Sweep, space: Space) -> None:
    """The sweep's own model takes any parameter; with its own compile function, none that
    only the framework's compile would apply."""
    model = sweep.user_model
    assert model is not None
    if model.compile is not None:
        unapplied = [name for name in space.names if name in COMPILE_PARAMS]
        require(not unapplied, "space", unapplied[0] if unapplied else None,
                f"model {model.name!r} is compiled by its own function {model.compile}, so "
                f"the framework would not apply {', '.join(unapplied)}; give it a name of your "
                f"own (e.g. 'my_{unapplied[0] if unapplied else ''}') and read it there")
    else:
        _check_momentum(space)
    if sweep.sampler.kind == "grid":
        space.grid()


def check_space(sweep: Sweep) -> None:
    """Check that every parameter of the sweep's space takes effect in its model family (the
    sweep's own model takes any parameter)."""
    space = sweep.space
    if sweep.user_model is not None:
        _check_user_model(sweep, space)
        return
    unused = [name for name in space.names if name not in sweep.family.params]
    require(not unused, "space", unused[0] if unused else None,
            f"model {sweep.model!r} does not use it; it uses "
            + ", ".join(sorted(sweep.family.params)))
    _check_depth(sweep, space)
    _check_block_filters(sweep, space)
    _check_widths(sweep, space)
    _check_momentum(space)
    if sweep.sampler.kind == "grid":
        space.grid()




def check_trials(sweep: Sweep, chooser: str, kind: str, ends: bool) -> None:
    """A sweep without a number of trials needs a ``chooser`` (a sampler or an oracle) of a
    ``kind`` that ``ends`` by itself (a grid, Hyperband's brackets)."""
    require(sweep.trials is not None or ends, "trials", sweep.trials,
            f"{chooser} {kind!r} needs a number of trials")


def settings_params(sweep: Sweep) -> dict[str, Any]:
    """The sweep's class subset, early stopping, data parallelism and augmentation as trial
    parameters (only those that are set): they reach the worker with each trial's
    parameters, are logged with them, and are part of the study's fingerprint.

    Example:
        >>> from cifar_search.config.specs import Data
        >>> sweep = Sweep("s", {"parameters": {"dropout_rate": 0.2}}, "dropout",
        ...               data=Data(classes=("cat", "dog")))
        >>> settings_params(sweep)
        {'classes': 'cat,dog'}
    """
    params: dict[str, Any] = {}
    if sweep.data.classes is not None:
        params["classes"] = ",".join(sweep.data.classes)
    if sweep.budget.early_stopping is not None:
        params.update(sweep.budget.early_stopping.params())
    if sweep.compute.data_parallel:
        params["data_parallel"] = True
    if sweep.augmentation is not None:
        params.update(sweep.augmentation.params())
    return params


def with_settings(sweep: Sweep) -> Sweep:
    """The sweep with its training settings added to its space as fixed parameters, first.

    Raises:
        ConfigError: the space sets one of them too (``space.<name>``), or a value is not
            allowed.
    """
    settings = settings_params(sweep)
    space = sweep.space
    if not settings or not isinstance(space, Space):
        return sweep
    for name, value in settings.items():
        require(name not in space, f"space.{name}", name, "the sweep sets it (data, "
                "budget.early_stopping, compute or augmentation); set it in one place")
        check_value(name, value)
    fixed = tuple(Fixed(name, value=value) for name, value in settings.items())
    space = dataclasses.replace(space, params=fixed + space.params)
    return dataclasses.replace(sweep, space=space)

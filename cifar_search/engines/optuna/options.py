"""The Optuna engine's own settings of a sweep (``options={"optuna": {...}}``), checked.

``start``: points tried first, in order, before the sampler's own draws (Optuna's
``enqueue_trial``, when the study is created): each a mapping of swept parameters to values the
space allows; a parameter a point leaves out is drawn by the sampler. For a best-known
configuration to be the first trial of a TPE or random search.

Example:
    >>> from cifar_search.config.sweep import Sweep
    >>> sweep = Sweep("s", {"parameters": {"dropout_rate": {"grid": [0.2, 0.4]}}}, "dropout",
    ...               trials=3, options={"optuna": {"start": [{"dropout_rate": 0.4}]}})
    >>> OptunaOptions.of(sweep).start
    ({'dropout_rate': 0.4},)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from cifar_search.config.require import require
from cifar_search.config.space import Space
from cifar_search.config.sweep import Sweep
from cifar_search.errors import shown

__all__ = ["OptunaOptions"]


@dataclass(frozen=True)
class OptunaOptions:
    """The Optuna engine's settings of a sweep.

    Attributes:
        start: points tried first, in order (see the module's docstring).
    """

    start: tuple[Mapping[str, Any], ...] = ()

    ENGINE: ClassVar[str] = "optuna"

    def __post_init__(self) -> None:
        if isinstance(self.start, list):
            object.__setattr__(self, "start", tuple(self.start))
        require(isinstance(self.start, tuple) and all(
            isinstance(point, Mapping) and point and all(isinstance(k, str) for k in point)
            for point in self.start), "options.optuna.start", self.start,
            "start is a list of points, each a mapping of parameter names to values")

    @classmethod
    def of(cls, sweep: Sweep) -> OptunaOptions:
        """The sweep's ``options["optuna"]``, parsed (ConfigError naming ``options.optuna``)."""
        return sweep.options_for(cls.ENGINE, cls)

    def check(self, sweep: Sweep) -> None:
        """The start points against the sweep: at most ``trials`` of them, not with a grid,
        only with engine ``optuna``, each naming swept parameters with values the space
        allows."""
        key = "options.optuna.start"
        require(sweep.trials is None or len(self.start) <= sweep.trials, key, self.start,
                f"{len(self.start)} points, at most trials ({sweep.trials})")
        require(not self.start or sweep.sampler.kind != "grid", key, self.start[:1],
                "a grid tries every point, in the order of its choices: list the first "
                "point's values first instead")
        require(not self.start or sweep.engine == self.ENGINE, key, self.start[:1],
                "start points are queued in an Optuna study: engine 'optuna' only")
        if isinstance(sweep.space, Space):
            self._check_points(sweep.space)

    def _check_points(self, space: Space) -> None:
        """Each start point names swept parameters of the space, with values it allows."""
        swept = space.swept()
        for index, point in enumerate(self.start):
            for name, value in point.items():
                key = f"options.optuna.start[{index}].{name}"
                require(name in swept, key, value,
                        f"start points set swept parameters: {', '.join(swept) or 'none'}")
                require(space[name].possible(value), key, value,
                        f"the space allows {shown(space[name].spec())}")

"""The parts of a sweep that choose its trials, as plain data: :class:`Sampler`,
:class:`Pruner` and :class:`Oracle`, each a kind and a mapping of options.

Here they are checked in form only (a known kind, options a mapping from names); each engine
checks the options against the class it builds from them (Optuna's samplers and pruners in
:mod:`cifar_search.engines.optuna.parts`, KerasTuner's oracles in
:mod:`cifar_search.engines.kerastuner.options`), before anything is created.

Example:
    >>> Sampler("tpe", {"n_startup_trials": 5}).kind
    'tpe'
    >>> Pruner("hyperband", patience=1).patience
    1
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from cifar_search.config.require import is_int, require

__all__ = ["MAX_OPTION", "ORACLES", "PRUNERS", "SAMPLERS", "Oracle", "Pruner", "Sampler"]

#: Sampler kinds ("grid" is exhaustive: every grid point is tried once; "gp" needs the optional
#: extra ``gp`` (PyTorch); "auto" picks one of the others from the space and the number of
#: trials, see :mod:`cifar_search.config.auto_sampler`).
SAMPLERS = ("grid", "random", "tpe", "cmaes", "qmc", "nsga2", "gp", "auto")

#: Pruner kinds ("asha" is a multi-fidelity search over rungs of epochs rather than a pruner
#: that stops a trial mid-way: see :mod:`cifar_search.search.fidelity`).
PRUNERS = ("none", "median", "percentile", "hyperband", "successive_halving", "asha")

#: Oracle kinds (engine ``kerastuner``).
ORACLES = ("random", "grid", "bayesian", "hyperband")

#: Numbers given as options lie in [0, MAX_OPTION] (none of the samplers, pruners and oracles
#: here takes a negative count, step or weight); the engines check each option's type.
MAX_OPTION = 1_000_000


@dataclass(frozen=True)
class _Part:
    """A part chosen by kind, with keyword options for the class an engine builds from it."""

    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)

    KEY: ClassVar[str] = ""
    KINDS: ClassVar[tuple[str, ...]] = ()
    OPTIONS: ClassVar[str] = ""

    def __post_init__(self) -> None:
        require(isinstance(self.kind, str) and self.kind in self.KINDS, self.KEY, self.kind,
                f"{self.KEY}s are " + ", ".join(self.KINDS))
        require(isinstance(self.options, Mapping), f"{self.KEY}.options", self.options,
                f"options map {self.OPTIONS} keyword arguments to values")


@dataclass(frozen=True)
class Sampler(_Part):
    """A sampler by kind, with keyword options for its class (seeded by the sweep).

    Attributes:
        picked: set by the Optuna engine when it resolves sampler 'auto' to this kind: why
            (said at the start and recorded on the parent run); empty otherwise.

    Example:
        >>> Sampler("tpe", {"n_startup_trials": 5}).kind
        'tpe'
    """

    kind: str = "tpe"
    picked: str = ""
    KEY: ClassVar[str] = "sampler"
    KINDS: ClassVar[tuple[str, ...]] = SAMPLERS
    OPTIONS: ClassVar[str] = "the Optuna class's"

    def __post_init__(self) -> None:
        super().__post_init__()
        require(isinstance(self.picked, str), "sampler.picked", self.picked,
                "picked is text, set by the engine when it resolves sampler 'auto'")
        require(self.kind != "auto" or not self.options, "sampler.options",
                dict(self.options), "sampler 'auto' takes no options (the sampler it picks "
                "runs with its defaults); name the sampler to give it options")


@dataclass(frozen=True)
class Pruner(_Part):
    """A pruner by kind, with keyword options for its class.

    Attributes:
        patience: when set, the pruner is asked only about a trial whose objective has not
            improved for this many epochs (Optuna's ``PatientPruner``): a curve that dips for
            an epoch and recovers is not stopped at the dip.

    Example:
        >>> Pruner("median", {"n_warmup_steps": 2}).kind
        'median'
    """

    kind: str = "none"
    patience: int | None = None
    KEY: ClassVar[str] = "pruner"
    KINDS: ClassVar[tuple[str, ...]] = PRUNERS
    OPTIONS: ClassVar[str] = "the Optuna class's"

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.patience is None or (is_int(self.patience) and self.patience >= 1),
                "pruner.patience", self.patience, "patience is a whole number of epochs >= 1, "
                "or None")
        require(self.patience is None or self.kind != "none", "pruner.patience",
                self.patience, "patience delays a pruner; pruner 'none' has nothing to delay")


@dataclass(frozen=True)
class Oracle(_Part):
    """A KerasTuner oracle by kind, with keyword options for its class (engine ``kerastuner``,
    given as ``options={"kerastuner": {"oracle": ...}}``; seeded by the sweep, its space,
    objective and number of trials taken from the sweep).

    Example:
        >>> Oracle("hyperband", {"factor": 3}).kind
        'hyperband'
    """

    KEY: ClassVar[str] = "oracle"
    KINDS: ClassVar[tuple[str, ...]] = ORACLES
    OPTIONS: ClassVar[str] = "the KerasTuner oracle's"

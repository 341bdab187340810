"""The KerasTuner engine's own settings of a sweep (``options={"kerastuner": {...}}``), checked:
its oracle, by kind, with options checked against what each KerasTuner oracle takes here.

Example:
    >>> from cifar_search.config.sweep import Sweep
    >>> sweep = Sweep("s", "x.yaml", "dropout", engine="kerastuner",
    ...               options={"kerastuner": {"oracle": "hyperband"}})
    >>> KerasTunerOptions.of(sweep).oracle
    Oracle(kind='hyperband', options={})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cifar_search.config.normalised import Normalised
from cifar_search.config.parts import MAX_OPTION, Oracle
from cifar_search.config.require import is_int, require
from cifar_search.config.sweep import Sweep
from cifar_search.errors import ConfigError, shown

__all__ = ["ORACLE_CLASSES", "ORACLE_OPTIONS", "KerasTunerOptions", "check_oracle", "exhaustive"]

#: The KerasTuner class behind each oracle kind.
ORACLE_CLASSES = {"random": "RandomSearchOracle", "grid": "GridSearchOracle",
                  "bayesian": "BayesianOptimizationOracle", "hyperband": "HyperbandOracle"}

#: The options each oracle takes from a sweep: name -> (kind, least value). The objective,
#: space, seed and number of trials come from the sweep itself; ``max_epochs`` defaults to
#: ``budget.epochs``, and retries are the engine's (an interrupted trial continues).
ORACLE_OPTIONS: dict[str, dict[str, tuple[str, float]]] = {
    "random": {},
    "grid": {},
    "bayesian": {"num_initial_points": ("int", 1), "alpha": ("float", 0.0),
                 "beta": ("float", 0.0)},
    "hyperband": {"factor": ("int", 2), "hyperband_iterations": ("int", 1),
                  "max_epochs": ("int", 1)},
}


def check_oracle(oracle: Oracle) -> None:
    """Check the oracle's options against what its KerasTuner class takes here."""
    accepted = ORACLE_OPTIONS[oracle.kind]
    name_of = ORACLE_CLASSES[oracle.kind]
    for name, value in oracle.options.items():
        require(isinstance(name, str) and name in accepted, "oracle.options", name,
                f"{name_of} takes {', '.join(sorted(accepted)) or 'no options'} "
                "here (objective, space, seed and trials come from the sweep)")
        kind, least = accepted[name]
        fits = is_int(value) if kind == "int" else (
            (is_int(value) or isinstance(value, float)) and value == value)
        if not fits or not least <= value <= MAX_OPTION or (kind == "float" and value == least):
            bound = f">= {least}" if kind == "int" else f"> {least:g}"
            raise ConfigError("oracle.options", f"{name}={shown(value)} is not allowed; "
                              f"{name_of}'s {name} is "
                              f"{'a whole number' if kind == 'int' else 'a number'} "
                              f"{bound}, at most {MAX_OPTION}")


def exhaustive(oracle: Oracle) -> bool:
    """Whether the oracle ends by itself (a grid, Hyperband's brackets): trials optional."""
    return oracle.kind in ("grid", "hyperband")


@dataclass(frozen=True)
class KerasTunerOptions:
    """The KerasTuner engine's settings of a sweep.

    Attributes:
        oracle: an oracle kind or an :class:`~cifar_search.config.parts.Oracle` with
            options; None takes the sampler's kind (``grid`` or ``random``).
    """

    oracle: Normalised[Oracle | str | None, Oracle | None] = Normalised(
        None, lambda _, oracle: Oracle(oracle) if isinstance(oracle, str) else oracle)

    ENGINE: ClassVar[str] = "kerastuner"

    def __post_init__(self) -> None:
        require(self.oracle is None or isinstance(self.oracle, Oracle),
                "options.kerastuner.oracle", self.oracle,
                "oracle is an oracle kind, an Oracle(...) or None")
        if isinstance(self.oracle, Oracle):
            check_oracle(self.oracle)

    @classmethod
    def of(cls, sweep: Sweep) -> KerasTunerOptions:
        """The sweep's ``options["kerastuner"]``, parsed (ConfigError naming
        ``options.kerastuner``)."""
        return sweep.options_for(cls.ENGINE, cls)

    def check(self, sweep: Sweep) -> None:
        """An oracle only with engine ``kerastuner``, whose setting it is."""
        require(self.oracle is None or sweep.engine == self.ENGINE,
                "options.kerastuner.oracle", self.oracle,
                f"an oracle is a KerasTuner setting; it needs engine {self.ENGINE!r}")

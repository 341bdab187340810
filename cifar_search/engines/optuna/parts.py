"""The sweep's sampler and pruner as Optuna objects: built from the plain
:class:`~cifar_search.config.parts.Sampler` and :class:`~cifar_search.config.parts.Pruner`,
their options checked against the Optuna class's signature and tried on a throw-away study.

:func:`check_parts` runs before any study exists, so that an option Optuna refuses (at once or
at its first trial) stops the sweep in one line naming ``sampler.options`` or
``pruner.options``.

Example:
    >>> from cifar_search.config.parts import Pruner
    >>> build_pruner(Pruner("hyperband", patience=1), epochs=9).__class__.__name__
    'PatientPruner'
"""

from __future__ import annotations

import inspect
import warnings
from typing import TYPE_CHECKING, Any

from cifar_search.config.parts import MAX_OPTION, Pruner, Sampler
from cifar_search.config.require import is_int, require
from cifar_search.errors import ConfigError, clipped, shown

if TYPE_CHECKING:
    import optuna

    from cifar_search.config.specs import Objective
    from cifar_search.config.sweep import Sweep

__all__ = ["PRUNER_CLASSES", "SAMPLER_CLASSES", "build_pruner", "build_sampler", "check_part",
           "check_parts"]

#: The Optuna class behind each sampler kind ("grid" is exhaustive: the Optuna engine queues
#: each grid point once, see ``scheduler.grid_point_to_queue``).
SAMPLER_CLASSES = {"grid": "RandomSampler", "random": "RandomSampler", "tpe": "TPESampler"}

#: The Optuna class behind each pruner kind.
PRUNER_CLASSES = {
    "none": "NopPruner",
    "median": "MedianPruner",
    "percentile": "PercentilePruner",
    "hyperband": "HyperbandPruner",
    "successive_halving": "SuccessiveHalvingPruner",
}

#: Python types of the annotations that Optuna's samplers and pruners use, by name.
_ANNOTATED = {"int": "a whole number", "float": "a number", "bool": "True or False",
              "str": "text", "None": "None"}


def optuna_class(part: Sampler | Pruner) -> type:
    """The Optuna class a sampler or pruner kind stands for."""
    import optuna

    if isinstance(part, Sampler):
        return getattr(optuna.samplers, SAMPLER_CLASSES[part.kind])
    return getattr(optuna.pruners, PRUNER_CLASSES[part.kind])


def check_part(part: Sampler | Pruner) -> None:
    """Check each option's name and type against the Optuna class's signature (``seed`` is
    refused too: the sweep sets it)."""
    if not part.options:
        return
    cls = optuna_class(part)
    signature = inspect.signature(cls).parameters
    accepted = set(signature) - {"seed"}
    for name, value in part.options.items():
        require(isinstance(name, str) and name in accepted, f"{part.KEY}.options", name,
                f"{cls.__name__} takes {', '.join(sorted(accepted)) or 'nothing'}")
        problem = _option_problem(signature[name].annotation, value)
        if problem:
            raise ConfigError(f"{part.KEY}.options", f"{name}={shown(value)} is not allowed; "
                              f"{cls.__name__}'s {name} is {problem}")


def _option_problem(annotation: Any, value: Any) -> str | None:
    """What is wrong with an option's ``value`` given its annotation (None: nothing found).

    Annotations that are not plain types (callables, sequences) are left to Optuna.
    """
    names = [n.strip() for n in str(getattr(annotation, "__name__", annotation)).split("|")]
    if annotation is inspect.Parameter.empty or not all(n in _ANNOTATED for n in names):
        return None
    fits = {"int": is_int(value), "float": is_int(value) or isinstance(value, float),
            "bool": isinstance(value, bool), "str": isinstance(value, str),
            "None": value is None}
    if not any(fits[n] for n in names):
        return " or ".join(_ANNOTATED[n] for n in names)
    numeric = is_int(value) or isinstance(value, float)
    if numeric and not 0 <= value <= MAX_OPTION:  # NaN and infinities fail this too
        return f"a finite number from 0 to {MAX_OPTION}"
    return None


def build_sampler(sampler: Sampler, seed: int) -> optuna.samplers.BaseSampler:
    """The Optuna sampler object (without Optuna's warning that options such as TPE's
    ``multivariate`` and ``group`` are experimental: the terminal shows cifar_search's
    lines only)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna_class(sampler)(seed=seed, **sampler.options)


def build_pruner(pruner: Pruner, epochs: int) -> optuna.pruners.BasePruner:
    """The Optuna pruner object; Hyperband's maximum resource is the epoch budget."""
    import optuna

    options = dict(pruner.options)
    if pruner.kind == "hyperband":
        options.setdefault("max_resource", epochs)
    if pruner.kind == "percentile":
        options.setdefault("percentile", 50.0)
    built = optuna_class(pruner)(**options)
    if pruner.patience is None:
        return built
    with warnings.catch_warnings():  # experimental in name only since Optuna 2.8
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.pruners.PatientPruner(built, patience=pruner.patience)


def check_parts(sweep: Sweep) -> None:
    """Check the sampler's and pruner's options against their classes, then build them and try
    them on a throw-away in-memory study, so that an option Optuna refuses (at once or at its
    first trial) stops the sweep before its study exists."""
    check_part(sweep.sampler)
    check_part(sweep.pruner)
    if not sweep.sampler.options and not sweep.pruner.options:
        return  # the defaults are known to work
    for key, part, build in (
            ("sampler.options", sweep.sampler, lambda: build_sampler(sweep.sampler, sweep.seed)),
            ("pruner.options", sweep.pruner,
             lambda: build_pruner(sweep.pruner, sweep.budget.epochs))):
        try:
            with warnings.catch_warnings():  # Optuna's experimental-feature warnings
                warnings.simplefilter("ignore")
                built = build()
            if part.options:
                _rehearse(built, study_direction(sweep.objective))
        except Exception as error:  # noqa: BLE001 (Optuna on user options: TypeError,
            # ValueError, ZeroDivisionError and others)
            raise ConfigError(key, f"{shown(dict(part.options))} is not allowed; "
                              f"{optuna_class(part).__name__} refuses it: "
                              f"{clipped(str(error)) or type(error).__name__}") from None


def study_direction(objective: Objective) -> optuna.study.StudyDirection:
    """The objective's direction as Optuna's."""
    import optuna

    return optuna.study.StudyDirection[objective.direction.upper()]


def _rehearse(part: Any, direction: optuna.study.StudyDirection) -> None:
    """Run a few trials of a throw-away in-memory study with ``part`` (a sampler or a pruner),
    each reporting a few epochs: options that Optuna only trips over during a study (Hyperband's
    ``reduction_factor=1`` or ``min_resource=0``) fail here instead."""
    import optuna

    is_sampler = isinstance(part, optuna.samplers.BaseSampler)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(
                direction=direction, sampler=part if is_sampler else None,
                pruner=None if is_sampler else part)
            for number in range(3):
                trial = study.ask()
                trial.suggest_float("x", 0.0, 1.0)
                for step in range(1, 4):
                    trial.report(0.5 + 0.1 * number - 0.01 * step, step)
                    if trial.should_prune():
                        break
                study.tell(trial, 0.5)
    finally:
        optuna.logging.set_verbosity(verbosity)

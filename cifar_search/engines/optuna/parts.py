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
from cifar_search.search.fidelity import ASHA, ladder_of

if TYPE_CHECKING:
    import optuna

    from cifar_search.config.specs import Objective
    from cifar_search.config.sweep import Sweep

__all__ = ["PRUNER_CLASSES", "SAMPLER_CLASSES", "build_pruner", "build_sampler", "check_part",
           "check_parts", "check_sampler", "gp_installed", "resolve_sampler", "sampler_lines",
           "uses_constraints"]

#: The Optuna class behind each sampler kind ("grid" is exhaustive: the Optuna engine queues
#: each grid point once, see ``scheduler.grid_point_to_queue``; "auto" stands for one of the
#: others, see :func:`resolve_sampler`).
SAMPLER_CLASSES = {"grid": "RandomSampler", "random": "RandomSampler", "tpe": "TPESampler",
                   "cmaes": "CmaEsSampler", "qmc": "QMCSampler", "nsga2": "NSGAIISampler",
                   "gp": "GPSampler"}

#: Defaults that differ from the Optuna class's: Optuna's per-trial warning that a parameter
#: is drawn at random is replaced by one line at the start (:func:`sampler_lines`), and the
#: quasi-random sequence is scrambled so that the sweep's seed matters (unscrambled, every
#: seed draws the same Sobol points).
SAMPLER_DEFAULTS: dict[str, dict[str, Any]] = {
    "cmaes": {"warn_independent_sampling": False},
    "qmc": {"warn_independent_sampling": False, "scramble": True},
    "gp": {"warn_independent_sampling": False},
}

#: What sampler 'gp' needs, and its size: the PyTorch wheel on PyPI for Linux x86-64
#: (torch 2.15.0, cp311: 539 MB; more with the CUDA libraries pip adds on Linux).
GP_NEEDS = ("PyTorch, which is not installed (about 540 MB to download: the torch wheel for "
            "Linux x86-64, more with its CUDA libraries)")

#: The Optuna class behind each pruner kind.
PRUNER_CLASSES = {
    "none": "NopPruner",
    "median": "MedianPruner",
    "percentile": "PercentilePruner",
    "hyperband": "HyperbandPruner",
    "successive_halving": "SuccessiveHalvingPruner",
    "asha": "NopPruner",  # no trial stops mid-way: the coordinator promotes (search.fidelity)
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
    """Check each option's name and type against the Optuna class's signature (``seed`` and
    ``independent_sampler`` are refused too: the sweep sets them)."""
    if not part.options or (isinstance(part, Pruner) and part.kind == ASHA):
        return  # asha's options are its ladder's, checked by check_parts with the epochs
    cls = optuna_class(part)
    signature = inspect.signature(cls).parameters
    accepted = set(signature) - {"seed", "independent_sampler"}
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


def build_sampler(sampler: Sampler, seed: int,
                  independent: optuna.samplers.BaseSampler | None = None,
                  ) -> optuna.samplers.BaseSampler:
    """The Optuna sampler object (without Optuna's warning that options such as TPE's
    ``multivariate`` and ``group`` are experimental: the terminal shows cifar_search's
    lines only); ``independent`` draws what a qmc sampler does not (see
    :mod:`.seeding`)."""
    import optuna

    options = {**SAMPLER_DEFAULTS.get(sampler.kind, {}), **sampler.options}
    if independent is not None:
        options["independent_sampler"] = independent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna_class(sampler)(seed=seed, **options)


#: The sampler kinds whose Optuna sampler steers by the constraint values recorded on the
#: trials (Optuna 5 reads them from each trial, set with ``Trial.set_constraint``; its
#: ``constraints_func`` argument is deprecated): the others draw as if there were none.
STEERS_BY_CONSTRAINTS = ("tpe", "nsga2", "gp")


def uses_constraints(kind: str) -> bool:
    """Whether the sampler of ``kind`` steers by constraints (:data:`STEERS_BY_CONSTRAINTS`).

    Example:
        >>> uses_constraints("tpe"), uses_constraints("random")
        (True, False)
    """
    return kind in STEERS_BY_CONSTRAINTS


def gp_installed() -> bool:
    """Whether PyTorch, which sampler 'gp' needs, can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def resolve_sampler(sweep: Sweep, gp_ready: bool | None = None) -> Sweep:
    """The sweep with sampler 'auto' replaced by the kind its rule picks
    (:func:`cifar_search.config.samplers.pick`, the reason kept in ``Sampler.picked``);
    any other sweep as it is."""
    import dataclasses

    from cifar_search.config.samplers import pick, shape_of
    from cifar_search.config.space import Space

    if sweep.sampler.kind != "auto":
        return sweep
    ready = gp_installed() if gp_ready is None else gp_ready
    if isinstance(sweep.space, Space):
        chosen = pick(shape_of(sweep.space), sweep.trials, ready)
        kind, reason = chosen.kind, chosen.reason
    else:
        kind, reason = "tpe", "the space is not known before the run"
    return dataclasses.replace(sweep, sampler=Sampler(kind, picked=reason))


def check_sampler(sweep: Sweep) -> None:
    """Refuse a sampler (after 'auto' is resolved) that cannot work on the sweep's space, or
    'gp' without PyTorch, in one line naming ``sampler``."""
    from cifar_search.config.samplers import GP_EXTRA, misfit, sampler_shape

    kind = sweep.sampler.kind
    require(kind != "gp" or gp_installed(), "sampler", kind,
            f"sampler 'gp' needs {GP_NEEDS}: {GP_EXTRA}, or use sampler 'tpe'")
    shape = sampler_shape(sweep.space)
    problem = misfit(kind, shape) if shape is not None else None
    require(problem is None, "sampler", kind, problem or "")


def sampler_lines(sweep: Sweep) -> list[str]:
    """What to say at the start about the sampler: the kind 'auto' picked and why, that it
    ignores the constraints, and the parameters it draws at random instead of modelling."""
    from cifar_search.config.samplers import fallback_note, sampler_shape

    lines = []
    if sweep.sampler.picked:
        lines.append(f"sampler 'auto' picked {sweep.sampler.kind!r}: {sweep.sampler.picked}")
    if sweep.constraints and not uses_constraints(sweep.sampler.kind):
        lines.append(f"sampler {sweep.sampler.kind!r} does not steer by constraints (tpe, "
                     "nsga2 and gp do): it draws as if there were none; trials that break "
                     "one are still infeasible and never the best")
    shape = sampler_shape(sweep.space)
    note = fallback_note(sweep.sampler.kind, shape) if shape is not None else None
    if note:
        lines.append(note)
    return lines


def build_pruner(pruner: Pruner, epochs: int) -> optuna.pruners.BasePruner:
    """The Optuna pruner object; Hyperband's maximum resource is the epoch budget."""
    import optuna

    options = dict(pruner.options) if pruner.kind != ASHA else {}
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
    if sweep.pruner.kind == ASHA:
        ladder_of(sweep.pruner.options, sweep.budget.epochs)
    for key, part, build in (
            ("sampler.options", sweep.sampler, lambda: build_sampler(sweep.sampler, sweep.seed)),
            ("pruner.options", sweep.pruner,
             lambda: build_pruner(sweep.pruner, sweep.budget.epochs))):
        if not part.options or part.kind == ASHA:
            continue  # the defaults are known to work; asha's options are its ladder's
        try:
            with warnings.catch_warnings():  # Optuna's experimental-feature warnings
                warnings.simplefilter("ignore")
                built = build()
            if part.kind != "gp" or gp_installed():  # else refused by check_sampler
                _rehearse(built, study_direction(sweep.objective))
        except Exception as error:  # noqa: BLE001 (Optuna on user options: TypeError,
            # ValueError, ZeroDivisionError and others)
            raise ConfigError(key, f"{shown(dict(part.options))} is not allowed; "
                              f"{optuna_class(part).__name__} refuses it: "
                              f"{clipped(str(error)) or type(error).__name__}") from None


def study_direction(objective: Objective) -> optuna.study.StudyDirection:
    """The objective's direction as Optuna's (several objectives: the primary metric's)."""
    import optuna

    return optuna.study.StudyDirection[objective.direction.upper()]


#: Samplers of a multi-objective study: those whose Optuna class proposes for several
#: objectives (NSGA-II; TPE's multivariate Pareto ranking; random and grid, which ignore values).
MULTI_OBJECTIVE_SAMPLERS = ("nsga2", "tpe", "random", "grid")


def check_objectives(sweep: Sweep, sampler: str) -> None:
    """With several objectives: a sampler that supports them (``sampler`` as resolved).
    (``repeats``, ``same_seed`` and a warm start work as with one: each objective's value is
    a mean over the seeds, an earlier trial's measures give every value.)"""
    if not sweep.objective.several:
        return
    require(sampler in MULTI_OBJECTIVE_SAMPLERS, "sampler", sampler,
            "with several objectives the samplers are " + ", ".join(MULTI_OBJECTIVE_SAMPLERS))


def check_asha(sweep: Sweep, sampler: str) -> None:
    """With pruner 'asha' (``sampler`` as resolved): one seed and one objective per trial (a
    rung ranks one value each), no ``same_seed`` and no grid (a promotion trains the same
    parameters again, which both would take as done), no patience (no trial stops mid-way)
    and no ``stop_after`` (it compares scores across rungs)."""
    if sweep.pruner.kind != ASHA:
        return
    require(sweep.repeats == 1, "repeats", sweep.repeats,
            "pruner 'asha' ranks one value per trial at each rung; use repeats=1")
    require(not sweep.objective.several, "objective", list(sweep.objective.metrics),
            "pruner 'asha' ranks trials on one objective; several objectives need another "
            "pruner")
    require(not sweep.same_seed, "same_seed", sweep.same_seed,
            "same_seed takes an earlier result of the same parameters, and pruner 'asha' "
            "trains a promoted trial's parameters again at more epochs; use False")
    require(sampler != "grid", "sampler", sampler,
            "pruner 'asha' trains a promoted grid point again; use a sampler that draws, "
            "such as 'tpe' or 'random'")
    require(sweep.pruner.patience is None, "pruner.patience", sweep.pruner.patience,
            "pruner 'asha' stops no trial mid-way (each trains its rung's epochs); patience "
            "has nothing to delay")
    require(sweep.budget.stop_after is None, "budget.stop_after", sweep.budget.stop_after,
            "stop_after compares each complete trial with the best, and under pruner 'asha' "
            "a low rung's score never matches a higher rung's; leave it out")


def study_directions(objective: Objective) -> list[optuna.study.StudyDirection]:
    """Each objective's direction as Optuna's."""
    import optuna

    return [optuna.study.StudyDirection[d.upper()] for d in objective.directions]


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

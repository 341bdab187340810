"""Sweeps: a small Python file that defines one :class:`Sweep`.

A sweep names a search space, a model family, the data, a training budget, an objective, a
sampler and a pruner, the number of trials, the number of workers and a seed::

    from cifar_search import Budget, Objective, Sweep

    sweep = Sweep(
        name="dropout",
        space="../search_spaces/dropout.yaml",   # relative to this file
        model="dropout",
        budget=Budget(epochs=10, batch_size=32),
        objective=Objective("val_loss"),
        sampler="grid",
    )

A :class:`Sweep` validates its own fields when constructed (every number finite and within a
stated bound; the specs in :mod:`.specs`, the sampler and pruner in form, :mod:`.parts`).
:func:`cifar_search.config.load.load_sweep` reads a sweep file and checks its space against the
model family; the engine's checks (each engine's options, the sampler's and pruner's options
against their classes) are the engines' (:func:`cifar_search.engines.load`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cifar_search.config.constraints import Constraint, as_limits, parse_all
from cifar_search.config.families import FAMILIES, Family
from cifar_search.config.normalised import Normalised
from cifar_search.config.parts import Oracle, Pruner, Sampler
from cifar_search.config.require import is_int, require
from cifar_search.config.space import Space
from cifar_search.config.specs import (
    Augmentation,
    Budget,
    Compute,
    Data,
    MAX_TRIALS,
    EarlyStopping,
    Objective,
)
from cifar_search.config.user_model import Model
from cifar_search.errors import ConfigError
from cifar_search.search.fidelity import ASHA, ladder_of

__all__ = ["Augmentation", "Budget", "Compute", "Data", "EarlyStopping", "Model", "Objective",
           "Oracle", "Pruner", "Sampler", "Sweep"]

T = TypeVar("T")
PartT = TypeVar("PartT", Sampler, Pruner)

MAX_WORKERS = 64
#: ``workers="auto"``: one single-threaded worker per core this process may use.
AUTO_WORKERS = "auto"
MAX_REPEATS = 50
#: Seeds stay below ``search.seeds.SEED_MODULUS`` (TensorFlow and NumPy take 31-bit seeds).
MAX_SEED = 2**31 - 2
#: A sweep name is a study name, an MLflow experiment name and a folder name.
MAX_NAME = 100
#: What a sweep's (or a study's) name may be.
NAME_RULE = ("a name is non-empty and uses letters, digits, '-', '_' and '.' (not first), "
             f"at most {MAX_NAME} characters")


def is_name(value: Any) -> bool:
    """Whether ``value`` may name a sweep (a study, an MLflow experiment, a folder).

    Example:
        >>> is_name("dropout-2"), is_name("a b"), is_name(".hidden")
        (True, False, False)
    """
    return (isinstance(value, str) and bool(value) and len(value) <= MAX_NAME
            and all(c.isalnum() or c in "-_." for c in value) and not value.startswith("."))


#: The command-line flag of a setting whose flag is not its name with dashes.
FLAGS = {"warm_start": "--from-study", "warm_start_storage": "--from-storage",
         "constraints": "--constraint"}


def _part(cls: type[PartT]) -> Callable[[object, PartT | str], PartT]:
    """A kind name made into its part (``"grid"`` -> ``Sampler("grid")``)."""
    return lambda _, value: cls(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Sweep:
    """One sweep: everything a study needs, validated when constructed.

    Attributes:
        name: the study name and MLflow experiment name (letters, digits, ``-``, ``_``, ``.``).
        space: a space file path (relative to the sweep file), or the space as a mapping;
            after :func:`load_sweep`, the parsed :class:`~cifar_search.config.space.Space`.
        model: a model family (see :data:`cifar_search.config.families.FAMILIES`), or the
            sweep's own: a function ``build(params, input_shape, num_classes)`` defined at the
            top level of the sweep file, ``"package.module:function"``, or a :class:`Model`
            (with a ``compile`` function); kept as a :class:`Model`.
        data, budget, objective: see :class:`Data`, :class:`Budget`, :class:`Objective`.
        sampler, pruner: a :class:`Sampler` / :class:`Pruner` with options, given as one or
            as a kind name (``sampler="grid"`` is ``Sampler("grid")``).
        trials: finished trials the study ends with; None for a grid means every grid point.
        workers: trials trained at once, each in its own process; ``"auto"`` lets the engine
            pick the number (:func:`cifar_search.engines.worker_count`): one single-threaded
            worker per core, or, when every
            trial is known up front (a grid or random draws, no pruner), as many as end the
            sweep soonest with no core idle at its end (all five points of a five-point grid
            on two cores, the system sharing the cores). At a sweep's tail the runs in flight
            take the cores of idle workers (``Compute.widen_tail``).
        seed: seeds the sampler, the data split and (with the trial number) each trial.
        same_seed: train every trial from the same seed (the sweep's): the same data order
            and, where the architecture is the same, the same initial weights, so that trials
            differ only by their parameters (common random numbers). A trial that draws the
            parameters of a complete trial then repeats its result, and takes it without
            training (its MLflow run says ``duplicate_of``).
        repeats: train each candidate with this many seeds and score it by their mean
            (Optuna: each seed its own MLflow run; sklearn engine: folds x seeds). With a
            pruner, the pruner judges a trial's first seed epoch by epoch and the other seeds
            start only once it completes, so a pruned trial costs one partial run.
        engine: ``optuna`` (trials in worker processes, train/validation split), ``sklearn``
            (scikeras KerasClassifier in GridSearchCV / RandomizedSearchCV, cross-validated)
            or ``kerastuner`` (a KerasTuner oracle chooses, the same worker processes train).
        options: each engine's own settings, under its name, checked by that engine (see
            :func:`cifar_search.engines.check`); a sweep file may carry the settings of
            several engines, since ``--engine`` and ``compare`` run it with each:
            ``{"sklearn": {"cv": 3, "n_jobs": None, "as_written": False}}`` (folds, parallel
            fits, the lesson's mistake reproduced), ``{"kerastuner": {"oracle":
            Oracle("hyperband", {"factor": 3})}}`` (an oracle kind or an :class:`Oracle`),
            ``{"optuna": {"start": [{"dropout_rate": 0.3}]}}`` (points tried first).
        compute: mixed precision, XLA and GPU memory (see :class:`Compute`).
        augmentation: random flips, shifts, rotations and zooms of the training images (see
            :class:`Augmentation`); None for none unless the space sets them.
        register: register the best model in MLflow's Model Registry under the sweep's name;
            None: on for the workspace's own store, off for a tracking server.
        warm_start: the name of an earlier study whose complete trials that fit this space
            are added to this study when it is created, untrained, so that its sampler starts
            informed (engine ``optuna``, not with a grid; see
            :mod:`cifar_search.engines.optuna.warm_start`); None for none.
        warm_start_storage: the Optuna storage URL of that study; None: this sweep's storage.
        constraints: limits on a trial's measures, ``{"params": "<= 1_000_000", "latency_ms":
            "<= 2"}`` (see :mod:`cifar_search.config.constraints`; kept parsed, as
            :class:`~cifar_search.config.constraints.Constraint` by measure name). A trial
            that breaks one is ``infeasible``: never the best; one whose built model breaks
            a limit on ``params`` is not trained (engine ``optuna`` only).
        source: the file this sweep was loaded from (set by :func:`load_sweep`).
    """

    name: str
    space: Any
    model: str | Model
    data: Data = field(default_factory=Data)
    budget: Budget = field(default_factory=Budget)
    objective: Objective = field(default_factory=Objective)
    sampler: Normalised[Sampler | str, Sampler] = Normalised("tpe", _part(Sampler))
    pruner: Normalised[Pruner | str, Pruner] = Normalised("none", _part(Pruner))
    trials: int | None = None
    workers: int | str = 1
    seed: int = 0
    same_seed: bool = False
    repeats: int = 1
    engine: str = "optuna"
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    compute: Compute = field(default_factory=Compute)
    augmentation: Augmentation | None = None
    register: bool | None = None
    warm_start: str | None = None
    warm_start_storage: str | None = None
    constraints: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        require(self.augmentation is None or isinstance(self.augmentation, Augmentation),
                "augmentation", self.augmentation,
                "augmentation is an Augmentation(flip, shift, rotation, zoom) or None")
        require(is_name(self.name), "name", self.name, NAME_RULE)
        require(isinstance(self.space, (str, Mapping, Space)), "space", self.space,
                "space is a path to a space file or a mapping of parameters")
        if (not isinstance(self.model, (str, Model))
                or isinstance(self.model, str) and ":" in self.model):
            object.__setattr__(self, "model", Model(self.model))
        require(isinstance(self.model, Model) or self.model in FAMILIES, "model", self.model,
                "model families are " + ", ".join(FAMILIES) + "; or your own: a function "
                "defined at the top level of the sweep file, or 'package.module:function'")
        for key, cls in (("data", Data), ("budget", Budget), ("objective", Objective),
                         ("sampler", Sampler), ("pruner", Pruner), ("compute", Compute)):
            value = getattr(self, key)
            require(isinstance(value, cls), key, value, f"{key} is a {cls.__name__}(...)")
        require(self.trials is None or (is_int(self.trials) and 1 <= self.trials <= MAX_TRIALS),
                "trials", self.trials, f"trials is a whole number >= 1, at most {MAX_TRIALS}")
        require(self.workers == AUTO_WORKERS or
                is_int(self.workers) and 1 <= self.workers <= MAX_WORKERS, "workers",
                self.workers, f"workers is a whole number from 1 to {MAX_WORKERS}, or "
                             f"{AUTO_WORKERS!r} (one per core)")
        require(is_int(self.seed) and 0 <= self.seed <= MAX_SEED, "seed", self.seed,
                f"seed is a whole number >= 0, at most {MAX_SEED} (2**31 - 2)")
        require(isinstance(self.same_seed, bool), "same_seed", self.same_seed,
                "same_seed is True or False")
        require(is_int(self.repeats) and 1 <= self.repeats <= MAX_REPEATS, "repeats",
                self.repeats, f"repeats is a whole number from 1 to {MAX_REPEATS}")
        require(self.register is None or isinstance(self.register, bool), "register",
                self.register, "register is True, False or None (on for the workspace's store)")
        self._check_options()
        self._check_warm_start()
        object.__setattr__(self, "constraints", parse_all(self.constraints))

    def _check_warm_start(self) -> None:
        """The warm start's form: a study name, another than this one's in the same storage
        (whether it exists is the engine's to check, when the sweep runs)."""
        require(self.warm_start is None or is_name(self.warm_start), "warm_start",
                self.warm_start, "warm_start is the name of an earlier study: " + NAME_RULE)
        require(self.warm_start_storage is None or (isinstance(self.warm_start_storage, str)
                                                    and self.warm_start_storage.strip() != ""),
                "warm_start_storage", self.warm_start_storage,
                "warm_start_storage is an Optuna storage URL, e.g. sqlite:///old/optuna.db")
        require(self.warm_start_storage is None or self.warm_start is not None,
                "warm_start_storage", self.warm_start_storage,
                "it names where warm_start's study is: give warm_start too")
        require(self.warm_start != self.name or self.warm_start_storage is not None,
                "warm_start", self.warm_start, "a study cannot start from itself: give the new "
                "study another name (--study-name NEW)")

    def _check_options(self) -> None:
        """The options' form: engine names to mappings of setting names (each engine checks
        its own settings: :meth:`options_for`)."""
        require(isinstance(self.options, Mapping) and all(
            isinstance(engine, str) and isinstance(section, Mapping)
            and all(isinstance(key, str) for key in section)
            for engine, section in self.options.items()), "options", self.options,
            "options map an engine's name to its settings, e.g. {'sklearn': {'cv': 5}}")
        object.__setattr__(self, "options", {engine: dict(section) for engine, section
                                             in self.options.items()})

    def options_for(self, engine: str, cls: type[T]) -> T:
        """The settings under ``options[engine]`` as ``cls``, a dataclass whose fields are
        the settings that engine takes (its defaults where the sweep gives none).

        Raises:
            ConfigError: ``options.<engine>.<key>`` for a key ``cls`` has no field for.

        Example:
            >>> @dataclass(frozen=True)
            ... class Folds:
            ...     cv: int = 3
            >>> Sweep("s", "x.yaml", "dropout", options={"e": {"cv": 5}}).options_for("e", Folds)
            Folds(cv=5)
        """
        given = self.options.get(engine, {})
        allowed = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        for key, value in given.items():
            require(key in allowed, f"options.{engine}.{key}", value,
                    f"engine {engine!r} takes {', '.join(allowed) or 'no options'}")
        return cls(**given)

    def option(self, engine: str, key: str, default: Any = None) -> Any:
        """One setting under ``options[engine]`` as the sweep file gave it (unchecked)."""
        return self.options.get(engine, {}).get(key, default)

    @property
    def parsed_constraints(self) -> tuple[Constraint, ...]:
        """The constraints, parsed, in the order given."""
        return tuple(self.constraints.values())

    @property
    def family(self) -> Family:
        """The model family (a KeyError for the sweep's own model: see :attr:`user_model`)."""
        return FAMILIES[self.model]  # type: ignore[index]

    @property
    def user_model(self) -> Model | None:
        """The sweep's own model, or None for a built-in family."""
        return self.model if isinstance(self.model, Model) else None

    @property
    def model_name(self) -> str:
        """The family's name, or the sweep's own model function's."""
        return self.model.name if isinstance(self.model, Model) else self.model

    def override(self, check: Callable[[Sweep], None] | None = None,
                 options: Mapping[str, Mapping[str, Any]] | None = None,
                 **changes: Any) -> Sweep:
        """A copy with command-line overrides (``None`` values are ignored), re-validated.

        Args:
            check: run on the copy, inside the same error naming (the engine's checks:
                :func:`cifar_search.engines.override`).
            options: engine settings to set, by engine, e.g. ``{"sklearn": {"as_written":
                True}}``; an error in one names its flag (``--as-written``).
            **changes: trials, workers, epochs, timeout (``budget.time``), timeout_stop
                (``budget.stop_at_deadline``), subset, data (a source path), repeats,
                same_seed, engine, mixed_precision, xla, gpus and backend (``compute.*``),
                register, warm_start, warm_start_storage, sampler (a kind name: the
                file's options are kept only when it names the file's kind), constraints
                (added to the file's, by measure).
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        if "constraints" in changes:  # --constraint: by measure, over the file's
            changes["constraints"] = {**self.constraints, **changes["constraints"]}
        if changes.get("sampler") == self.sampler.kind:
            changes["sampler"] = self.sampler  # the same kind, with the file's options
        given = set(changes) | {key for section in (options or {}).values() for key in section}
        try:
            budget = dataclasses.replace(
                self.budget, epochs=changes.pop("epochs", self.budget.epochs),
                time=changes.pop("timeout", self.budget.time),
                stop_at_deadline=changes.pop("timeout_stop", self.budget.stop_at_deadline))
            data = dataclasses.replace(self.data, subset=changes.pop("subset", self.data.subset),
                                       source=changes.pop("data", self.data.source))
            compute = dataclasses.replace(
                self.compute,
                mixed_precision=changes.pop("mixed_precision", self.compute.mixed_precision),
                xla=changes.pop("xla", self.compute.xla),
                gpus=changes.pop("gpus", self.compute.gpus),
                backend=changes.pop("backend", self.compute.backend))
            merged = {**self.options, **{engine: {**self.options.get(engine, {}), **section}
                                         for engine, section in (options or {}).items()}}
            sweep = dataclasses.replace(self, budget=budget, data=data, compute=compute,
                                        options=merged, **changes)
            if check is not None:
                check(sweep)
        except ConfigError as error:
            name = error.key.split(".")[-1]
            name = {"source": "data", "time": "timeout",
                    "stop_at_deadline": "timeout_stop"}.get(name, name)
            if name not in given:  # a setting of the file that the override conflicts with
                raise error.in_file(str(self.source)) from None
            flag = FLAGS.get(name, f"--{name.replace('_', '-')}")
            raise ConfigError(flag, error.message) from None
        return sweep

    def fingerprint(self) -> dict[str, Any]:
        """The settings a study must keep when it is resumed, as plain data."""
        space = self.space.to_dict() if isinstance(self.space, Space) else self.space
        fingerprint = {
            "space": space,
            "model": self.model_name,
            "data": {"validation": self.data.validation, "subset": self.data.subset},
            # early stopping is in the space (with_settings), not here (compatibility C3)
            "budget": self.budget.per_trial(),
            "objective": self.objective.fingerprint(),
            "seed": self.seed,
        }
        if self.repeats != 1:  # absent at its default (compatibility C3)
            fingerprint["repeats"] = self.repeats
        if self.same_seed:  # likewise absent when False
            fingerprint["same_seed"] = True
        if self.constraints:  # likewise absent when none: they decide which trials count
            fingerprint["constraints"] = as_limits(self.parsed_constraints)
        if self.pruner.kind == ASHA:  # likewise absent: a rung's value means its epochs
            ladder = ladder_of(self.pruner.options, self.budget.epochs)
            fingerprint["ladder"] = {"rungs": list(ladder.rungs),
                                     "reduction_factor": ladder.reduction_factor}
        if self.compute.backend != "tensorflow":  # likewise absent at its default
            fingerprint["backend"] = self.compute.backend
        if isinstance(self.model, Model):  # absent for a built-in family
            fingerprint["model_code"] = self.model.code
            fingerprint["model_architecture"] = self.model.architecture
        return fingerprint

    def to_json(self) -> str:
        """Every setting as JSON (logged on the parent run)."""
        data = self.fingerprint()
        data.update(name=self.name, budget=dataclasses.asdict(self.budget),
                    sampler=dataclasses.asdict(self.sampler),
                    pruner=dataclasses.asdict(self.pruner), trials=self.trials,
                    workers=self.workers, data_source=self.data.source, repeats=self.repeats,
                    same_seed=self.same_seed, engine=self.engine, options=self.options,
                    compute=dataclasses.asdict(self.compute), register=self.register,
                    warm_start=self.warm_start, objective=self.objective.to_dict())
        return json.dumps(data, indent=2, sort_keys=True, default=_plain)


def _plain(value: Any) -> Any:
    """A value JSON has no type for: a dataclass (an Oracle) as its fields, a tuple as a list,
    anything else as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return list(value) if isinstance(value, tuple) else str(value)

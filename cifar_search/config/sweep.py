"""Sweeps: a small Python file that defines one :class:`Sweep`, loaded and validated whole.

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

The spec objects validate themselves when constructed (every number finite and within a
stated bound; sampler and pruner options built and tried on a throw-away in-memory study);
:func:`load_sweep` adds the file name to any error, reads the space and checks it against the
model family, so that a bad sweep stops before a study is created.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import runpy
import sys
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping

from cifar_search.errors import ConfigError, clipped, shown
from cifar_search.execution.tail import packed_workers
from cifar_search.execution.threads import available_cores
from cifar_search.config.families import (
    FAMILIES,
    MAX_BATCH_SIZE,
    MAX_FILTERS,
    MAX_ROTATION,
    MOMENTUM_OPTIMIZERS,
    STOP_METRICS,
    TRAINING_DEFAULTS,
    Family,
)
from cifar_search.config.space import Fixed, Space, check_value, load_space

__all__ = ["Augmentation", "Budget", "Compute", "Data", "EarlyStopping", "Objective", "Oracle",
           "Pruner", "Sampler", "Sweep", "load_sweep", "with_settings"]

#: Validation sets other than a fraction of the training images: ``test``, the whole test
#: set (as tutorials that validate on it do: the validation score is then a test score);
#: ``test_half``, a seeded half of it (the other half is the test set).
VALIDATION_SETS = ("test", "test_half")

#: Objective metrics (Keras history names) and the direction each is optimised in.
METRICS = {"val_loss": "minimize", "val_accuracy": "maximize"}

#: Sampler kinds and the Optuna class behind each ("grid" is exhaustive: the Optuna engine
#: queues each grid point once, see ``engines.optuna.scheduler.grid_point_to_queue``).
SAMPLERS = {"grid": "RandomSampler", "random": "RandomSampler", "tpe": "TPESampler"}

#: Pruner kinds and the Optuna class behind each.
PRUNERS = {
    "none": "NopPruner",
    "median": "MedianPruner",
    "percentile": "PercentilePruner",
    "hyperband": "HyperbandPruner",
    "successive_halving": "SuccessiveHalvingPruner",
}

#: KerasTuner oracle kinds (engine ``kerastuner``) and the KerasTuner class behind each.
ORACLES = {"random": "RandomSearchOracle", "grid": "GridSearchOracle",
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

MAX_WORKERS = 64
#: ``workers="auto"``: one single-threaded worker per core this process may use.
AUTO_WORKERS = "auto"
MAX_REPEATS = 50
#: Epochs per trial (and patience): 10,000 epochs of CIFAR-10 is months of CPU per trial.
MAX_EPOCHS = 10_000
#: Trials per study: as many as the largest grid (``space.MAX_GRID_POINTS``).
MAX_TRIALS = 100_000
#: Seeds stay below ``search.seeds.SEED_MODULUS`` (TensorFlow and NumPy take 31-bit seeds).
MAX_SEED = 2**31 - 2
#: A sweep name is a study name, an MLflow experiment name and a folder name.
MAX_NAME = 100
#: Largest sweep file, in bytes (shipped sweeps are under 2 KiB).
MAX_SWEEP_BYTES = 1024 * 1024
#: Numbers given as sampler or pruner options lie in [0, MAX_OPTION] (none of Optuna's
#: samplers and pruners here takes a negative count, step or weight).
MAX_OPTION = 1_000_000
#: GPU memory per worker, MiB: 1 TiB, more than any one GPU has.
MAX_GPU_MEMORY_MB = 1024 * 1024
#: Batches per call into TensorFlow: more than an epoch of CIFAR-10 has at batch size 5.
MAX_STEPS_PER_EXECUTION = 10_000


def _require(ok: bool, key: str, value: Any, allowed: str) -> None:
    """Raise a :class:`ConfigError` for ``key`` unless ``ok`` (the value shortened)."""
    if not ok:
        raise ConfigError(key, f"{shown(value)} is not allowed; {allowed}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    import math

    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


@dataclass(frozen=True)
class Data:
    """Which data to train on and how to split it.

    Attributes:
        source: a local copy (cifar-10-python.tar.gz, cifar-10-batches-py/, or an image folder
            train/<class>/, test/<class>/ as a folder or .tar.gz), relative to the sweep file;
            None means ``--data``, then ``$CIFAR_SEARCH_DATA``, then a Keras download.
        validation: fraction of the training images held out for validation.
        subset: use only this many training images (before the split); None for all.
    """

    source: str | None = None
    validation: float | str = 0.2
    subset: int | None = None
    classes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        self._check_classes()
        _require(self.source is None or isinstance(self.source, str), "data.source",
                 self.source, "source is a path (text) or None")
        _require(self.source is None or (self.source.strip() != "" and "\0" not in self.source),
                 "data.source", self.source, "source is a non-empty path without NUL "
                 "characters, or None (--data, $CIFAR_SEARCH_DATA, else a download)")
        _require((isinstance(self.validation, float) and 0 < self.validation < 1)
                 or self.validation in VALIDATION_SETS, "data.validation", self.validation,
                 "validation is a fraction in (0, 1) of the training images, 'test' (the "
                 "test set) or 'test_half' (a seeded half of it; the other half is the test)")
        _require(self.subset is None or (_is_int(self.subset) and self.subset >= 2),
                 "data.subset", self.subset, "subset is a whole number of images >= 2, or None")


    def _check_classes(self) -> None:
        if self.classes is None:
            return
        names = self.classes
        _require(isinstance(names, (list, tuple)) and len(names) >= 2
                 and all(isinstance(n, str) and n and "," not in n for n in names),
                 "data.classes", names, "classes is a list of 2 or more class names (the "
                 "data's folder names, e.g. 'cat'), or None for all")
        _require(len(set(names)) == len(names), "data.classes", names,
                 "each class is named once")
        object.__setattr__(self, "classes", tuple(names))


@dataclass(frozen=True)
class Augmentation:
    """Random changes to each training image (Keras preprocessing layers, active in training
    only, seeded per trial and kept in its checkpoint). Each is also a parameter a space may
    sweep (``flip``, ``shift``, ``rotation``, ``zoom``).

    Attributes:
        flip: random horizontal flips.
        shift: the largest translation, a fraction of the height and width, in [0, 1).
        rotation: the largest rotation, degrees, in [0, 180].
        zoom: the largest zoom in or out, a fraction in [0, 1).

    Example:
        >>> Augmentation(flip=True, shift=0.2, rotation=15).rotation
        15
    """

    flip: bool = False
    shift: float = 0.0
    rotation: float = 0.0
    zoom: float = 0.0

    def __post_init__(self) -> None:
        _require(isinstance(self.flip, bool), "augmentation.flip", self.flip,
                 "flip is True or False")
        for name, high, closed in (("shift", 1.0, False), ("rotation", MAX_ROTATION, True),
                                   ("zoom", 1.0, False)):
            value = getattr(self, name)
            ok = _is_number(value) and 0 <= value and (value <= high if closed else value < high)
            bound = "inclusive" if closed else "excluded"
            _require(ok, f"augmentation.{name}", value,
                     f"{name} is a number from 0 to {high:g} ({bound})")

    def params(self) -> dict[str, Any]:
        """The augmentation as trial parameters (the ones that differ from none)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v}


@dataclass(frozen=True)
class EarlyStopping:
    """Stop a trial when ``monitor`` has not improved for ``patience`` epochs; the budget's
    ``epochs`` is then an upper bound. The state (epochs without improvement, best value,
    best weights) is kept in the trial's checkpoint, so a resumed trial stops where the
    uninterrupted one would have.

    Attributes:
        monitor: the metric watched (``val_loss``, ``val_accuracy``, ``loss``, ``accuracy``);
            losses improve downwards, accuracies upwards.
        patience: epochs without improvement before stopping, >= 1.
        keep_best: the metric whose best epoch's weights the trial ends with (the default:
            ``monitor``), or None for the last epoch's. The objective is then read at that
            epoch.

    Example:
        >>> EarlyStopping("val_accuracy", 10, keep_best="val_loss").keep_best
        'val_loss'
    """

    monitor: str = "val_loss"
    patience: int = 10
    keep_best: str | None = ""

    def __post_init__(self) -> None:
        _require(self.monitor in STOP_METRICS, "budget.early_stopping.monitor", self.monitor,
                 "early stopping monitors one of " + ", ".join(STOP_METRICS))
        _require(_is_int(self.patience) and 1 <= self.patience <= MAX_EPOCHS,
                 "budget.early_stopping.patience", self.patience,
                 f"patience is a whole number of epochs >= 1, at most {MAX_EPOCHS}")
        if self.keep_best == "":
            object.__setattr__(self, "keep_best", self.monitor)
        _require(self.keep_best is None or self.keep_best in STOP_METRICS,
                 "budget.early_stopping.keep_best", self.keep_best,
                 "keep_best is one of " + ", ".join(STOP_METRICS) + ", or None (the last "
                 "epoch's weights)")

    def params(self) -> dict[str, Any]:
        """The early stopping as trial parameters."""
        return {"stop_monitor": self.monitor, "stop_patience": self.patience,
                "keep_best": self.keep_best or ""}


@dataclass(frozen=True)
class Budget:
    """How long each trial trains.

    Attributes:
        epochs: epochs per trial (the pruner's maximum resource).
        batch_size: images per step, unless the space sweeps ``batch_size``.
        patience: stop a trial after this many epochs without improving the objective
            (Keras EarlyStopping, best weights restored); None trains every epoch.
        early_stopping: early stopping on any metric (see :class:`EarlyStopping`), with its
            state kept in the checkpoint; None for none (or ``patience``).
    """

    epochs: int = 10
    batch_size: int = 32
    patience: int | None = None
    early_stopping: EarlyStopping | None = None

    def __post_init__(self) -> None:
        _require(self.early_stopping is None or isinstance(self.early_stopping, EarlyStopping),
                 "budget.early_stopping", self.early_stopping,
                 "early_stopping is an EarlyStopping(monitor, patience, keep_best) or None")
        _require(self.early_stopping is None or self.patience is None, "budget.patience",
                 self.patience, "give patience or early_stopping, not both (patience=N is "
                 "early stopping on the objective with its best weights kept)")
        _require(_is_int(self.epochs) and 1 <= self.epochs <= MAX_EPOCHS, "budget.epochs",
                 self.epochs, f"epochs is a whole number >= 1, at most {MAX_EPOCHS}")
        _require(_is_int(self.batch_size) and 1 <= self.batch_size <= MAX_BATCH_SIZE,
                 "budget.batch_size", self.batch_size,
                 f"batch_size is a whole number >= 1, at most {MAX_BATCH_SIZE}")
        _require(self.patience is None or (_is_int(self.patience)
                                           and 1 <= self.patience <= MAX_EPOCHS),
                 "budget.patience", self.patience,
                 f"patience is a whole number >= 1, at most {MAX_EPOCHS}, or None")


@dataclass(frozen=True)
class Objective:
    """What a trial is scored on: a validation metric of its final model.

    Attributes:
        metric: ``val_loss`` or ``val_accuracy``.
        direction: ``minimize`` or ``maximize``; None picks the metric's natural direction.
    """

    metric: str = "val_loss"
    direction: str | None = None

    def __post_init__(self) -> None:
        _require(self.metric in METRICS, "objective.metric", self.metric,
                 "metrics are " + ", ".join(METRICS))
        if self.direction is None:
            object.__setattr__(self, "direction", METRICS[self.metric])
        _require(self.direction in ("minimize", "maximize"), "objective.direction",
                 self.direction, "direction is minimize or maximize")


@dataclass(frozen=True)
class Compute:
    """How each trial computes. The GPU settings take effect where a GPU is visible; on a
    CPU-only machine they are applied too (and are slower there: measure before using them).

    Attributes:
        mixed_precision: Keras ``mixed_float16`` policy (float32 logits); worth it on GPUs
            with tensor cores.
        xla: compile the train step with XLA (``jit_compile``); None lets Keras decide (on for
            GPUs, off on CPU-only machines).
        gpu_memory_mb: a hard per-worker limit of GPU memory, so that several workers share one
            GPU; None lets each worker's memory grow as needed.
        steps_per_execution: training batches run per call into TensorFlow (Keras'
            ``steps_per_execution``). Small CNNs spend a large share of each step in Python;
            16 trains the dropout CNN about 1.4x faster per thread on CPU than 1 (measured in
            ``docs/performance.md``). Per-epoch callbacks, pruning and checkpoints are
            unaffected; per-batch callbacks run every N batches.
        data_parallel: train each trial on every GPU its worker sees at once
            (``tf.distribute.MirroredStrategy``: each batch split across them, gradients
            summed); a trial fails with a clear reason where the worker sees fewer than 2.
        widen_tail: when fewer runs are in flight than the pool has cores (a sweep's tail, a
            pruner's last rungs), a run moves at the end of an epoch to a wider worker that
            takes the free cores, and goes on from its checkpoint there
            (:mod:`cifar_search.execution.tail`). Its later epochs then sum in another order
            (more threads), so with ``same_seed`` its scores match a rerun's only when the same
            runs moved at the same epochs: False keeps every run on its worker's threads.
    """

    mixed_precision: bool = False
    xla: bool | None = None
    gpu_memory_mb: int | None = None
    steps_per_execution: int = 16
    data_parallel: bool = field(default=False, repr=False)  # repr as before it existed
    widen_tail: bool = field(default=True, repr=False)

    def __post_init__(self) -> None:
        _require(isinstance(self.data_parallel, bool), "compute.data_parallel",
                 self.data_parallel, "data_parallel is True or False")
        _require(isinstance(self.widen_tail, bool), "compute.widen_tail", self.widen_tail,
                 "widen_tail is True or False")
        _require(isinstance(self.mixed_precision, bool), "compute.mixed_precision",
                 self.mixed_precision, "mixed_precision is True or False")
        _require(self.xla is None or isinstance(self.xla, bool), "compute.xla", self.xla,
                 "xla is True, False or None (Keras decides)")
        _require(self.gpu_memory_mb is None or (_is_int(self.gpu_memory_mb)
                                                and 64 <= self.gpu_memory_mb
                                                <= MAX_GPU_MEMORY_MB),
                 "compute.gpu_memory_mb", self.gpu_memory_mb,
                 f"gpu_memory_mb is a whole number of MiB >= 64, or None; at most "
                 f"{MAX_GPU_MEMORY_MB} (1 TiB)")
        _require(_is_int(self.steps_per_execution)
                 and 1 <= self.steps_per_execution <= MAX_STEPS_PER_EXECUTION,
                 "compute.steps_per_execution", self.steps_per_execution,
                 f"steps_per_execution is a whole number >= 1, at most "
                 f"{MAX_STEPS_PER_EXECUTION}")


@dataclass(frozen=True)
class _OptunaPart:
    """An Optuna sampler or pruner chosen by kind, with keyword options for its class."""

    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)

    KEY: ClassVar[str] = ""
    CLASSES: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        _require(isinstance(self.kind, str) and self.kind in self.CLASSES, self.KEY, self.kind,
                 f"{self.KEY}s are " + ", ".join(self.CLASSES))
        _require(isinstance(self.options, Mapping), f"{self.KEY}.options", self.options,
                 "options map the Optuna class's keyword arguments to values")
        signature = inspect.signature(self._class()).parameters
        accepted = set(signature) - {"seed"}
        for name, value in self.options.items():  # seed is refused too: the sweep sets it
            _require(isinstance(name, str) and name in accepted, f"{self.KEY}.options", name,
                     f"{self._class().__name__} takes {', '.join(sorted(accepted)) or 'nothing'}")
            problem = _option_problem(signature[name].annotation, value)
            if problem:
                raise ConfigError(f"{self.KEY}.options", f"{name}={shown(value)} is not allowed; "
                                  f"{self._class().__name__}'s {name} is {problem}")

    def _class(self) -> type:
        import optuna

        return getattr(getattr(optuna, f"{self.KEY}s"), self.CLASSES[self.kind])


#: Python types of the annotations that Optuna's samplers and pruners use, by name.
_ANNOTATED = {"int": "a whole number", "float": "a number", "bool": "True or False",
              "str": "text", "None": "None"}


def _option_problem(annotation: Any, value: Any) -> str | None:
    """What is wrong with an option's ``value`` given its annotation (None: nothing found).

    Annotations that are not plain types (callables, sequences) are left to Optuna.
    """
    names = [n.strip() for n in str(getattr(annotation, "__name__", annotation)).split("|")]
    if annotation is inspect.Parameter.empty or not all(n in _ANNOTATED for n in names):
        return None
    fits = {"int": _is_int(value), "float": _is_int(value) or isinstance(value, float),
            "bool": isinstance(value, bool), "str": isinstance(value, str),
            "None": value is None}
    if not any(fits[n] for n in names):
        return " or ".join(_ANNOTATED[n] for n in names)
    numeric = _is_int(value) or isinstance(value, float)
    if numeric and not 0 <= value <= MAX_OPTION:  # NaN and infinities fail this too
        return f"a finite number from 0 to {MAX_OPTION}"
    return None


@dataclass(frozen=True)
class Sampler(_OptunaPart):
    """An Optuna sampler by kind, with keyword options for its class (seeded by the sweep).

    Example:
        >>> Sampler("tpe", {"n_startup_trials": 5}).kind
        'tpe'
    """

    kind: str = "tpe"
    KEY: ClassVar[str] = "sampler"
    CLASSES: ClassVar[dict[str, str]] = SAMPLERS

    def build(self, seed: int) -> Any:
        """The Optuna sampler object (without Optuna's warning that options such as TPE's
        ``multivariate`` and ``group`` are experimental: the terminal shows cifar_search's
        lines only)."""
        import optuna

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return self._class()(seed=seed, **self.options)


@dataclass(frozen=True)
class Pruner(_OptunaPart):
    """An Optuna pruner by kind, with keyword options for its class.

    Attributes:
        patience: when set, the pruner is asked only about a trial whose objective has not
            improved for this many epochs (Optuna's ``PatientPruner``): a curve that dips for
            an epoch and recovers is not stopped at the dip.

    Example:
        >>> Pruner("median", {"n_warmup_steps": 2}).kind
        'median'
        >>> Pruner("hyperband", patience=1).build(epochs=9).__class__.__name__
        'PatientPruner'
    """

    kind: str = "none"
    patience: int | None = None
    KEY: ClassVar[str] = "pruner"
    CLASSES: ClassVar[dict[str, str]] = PRUNERS

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.patience is None or (_is_int(self.patience) and self.patience >= 1),
                 "pruner.patience", self.patience, "patience is a whole number of epochs >= 1, "
                 "or None")
        _require(self.patience is None or self.kind != "none", "pruner.patience",
                 self.patience, "patience delays a pruner; pruner 'none' has nothing to delay")

    def build(self, epochs: int) -> Any:
        """The Optuna pruner object; Hyperband's maximum resource is the epoch budget."""
        import optuna

        options = dict(self.options)
        if self.kind == "hyperband":
            options.setdefault("max_resource", epochs)
        if self.kind == "percentile":
            options.setdefault("percentile", 50.0)
        pruner = self._class()(**options)
        if self.patience is None:
            return pruner
        with warnings.catch_warnings():  # experimental in name only since Optuna 2.8
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.PatientPruner(pruner, patience=self.patience)


@dataclass(frozen=True)
class Oracle:
    """A KerasTuner oracle by kind, with keyword options for its class (engine ``kerastuner``;
    seeded by the sweep, its space, objective and number of trials taken from the sweep).

    Example:
        >>> Oracle("hyperband", {"factor": 3}).kind
        'hyperband'
    """

    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)

    ENGINE: ClassVar[str] = "kerastuner"

    def __post_init__(self) -> None:
        _require(isinstance(self.kind, str) and self.kind in ORACLES, "oracle", self.kind,
                 "oracles are " + ", ".join(ORACLES))
        _require(isinstance(self.options, Mapping), "oracle.options", self.options,
                 "options map the KerasTuner oracle's keyword arguments to values")
        accepted = ORACLE_OPTIONS[self.kind]
        for name, value in self.options.items():
            _require(isinstance(name, str) and name in accepted, "oracle.options", name,
                     f"{ORACLES[self.kind]} takes {', '.join(sorted(accepted)) or 'no options'} "
                     "here (objective, space, seed and trials come from the sweep)")
            kind, least = accepted[name]
            fits = _is_int(value) if kind == "int" else (
                (_is_int(value) or isinstance(value, float)) and value == value)
            if not fits or not least <= value <= MAX_OPTION or (kind == "float" and value == least):
                bound = f">= {least}" if kind == "int" else f"> {least:g}"
                raise ConfigError("oracle.options", f"{name}={shown(value)} is not allowed; "
                                  f"{ORACLES[self.kind]}'s {name} is "
                                  f"{'a whole number' if kind == 'int' else 'a number'} "
                                  f"{bound}, at most {MAX_OPTION}")

    @property
    def exhaustive(self) -> bool:
        """Whether the oracle ends by itself (a grid, Hyperband's brackets): trials optional."""
        return self.kind in ("grid", "hyperband")


@dataclass(frozen=True)
class Sweep:
    """One sweep: everything a study needs, validated when constructed.

    Attributes:
        name: the study name and MLflow experiment name (letters, digits, ``-``, ``_``, ``.``).
        space: a space file path (relative to the sweep file), or the space as a mapping;
            after :func:`load_sweep`, the parsed :class:`~cifar_search.config.space.Space`.
        model: a model family (see :data:`cifar_search.config.families.FAMILIES`).
        data, budget, objective: see :class:`Data`, :class:`Budget`, :class:`Objective`.
        sampler, pruner: a kind name or a :class:`Sampler` / :class:`Pruner` with options.
        trials: finished trials the study ends with; None for a grid means every grid point.
        workers: trials trained at once, each in its own process; ``"auto"`` picks the
            number (:attr:`worker_count`): one single-threaded worker per core, or, when every
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
        oracle: engine ``kerastuner``'s oracle, a kind name or an :class:`Oracle` with
            options; None takes the sampler's kind (``grid`` or ``random``).
        cv: the sklearn engine's number of cross-validation folds.
        n_jobs: the sklearn engine's parallel fits (joblib processes); None uses ``workers``.
        as_written: sklearn engine only: compile the model with Adam inside the build function
            as the Carpentries lesson did, so that scikeras ignores the optimizer candidates
            (reproduces the lesson's mistake on purpose; each candidate reports the optimizer
            that really trained).
        compute: mixed precision, XLA and GPU memory (see :class:`Compute`).
        augmentation: random flips, shifts, rotations and zooms of the training images (see
            :class:`Augmentation`); None for none unless the space sets them.
        register: register the best model in MLflow's Model Registry under the sweep's name;
            None: on for the workspace's own store, off for a tracking server.
        source: the file this sweep was loaded from (set by :func:`load_sweep`).
        start: points tried first, in order, before the sampler's own draws (Optuna's
            ``enqueue_trial``, when the study is created): each a mapping of swept parameters
            to values the space allows; a parameter a point leaves out is drawn by the sampler.
            For a best-known configuration to be the first trial of a TPE or random search.
    """

    name: str
    space: Any
    model: str
    data: Data = field(default_factory=Data)
    budget: Budget = field(default_factory=Budget)
    objective: Objective = field(default_factory=Objective)
    sampler: Sampler | str = "tpe"
    pruner: Pruner | str = "none"
    trials: int | None = None
    workers: int | str = 1
    seed: int = 0
    same_seed: bool = False
    repeats: int = 1
    engine: str = "optuna"
    oracle: Oracle | str | None = None
    cv: int = 3
    n_jobs: int | None = None
    as_written: bool = False
    compute: Compute = field(default_factory=Compute)
    augmentation: Augmentation | None = None
    register: bool | None = None
    source: str | None = None
    start: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        _require(self.augmentation is None or isinstance(self.augmentation, Augmentation),
                 "augmentation", self.augmentation,
                 "augmentation is an Augmentation(flip, shift, rotation, zoom) or None")
        if isinstance(self.sampler, str):
            object.__setattr__(self, "sampler", Sampler(self.sampler))
        if isinstance(self.pruner, str):
            object.__setattr__(self, "pruner", Pruner(self.pruner))
        if isinstance(self.oracle, str):
            object.__setattr__(self, "oracle", Oracle(self.oracle))
        _require(isinstance(self.name, str) and bool(self.name)
                 and all(c.isalnum() or c in "-_." for c in self.name)
                 and len(self.name) <= MAX_NAME and not self.name.startswith("."),
                 "name", self.name, "a name is non-empty and uses letters, digits, '-', '_' "
                 f"and '.' (not first), at most {MAX_NAME} characters")
        _require(isinstance(self.space, (str, Mapping, Space)), "space", self.space,
                 "space is a path to a space file or a mapping of parameters")
        _require(self.model in FAMILIES, "model", self.model,
                 "model families are " + ", ".join(FAMILIES))
        for key, cls in (("data", Data), ("budget", Budget), ("objective", Objective),
                         ("sampler", Sampler), ("pruner", Pruner), ("compute", Compute)):
            value = getattr(self, key)
            _require(isinstance(value, cls), key, value, f"{key} is a {cls.__name__}(...)")
        _require(self.oracle is None or isinstance(self.oracle, Oracle), "oracle", self.oracle,
                 "oracle is an oracle kind, an Oracle(...) or None")
        _require(self.trials is None or (_is_int(self.trials) and 1 <= self.trials <= MAX_TRIALS),
                 "trials", self.trials, f"trials is a whole number >= 1, at most {MAX_TRIALS}")
        ends = self.sampler.kind == "grid" if self.oracle is None else self.oracle.exhaustive
        _require(self.trials is not None or ends, "trials", self.trials,
                 f"{'sampler' if self.oracle is None else 'oracle'} "
                 f"{(self.oracle or self.sampler).kind!r} needs a number of trials")
        _require(self.workers == AUTO_WORKERS or
                 _is_int(self.workers) and 1 <= self.workers <= MAX_WORKERS, "workers",
                 self.workers, f"workers is a whole number from 1 to {MAX_WORKERS}, or "
                               f"{AUTO_WORKERS!r} (one per core)")
        _require(_is_int(self.seed) and 0 <= self.seed <= MAX_SEED, "seed", self.seed,
                 f"seed is a whole number >= 0, at most {MAX_SEED} (2**31 - 2)")
        _require(isinstance(self.same_seed, bool), "same_seed", self.same_seed,
                 "same_seed is True or False")
        _require(_is_int(self.repeats) and 1 <= self.repeats <= MAX_REPEATS, "repeats",
                 self.repeats, f"repeats is a whole number from 1 to {MAX_REPEATS}")
        _require(self.register is None or isinstance(self.register, bool), "register",
                 self.register, "register is True, False or None (on for the workspace's store)")
        self._check_start()
        self._check_optuna_parts()
        self._check_engine()

    def _check_start(self) -> None:
        """The start points' form (their values are checked against the space when the sweep
        file is loaded: :func:`check_start`)."""
        if isinstance(self.start, list):
            object.__setattr__(self, "start", tuple(self.start))
        _require(isinstance(self.start, tuple) and all(
            isinstance(point, Mapping) and point and all(isinstance(k, str) for k in point)
            for point in self.start), "start", self.start,
            "start is a list of points, each a mapping of parameter names to values")
        _require(self.trials is None or len(self.start) <= self.trials, "start", self.start,
                 f"{len(self.start)} points, at most trials ({self.trials})")
        _require(not self.start or self.sampler.kind != "grid", "start", self.start[:1],
                 "a grid tries every point, in the order of its choices: list the first "
                 "point's values first instead")
        _require(not self.start or self.engine == "optuna", "start", self.start[:1],
                 "start points are queued in an Optuna study: engine 'optuna' only")

    def _check_optuna_parts(self) -> None:
        """Build the sampler and pruner with their options and try them on a throw-away
        in-memory study, so that an option Optuna refuses (at once or at its first trial)
        stops the sweep before its study exists."""
        if not self.sampler.options and not self.pruner.options:
            return  # the defaults are known to work
        import optuna

        for key, part, build in (
                ("sampler.options", self.sampler, lambda: self.sampler.build(self.seed)),
                ("pruner.options", self.pruner, lambda: self.pruner.build(self.budget.epochs))):
            try:
                with warnings.catch_warnings():  # Optuna's experimental-feature warnings
                    warnings.simplefilter("ignore")
                    built = build()
                if part.options:
                    _rehearse(optuna, built, self.objective.direction)
            except Exception as error:  # noqa: BLE001 (Optuna on user options: TypeError,
                # ValueError, ZeroDivisionError and others)
                raise ConfigError(key, f"{shown(dict(part.options))} is not allowed; "
                                  f"{part._class().__name__} refuses it: "
                                  f"{clipped(str(error)) or type(error).__name__}") from None

    def _check_engine(self) -> None:
        from cifar_search import engines

        _require(self.engine in engines.names(), "engine", self.engine,
                 "engines are " + ", ".join(engines.names()))
        _require(_is_int(self.cv) and self.cv >= 2, "cv", self.cv,
                 "cv is a whole number of folds >= 2")
        _require(self.n_jobs is None or (_is_int(self.n_jobs) and 1 <= self.n_jobs
                                         <= MAX_WORKERS), "n_jobs", self.n_jobs,
                 f"n_jobs is a whole number from 1 to {MAX_WORKERS}, or None (use workers)")
        _require(isinstance(self.as_written, bool), "as_written", self.as_written,
                 "as_written is True or False")
        _require(self.engine == "optuna" or not (settings_params(self)
                                                 or isinstance(self.data.validation, str)),
                 "engine", self.engine,
                 "data.classes, a test-set validation, early_stopping and data_parallel are "
                 "settings of the optuna engine")
        _require(self.oracle is None or self.engine == Oracle.ENGINE, "oracle", self.oracle,
                 f"an oracle is a KerasTuner setting; it needs engine {Oracle.ENGINE!r}")
        engines.get(self.engine).check(self)

    @property
    def jobs(self) -> int:
        """The sklearn engine's parallel fits."""
        return self.n_jobs if self.n_jobs is not None else self.worker_count

    @property
    def family(self) -> Family:
        """The model family."""
        return FAMILIES[self.model]

    def override(self, **changes: Any) -> "Sweep":
        """A copy with command-line overrides (``None`` values are ignored), re-validated.

        Keys: trials, workers, epochs, subset, data (a source path), repeats, same_seed, engine,
        as_written, mixed_precision, xla, register.
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        given = set(changes)
        try:
            budget = dataclasses.replace(self.budget,
                                         epochs=changes.pop("epochs", self.budget.epochs))
            data = dataclasses.replace(self.data, subset=changes.pop("subset", self.data.subset),
                                       source=changes.pop("data", self.data.source))
            compute = dataclasses.replace(
                self.compute,
                mixed_precision=changes.pop("mixed_precision", self.compute.mixed_precision),
                xla=changes.pop("xla", self.compute.xla))
            sweep = dataclasses.replace(self, budget=budget, data=data, compute=compute,
                                        **changes)
            if isinstance(sweep.space, Space):
                check_space(sweep)
        except ConfigError as error:
            name = {"source": "data"}.get(error.key.split(".")[-1], error.key.split(".")[-1])
            if name not in given:  # a setting of the file that the override conflicts with
                raise error.in_file(str(self.source)) from None
            raise ConfigError(f"--{name.replace('_', '-')}", error.message) from None
        return sweep

    @property
    def worker_count(self) -> int:
        """The number of workers: ``workers``, or what ``"auto"`` picks for this machine."""
        if self.workers != AUTO_WORKERS:
            return int(self.workers)
        cores = available_cores()
        known = (self.engine == "optuna" and self.sampler.kind in ("grid", "random")
                 and self.pruner.kind == "none" and isinstance(self.space, Space))
        if not known:
            return min(cores, MAX_WORKERS)
        trials = self.trials
        if self.sampler.kind == "grid":  # each point once, however many trials are asked
            points = len(self.space.grid())
            trials = points if trials is None else min(trials, points)
        return min(packed_workers(trials * self.repeats, cores), MAX_WORKERS)

    def fingerprint(self) -> dict[str, Any]:
        """The settings a study must keep when it is resumed, as plain data."""
        space = self.space.to_dict() if isinstance(self.space, Space) else self.space
        fingerprint = {
            "space": space,
            "model": self.model,
            "data": {"validation": self.data.validation, "subset": self.data.subset},
            # early stopping is in the space (with_settings); absent here, so that studies
            # made before it existed still match
            "budget": {k: v for k, v in dataclasses.asdict(self.budget).items()
                       if k != "early_stopping"},
            "objective": dataclasses.asdict(self.objective),
            "seed": self.seed,
        }
        if self.repeats != 1:  # absent when 1, so studies made before repeats existed match
            fingerprint["repeats"] = self.repeats
        if self.same_seed:  # likewise absent when False
            fingerprint["same_seed"] = True
        return fingerprint

    def to_json(self) -> str:
        """Every setting as JSON (logged on the parent run)."""
        data = self.fingerprint()
        data.update(name=self.name, sampler=dataclasses.asdict(self.sampler),
                    pruner=dataclasses.asdict(self.pruner), trials=self.trials,
                    workers=self.workers, data_source=self.data.source, repeats=self.repeats,
                    same_seed=self.same_seed,
                    engine=self.engine, cv=self.cv, n_jobs=self.n_jobs,
                    oracle=None if self.oracle is None else dataclasses.asdict(self.oracle),
                    as_written=self.as_written, compute=dataclasses.asdict(self.compute),
                    register=self.register, start=[dict(point) for point in self.start])
        return json.dumps(data, indent=2, sort_keys=True, default=str)


def _rehearse(optuna: Any, part: Any, direction: str) -> None:
    """Run a few trials of a throw-away in-memory study with ``part`` (a sampler or a pruner),
    each reporting a few epochs: options that Optuna only trips over during a study (Hyperband's
    ``reduction_factor=1`` or ``min_resource=0``) fail here instead."""
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


# --------------------------------------------------------------------------------------------
# Space against model family
# --------------------------------------------------------------------------------------------


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
    _require(highest <= family.max_depth, "space.depth", highest,
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
        _require(guarded or low >= block, f"space.{param.name}", param.to_data(),
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
        _require(width <= MAX_FILTERS, "space.filters", filters,
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
    _require(not ignored, "space.momentum", space["momentum"].to_data(),
             f"momentum takes effect only with {', '.join(MOMENTUM_OPTIMIZERS)} "
             f"but would also be sampled with {', '.join(ignored)}; "
             f"add when: {{optimizer: [{', '.join(MOMENTUM_OPTIMIZERS)}]}}")


def check_space(sweep: Sweep) -> None:
    """Check that every parameter of the sweep's space takes effect in its model family."""
    space = sweep.space
    unused = [name for name in space.names if name not in sweep.family.params]
    _require(not unused, "space", unused[0] if unused else None,
             f"model {sweep.model!r} does not use it; it uses "
             + ", ".join(sorted(sweep.family.params)))
    _check_depth(sweep, space)
    _check_block_filters(sweep, space)
    _check_widths(sweep, space)
    _check_momentum(space)
    if sweep.sampler.kind == "grid":
        space.grid()
    check_start(sweep)


def check_start(sweep: Sweep) -> None:
    """Each start point names swept parameters of the space, with values the space allows."""
    swept = sweep.space.swept()
    for index, point in enumerate(sweep.start):
        for name, value in point.items():
            key = f"start[{index}].{name}"
            _require(name in swept, key, value,
                     f"start points set swept parameters: {', '.join(swept) or 'none'}")
            _require(sweep.space[name].possible(value), key, value,
                     f"the space allows {shown(sweep.space[name].spec())}")


# --------------------------------------------------------------------------------------------
# The sweep's training settings, as fixed parameters of every trial
# --------------------------------------------------------------------------------------------


def settings_params(sweep: Sweep) -> dict[str, Any]:
    """The sweep's class subset, early stopping, data parallelism and augmentation as trial
    parameters (only those that are set): they reach the worker with each trial's
    parameters, are logged with them, and are part of the study's fingerprint.

    Example:
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
        _require(name not in space, f"space.{name}", name, "the sweep sets it (data, "
                 "budget.early_stopping, compute or augmentation); set it in one place")
        check_value(name, value)
    fixed = tuple(Fixed(name, value=value) for name, value in settings.items())
    space = dataclasses.replace(space, params=fixed + space.params)
    return dataclasses.replace(sweep, space=space)


# --------------------------------------------------------------------------------------------
# Loading a sweep file
# --------------------------------------------------------------------------------------------


def _user_line(path: Path, error: BaseException) -> str:
    """``line N`` of the sweep file where ``error`` was raised, or ''."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).resolve() == path.resolve()]
    return f"line {frames[-1].lineno}" if frames else ""


def _check_sweep_path(path: Path) -> None:
    """Refuse a path that is not a readable sweep file of reasonable size."""
    if path.is_dir():
        raise ConfigError("", "is a directory, not a sweep file; give the path of a "
                          "sweeps/*.py file", str(path))
    if not path.is_file():
        raise ConfigError("", "no such sweep file; give the path of a sweeps/*.py file", str(path))
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ConfigError("", f"cannot read the sweep file ({error.strerror or error})",
                          str(path)) from None
    if size > MAX_SWEEP_BYTES:
        raise ConfigError("", f"the sweep file is larger than {MAX_SWEEP_BYTES // 1024} KiB; a "
                          "sweep file defines one Sweep(...) and a space file holds the space",
                          str(path))


def _run_sweep_file(path: Path) -> dict[str, Any]:
    """Execute a sweep file and return its globals."""
    _check_sweep_path(path)
    sys.path.insert(0, str(path.parent))
    try:
        return runpy.run_path(str(path), run_name="__sweep__")
    except ConfigError as error:
        raise error.in_file(str(path)) from None
    except SyntaxError as error:
        raise ConfigError(f"line {error.lineno}", f"invalid Python: {clipped(error.msg)}",
                          str(path)) from None
    except SystemExit as error:  # sys.exit() in a sweep file would end the command silently
        raise ConfigError(_user_line(path, error), f"the sweep file called sys.exit("
                          f"{shown(error.code, 40)}); a sweep file only defines "
                          "sweep = Sweep(...)", str(path)) from None
    except Exception as error:  # user code: report it in one line, naming file and line
        raise ConfigError(_user_line(path, error),
                          f"{type(error).__name__}: {_message(error)}", str(path)) from None
    finally:
        with contextlib.suppress(ValueError):  # unless the file took it out itself
            sys.path.remove(str(path.parent))


def _message(error: BaseException) -> str:
    """An exception's message as one short line (even if its __str__ fails)."""
    try:
        return clipped(str(error))
    except Exception:  # noqa: BLE001 (user code)
        return "(no message)"


def _find_sweep(namespace: Mapping[str, Any], path: Path) -> Sweep:
    """The ``sweep`` variable, or the only Sweep defined in the file."""
    if isinstance(namespace.get("sweep"), Sweep):
        return namespace["sweep"]
    found = [v for k, v in namespace.items() if isinstance(v, Sweep) and not k.startswith("_")]
    if len(found) != 1:
        raise ConfigError("sweep", f"found {len(found)} Sweep objects; define one, named "
                          "'sweep = Sweep(...)'", str(path))
    return found[0]


def _resolve_space(sweep: Sweep, base: Path) -> Space:
    if isinstance(sweep.space, Space):
        return sweep.space
    if isinstance(sweep.space, Mapping):
        return Space.from_dict(sweep.space, source=sweep.source)
    space_path = Path(sweep.space)
    return load_space(space_path if space_path.is_absolute() else base / space_path)


def load_sweep(path: str | Path) -> Sweep:
    """Load, resolve and validate a sweep file: the returned ``sweep.space`` is a Space.

    Raises:
        ConfigError: naming the sweep or space file, the key, the value and what is allowed.

    Example:
        >>> sweep = load_sweep("sweeps/dropout.py")  # doctest: +SKIP
    """
    path = Path(path)
    sweep = _find_sweep(_run_sweep_file(path), path)
    source = str(path)
    data = sweep.data
    if data.source is not None and not Path(data.source).is_absolute():
        data = dataclasses.replace(data, source=str(path.parent / data.source))
    sweep = dataclasses.replace(sweep, source=source, data=data)
    sweep = dataclasses.replace(sweep, space=_resolve_space(sweep, path.parent))
    try:
        sweep = with_settings(sweep)
        check_space(sweep)
    except ConfigError as error:
        raise error.in_file(source) from None
    return sweep

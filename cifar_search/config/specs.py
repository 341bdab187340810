"""What a sweep trains on and how: :class:`Data`, :class:`Augmentation`,
:class:`EarlyStopping`, :class:`Budget`, :class:`Objective` and :class:`Compute`.

Each validates itself when constructed: every number finite and within a stated bound, every
name one of those allowed; the error names the key (``budget.epochs``), the value and what is
allowed.

Example:
    >>> Budget(epochs=10, batch_size=32).epochs
    10
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

from cifar_search.config.families import MAX_BATCH_SIZE, MAX_ROTATION, STOP_METRICS
from cifar_search.config.durations import DURATION_HELP, seconds
from cifar_search.config.normalised import Normalised
from cifar_search.config.objective import Objective
from cifar_search.config.require import is_int, is_real, require

__all__ = ["Augmentation", "Budget", "Compute", "Data", "EarlyStopping", "Objective"]

#: Validation sets other than a fraction of the training images: ``test``, the whole test
#: set (as tutorials that validate on it do: the validation score is then a test score);
#: ``test_half``, a seeded half of it (the other half is the test set).
VALIDATION_SETS = ("test", "test_half")

#: Data sets a source may name by their Keras name (downloaded by ``keras.datasets``).
KERAS_DATASETS = ("cifar10", "cifar100", "mnist", "fashion_mnist")
#: A data source that names a function: ``file.py:function`` or ``package.module:function``.
FUNCTION_REFERENCE = re.compile(r"(?P<target>.+\.py|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):"
                                r"(?P<name>[A-Za-z_]\w*)")
#: Labellings of a data set: CIFAR-100 has 100 ``fine`` classes and 20 ``coarse`` ones; other
#: data sets have one labelling, ``fine``.
LABELS = ("fine", "coarse")

#: Trials per study: as many as the largest grid (``space.MAX_GRID_POINTS``); limits counted
#: in trials have the same bound.
MAX_TRIALS = 100_000
#: ``min_delta``: larger than any loss or accuracy difference that means anything.
MAX_MIN_DELTA = 1e6

#: Epochs per trial (and patience): 10,000 epochs of CIFAR-10 is months of CPU per trial.
MAX_EPOCHS = 10_000
#: GPU memory per worker, MiB: 1 TiB, more than any one GPU has.
MAX_GPU_MEMORY_MB = 1024 * 1024
#: Batches per call into TensorFlow: more than an epoch of CIFAR-10 has at batch size 5.
MAX_STEPS_PER_EXECUTION = 10_000
#: GPUs one trial may take (``gpus_per_trial``), and trials one GPU may hold (``1/m``).
MAX_GPUS_PER_TRIAL = 64
MAX_TRIALS_PER_GPU = 16
#: A GPU index (``gpus``, ``--gpus``): below what any one machine has.
MAX_GPU_INDEX = 1023
#: Keras backends a sweep may train on (``Compute.backend``, ``--backend``); the first is the
#: default.
BACKENDS = ("tensorflow", "jax")


def _gpu_share(value: Any) -> bool:
    """A whole number of GPUs, or ``1/m`` of one (within 2%: ``0.33`` is a third)."""
    if not is_real(value):
        return False
    if value >= 1:
        return value == int(value) and value <= MAX_GPUS_PER_TRIAL
    if value <= 0:
        return False
    per_gpu = round(1 / value)
    return 2 <= per_gpu <= MAX_TRIALS_PER_GPU and abs(per_gpu * value - 1) <= 0.02


@dataclass(frozen=True)
class Data:
    """Which data to train on and how to split it.

    Attributes:
        source: a local copy (cifar-10-python.tar.gz, cifar-100-python.tar.gz, their
            extracted folders, an .npz of x_train, y_train, x_test, y_test, or an image folder
            train/<class>/, test/<class>/ as a folder or .tar.gz), relative to the sweep file;
            a Keras name (``cifar10``, ``cifar100``, ``mnist``, ``fashion_mnist``); a function
            of the sweep file that returns the arrays (recorded as ``"<sweep file>:<name>"``
            when the sweep is loaded), or ``"package.module:function"``; None means
            ``--data``, then ``$CIFAR_SEARCH_DATA``, then CIFAR-10 downloaded by Keras.
        validation: fraction of the training images held out for validation.
        subset: use only this many training images (before the split); None for all.
        classes: the classes to train on, by name; None for all.
        labels: CIFAR-100's labelling, ``fine`` (100 classes) or ``coarse`` (20); other data
            has only ``fine``.

    Example:
        >>> Data(source="cifar-100-python.tar.gz", labels="coarse").labels
        'coarse'
    """

    source: str | Callable[[], Any] | None = None
    validation: float | str = 0.2
    subset: int | None = None
    classes: tuple[str, ...] | None = None
    labels: str = "fine"

    def __post_init__(self) -> None:
        self._check_classes()
        self._check_source()
        require(self.labels in LABELS, "data.labels", self.labels,
                "labels is 'fine' or 'coarse' (CIFAR-100's 20 superclasses)")
        require((isinstance(self.validation, float) and 0 < self.validation < 1)
                or self.validation in VALIDATION_SETS, "data.validation", self.validation,
                "validation is a fraction in (0, 1) of the training images, 'test' (the "
                "test set) or 'test_half' (a seeded half of it; the other half is the test)")
        require(self.subset is None or (is_int(self.subset) and self.subset >= 2),
                "data.subset", self.subset, "subset is a whole number of images >= 2, or None")

    def _check_source(self) -> None:
        if callable(self.source):  # a function of the sweep file: recorded when it is loaded
            return
        require(self.source is None or isinstance(self.source, str), "data.source",
                self.source, "source is a path (text), a Keras name, a function returning the "
                "arrays, or None")
        require(self.source is None or (self.source.strip() != "" and "\0" not in self.source),
                "data.source", self.source, "source is a non-empty path without NUL "
                "characters, or None (--data, $CIFAR_SEARCH_DATA, else a download)")

    def _check_classes(self) -> None:
        if self.classes is None:
            return
        names = self.classes
        require(isinstance(names, (list, tuple)) and len(names) >= 2
                and all(isinstance(n, str) and n and "," not in n for n in names),
                "data.classes", names, "classes is a list of 2 or more class names (the "
                "data's folder names, e.g. 'cat'), or None for all")
        require(len(set(names)) == len(names), "data.classes", names,
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
        require(isinstance(self.flip, bool), "augmentation.flip", self.flip,
                "flip is True or False")
        for name, high, closed in (("shift", 1.0, False), ("rotation", MAX_ROTATION, True),
                                   ("zoom", 1.0, False)):
            value = getattr(self, name)
            ok = is_real(value) and 0 <= value and (value <= high if closed else value < high)
            bound = "inclusive" if closed else "excluded"
            require(ok, f"augmentation.{name}", value,
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
        require(self.monitor in STOP_METRICS, "budget.early_stopping.monitor", self.monitor,
                "early stopping monitors one of " + ", ".join(STOP_METRICS))
        require(is_int(self.patience) and 1 <= self.patience <= MAX_EPOCHS,
                "budget.early_stopping.patience", self.patience,
                f"patience is a whole number of epochs >= 1, at most {MAX_EPOCHS}")
        if self.keep_best == "":
            object.__setattr__(self, "keep_best", self.monitor)
        require(self.keep_best is None or self.keep_best in STOP_METRICS,
                "budget.early_stopping.keep_best", self.keep_best,
                "keep_best is one of " + ", ".join(STOP_METRICS) + ", or None (the last "
                "epoch's weights)")

    def params(self) -> dict[str, Any]:
        """The early stopping as trial parameters."""
        return {"stop_monitor": self.monitor, "stop_patience": self.patience,
                "keep_best": self.keep_best or ""}


def _seconds(budget: Budget, given: str | float | None) -> float | None:
    """The time budget in seconds (a value that is not a duration is kept as given, for
    ``__post_init__`` to refuse with its message)."""
    if given is None:
        return None
    return seconds(given) or cast(float, given)


@dataclass(frozen=True)
class Budget:
    """What a sweep may spend: epochs per trial, and in all time, failures and trials that
    bring nothing.

    Attributes:
        epochs: epochs per trial (the pruner's maximum resource).
        batch_size: images per step, unless the space sweeps ``batch_size``.
        patience: stop a trial after this many epochs without improving the objective
            (Keras EarlyStopping, best weights restored); None trains every epoch.
        early_stopping: early stopping on any metric (see :class:`EarlyStopping`), with its
            state kept in the checkpoint; None for none (or ``patience``).
        time: wall time of the sweep, a duration (``"2h"``, ``"90m"``) kept in seconds: no
            trial starts after the deadline, which is the study's (recorded once, read by
            every machine; a run after it starts a new window); None for no limit.
        stop_at_deadline: trials in flight at the deadline stop at their next epoch's end
            (interrupted, resumed from their checkpoint) instead of finishing.
        max_failures: end the sweep when this many trials failed in all (None: no limit).
            Failed trials never count toward ``trials``.
        max_failures_in_a_row: end the sweep when the last this many trials to end all
            failed (as KerasTuner's ``max_consecutive_failed_trials``); None: no limit.
        stop_after: end the sweep when the last this many complete trials did not improve
            the best objective by more than ``min_delta`` (None: never).
        min_delta: the improvement that counts for ``stop_after``, in the objective's units.
    """

    epochs: int = 10
    batch_size: int = 32
    patience: int | None = None
    early_stopping: EarlyStopping | None = None
    time: Normalised[str | float | None, float | None] = Normalised(None, _seconds)
    stop_at_deadline: bool = False
    max_failures: int | None = None
    max_failures_in_a_row: int | None = 3
    stop_after: int | None = None
    min_delta: float = 0.0

    #: The fields that shape each trial (a resumed study keeps them); the others are limits
    #: of the sweep as a whole, which a run may change.
    PER_TRIAL: ClassVar[tuple[str, ...]] = ("epochs", "batch_size", "patience")

    def __post_init__(self) -> None:
        require(self.early_stopping is None or isinstance(self.early_stopping, EarlyStopping),
                "budget.early_stopping", self.early_stopping,
                "early_stopping is an EarlyStopping(monitor, patience, keep_best) or None")
        require(self.early_stopping is None or self.patience is None, "budget.patience",
                self.patience, "give patience or early_stopping, not both (patience=N is "
                "early stopping on the objective with its best weights kept)")
        require(is_int(self.epochs) and 1 <= self.epochs <= MAX_EPOCHS, "budget.epochs",
                self.epochs, f"epochs is a whole number >= 1, at most {MAX_EPOCHS}")
        require(is_int(self.batch_size) and 1 <= self.batch_size <= MAX_BATCH_SIZE,
                "budget.batch_size", self.batch_size,
                f"batch_size is a whole number >= 1, at most {MAX_BATCH_SIZE}")
        require(self.patience is None or (is_int(self.patience)
                                          and 1 <= self.patience <= MAX_EPOCHS),
                "budget.patience", self.patience,
                f"patience is a whole number >= 1, at most {MAX_EPOCHS}, or None")
        self._check_limits()

    def _check_limits(self) -> None:
        """The sweep-wide limits: a duration, counts, a finite non-negative delta."""
        require(self.time is None or isinstance(self.time, float), "budget.time", self.time,
                f"time is {DURATION_HELP}, or None")
        require(isinstance(self.stop_at_deadline, bool), "budget.stop_at_deadline",
                self.stop_at_deadline, "stop_at_deadline is True or False")
        require(not self.stop_at_deadline or self.time is not None, "budget.stop_at_deadline",
                self.stop_at_deadline, "stop_at_deadline acts at the time budget's deadline: "
                "give time too")
        for key in ("max_failures", "max_failures_in_a_row", "stop_after"):
            value = getattr(self, key)
            require(value is None or (is_int(value) and 1 <= value <= MAX_TRIALS),
                    f"budget.{key}", value,
                    f"{key} is a whole number >= 1, at most {MAX_TRIALS}, or None")
        require(is_real(self.min_delta) and 0 <= self.min_delta <= MAX_MIN_DELTA,
                "budget.min_delta", self.min_delta,
                f"min_delta is a number >= 0, at most {MAX_MIN_DELTA:g}")
        require(self.min_delta == 0 or self.stop_after is not None, "budget.min_delta",
                self.min_delta, "min_delta is the improvement stop_after looks for: give "
                "stop_after too")

    def limits_given(self) -> list[str]:
        """The sweep-wide limits set to other than their defaults.

        Example:
            >>> Budget(time="2h", max_failures_in_a_row=None).limits_given()
            ['time', 'max_failures_in_a_row']
        """
        defaults = Budget()
        return [f.name for f in dataclasses.fields(self) if f.name not in self.PER_TRIAL
                and f.name != "early_stopping" and getattr(self, f.name) != getattr(defaults,
                                                                                  f.name)]

    def per_trial(self) -> dict[str, Any]:
        """The fields that shape each trial, as plain data (a study's fingerprint)."""
        return {key: getattr(self, key) for key in self.PER_TRIAL}


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
        gpus_per_trial: GPUs each worker (each trial) gets to itself: a whole number >= 1
            (more than 1 with ``data_parallel``), or a fraction ``1/m`` (0.5, 0.25, ...) that
            packs ``m`` trials on each GPU, each capped at its share of the GPU's memory;
            None gives each worker one GPU in turn (several share one where there are more
            workers than GPUs). On a GPU machine ``workers="auto"`` means one worker per
            share. See :mod:`cifar_search.execution.placement`.
        gpus: the GPUs the run may use, by ``nvidia-smi``'s index (``--gpus 0,2``); None:
            every GPU this process may use.
        backend: Keras's backend, ``"tensorflow"`` or ``"jax"`` (``KERAS_BACKEND`` of the
            workers). A study keeps its backend: it is in the fingerprint when not the default.
            Data still reaches the model through ``tf.data`` (TensorFlow stays installed).
    """

    mixed_precision: bool = False
    xla: bool | None = None
    gpu_memory_mb: int | None = None
    steps_per_execution: int = 16
    data_parallel: bool = field(default=False, repr=False)  # compatibility C5
    widen_tail: bool = field(default=True, repr=False)
    # where a trial trains, not what it trains: kept out of the logged repr (compatibility C5)
    gpus_per_trial: float | None = field(default=None, repr=False)
    gpus: tuple[int, ...] | None = field(default=None, repr=False)
    backend: str = field(default=BACKENDS[0], repr=False)

    def __post_init__(self) -> None:
        require(self.backend in BACKENDS, "compute.backend", self.backend,
                f"backend is one of {', '.join(BACKENDS)}")
        require(self.backend == "tensorflow" or not self.data_parallel, "compute.backend",
                self.backend, "data_parallel trains with tf.distribute: backend 'tensorflow' "
                "only")
        if isinstance(self.gpus, list):  # as a sweep file or JSON gives it
            object.__setattr__(self, "gpus", tuple(self.gpus))
        require(self.gpus_per_trial is None or _gpu_share(self.gpus_per_trial),
                "compute.gpus_per_trial", self.gpus_per_trial,
                f"gpus_per_trial is a whole number from 1 to {MAX_GPUS_PER_TRIAL}, a fraction "
                f"1/m (0.5, 0.25, ... down to 1/{MAX_TRIALS_PER_GPU}), or None")
        require(self.gpus_per_trial is None or self.gpus_per_trial <= 1 or self.data_parallel,
                "compute.gpus_per_trial", self.gpus_per_trial,
                "a trial trains on more than one GPU only with data_parallel=True")
        require(self.gpus is None or (isinstance(self.gpus, tuple) and len(self.gpus) > 0
                                      and all(is_int(i) and 0 <= i <= MAX_GPU_INDEX
                                              for i in self.gpus)
                                      and len(set(self.gpus)) == len(self.gpus)),
                "compute.gpus", self.gpus,
                "gpus lists GPU indices as nvidia-smi numbers them, each once (e.g. [0, 2]), "
                "or is None (every GPU)")
        require(isinstance(self.data_parallel, bool), "compute.data_parallel",
                self.data_parallel, "data_parallel is True or False")
        require(isinstance(self.widen_tail, bool), "compute.widen_tail", self.widen_tail,
                "widen_tail is True or False")
        require(isinstance(self.mixed_precision, bool), "compute.mixed_precision",
                self.mixed_precision, "mixed_precision is True or False")
        require(self.xla is None or isinstance(self.xla, bool), "compute.xla", self.xla,
                "xla is True, False or None (Keras decides)")
        require(self.gpu_memory_mb is None or (is_int(self.gpu_memory_mb)
                                               and 64 <= self.gpu_memory_mb
                                               <= MAX_GPU_MEMORY_MB),
                "compute.gpu_memory_mb", self.gpu_memory_mb,
                f"gpu_memory_mb is a whole number of MiB >= 64, or None; at most "
                f"{MAX_GPU_MEMORY_MB} (1 TiB)")
        require(is_int(self.steps_per_execution)
                and 1 <= self.steps_per_execution <= MAX_STEPS_PER_EXECUTION,
                "compute.steps_per_execution", self.steps_per_execution,
                f"steps_per_execution is a whole number >= 1, at most "
                f"{MAX_STEPS_PER_EXECUTION}")

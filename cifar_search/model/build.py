"""The core model families: trial parameters → an uncompiled ``keras.Model``; then compile it.

The core families are the lesson's (intro, dropout) and this project's (vgg, bnnet, fastnet,
resnet). Any other model, the tutorials' included (``sweeps/tutorial_models``), is a sweep's
own function (:mod:`cifar_search.model.user`), compiled here as a family is.

Building and fitting are separate (as in KerasTuner): this module builds and compiles, and does
no I/O, logging or fitting. Every hidden layer uses the trial's activation, and the optimizer is
built from the trial's parameters, so both really vary across trials.

Layers compute in the process's Keras dtype policy (``float32``, or ``mixed_float16`` set by
:func:`set_precision`), except the logits, which are always float32 so that the loss is stable.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import Any

import keras
from keras import layers

from cifar_search.config.families import (
    FAMILIES,
    MOMENTUM_OPTIMIZERS,
    OPTIMIZERS,
    TRAINING_DEFAULTS,
    WARMUP_FRACTION,
)
from cifar_search.errors import TrialError
from cifar_search.execution.placement import MEMORY_VAR, device_label

#: Momentum of the batch-norm moving statistics. Keras' default (0.99) averages over ~100 steps,
#: which lags behind the weights in a short, high-learning-rate CPU budget and makes the
#: validation accuracy of early epochs erratic; 0.9 is PyTorch's default (its 0.1).
BN_MOMENTUM = 0.9

#: The Keras dtype policy of each precision setting.
POLICIES = {False: "float32", True: "mixed_float16"}


def set_precision(mixed: bool) -> None:
    """Set the process's Keras dtype policy: ``mixed_float16`` when ``mixed``, else ``float32``.

    The policy is global to the process, so each trial sets it before it builds a model.

    Example:
        >>> set_precision(False)
        >>> keras.mixed_precision.dtype_policy().name
        'float32'
    """
    keras.mixed_precision.set_dtype_policy(POLICIES[bool(mixed)])


#: Gradient functions registered before the first :func:`clear_session` (kept for good).
_KEPT_GRADIENTS: set[str] | None = None


def _gradient_registry() -> dict[str, Any] | None:
    """TensorFlow's global registry of gradient functions (None if its layout changed, or
    on another backend, which traces no TensorFlow graph and may run without TensorFlow)."""
    if keras.backend.backend() != "tensorflow":
        return None
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


def clear_session() -> None:
    """``keras.backend.clear_session()``, and drop what TensorFlow kept of earlier models.

    Tracing a train step registers a gradient function under a fresh name
    (``CustomGradient-N``: ``tf.custom_gradient`` in graph mode, used by the distribution
    strategy's ``all_reduce`` in the optimizer's update) in a process-wide registry that
    nothing ever empties. Each entry holds the whole traced graph, about 8 MiB per trained
    model, so a worker that trains trial after trial grew without bound. The names registered
    since the first call are removed here: only graphs of earlier, finished models use them.

    Example:
        >>> clear_session()
    """
    global _KEPT_GRADIENTS
    keras.backend.clear_session()
    registry = _gradient_registry()
    if registry is None:
        return
    if _KEPT_GRADIENTS is None:
        _KEPT_GRADIENTS = set(registry)
        return
    for name in [n for n in registry if n.startswith("CustomGradient-")]:
        if name not in _KEPT_GRADIENTS:
            del registry[name]


def resolve_params(family: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Family and training defaults overlaid with ``params``.

    Example:
        >>> resolve_params("dropout", {"dropout_rate": 0.3})["filters"]
        16
    """
    if family not in FAMILIES:
        raise TrialError(f"model family {family!r} is unknown; families are {', '.join(FAMILIES)}")
    spec = FAMILIES[family]
    unknown = sorted(set(params) - spec.params)
    if unknown:
        raise TrialError(f"model {family!r} does not use parameter {unknown[0]!r}")
    return {**TRAINING_DEFAULTS, **spec.defaults, **params}


def _block_filters(params: Mapping[str, Any]) -> list[int]:
    """Filters of each block: ``filters_i`` where given, else ``filters * 2**(i-1)``."""
    return [int(params.get(f"filters_{i}", params["filters"] * 2 ** (i - 1)))
            for i in range(1, int(params["depth"]) + 1)]


def _activation(name: str) -> Callable[[Any], Any]:
    """A layer applying the named activation."""
    return layers.Activation(name)


def _initializer(params: Mapping[str, Any]) -> str:
    return "lecun_normal" if params["activation"] == "selu" else "glorot_uniform"


def _conv(x: Any, filters: int, params: Mapping[str, Any], padding: str = "same",
          batch_norm: bool = False, strides: int = 1) -> Any:
    """Conv2D (+ BatchNormalization) + activation."""
    x = layers.Conv2D(filters, 3, strides=strides, padding=padding, use_bias=not batch_norm,
                      kernel_initializer=_initializer(params))(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    return _activation(params["activation"])(x)


def _dense(x: Any, units: int, params: Mapping[str, Any]) -> Any:
    x = layers.Dense(units, kernel_initializer=_initializer(params))(x)
    return _activation(params["activation"])(x)


#: What ``augmentation: true`` means: horizontal flips and shifts of up to a tenth.
AUGMENTATION_ON = {"flip": True, "shift": 0.1}


def augmentation(params: Mapping[str, Any]) -> dict[str, Any]:
    """The trial's augmentation: ``flip``, ``shift``, ``rotation`` (degrees) and ``zoom``,
    with ``augmentation: true`` standing for flips and shifts of 0.1 where those are unset.

    Example:
        >>> augmentation({"augmentation": True, "rotation": 15})
        {'flip': True, 'shift': 0.1, 'rotation': 15, 'zoom': 0.0}
    """
    p = {**TRAINING_DEFAULTS, **(AUGMENTATION_ON if params.get("augmentation") else {}),
         **params}
    return {name: p[name] for name in ("flip", "shift", "rotation", "zoom")}


def augmented_inputs(input_shape: tuple[int, int, int],
                     augment: Mapping[str, Any]) -> tuple[Any, Any]:
    """The Input, and the augmentation layers after it (active in training only; their seed
    states are kept in the trial's checkpoint, so a resumed trial draws what it would have).

    Shifts, rotations and zooms fill with the nearest pixel, as Keras 2's
    ``ImageDataGenerator`` (the tutorials') did.
    """
    inputs = keras.Input(shape=input_shape)
    x = inputs
    if augment["flip"]:
        x = layers.RandomFlip("horizontal")(x)
    if augment["rotation"]:
        x = layers.RandomRotation(float(augment["rotation"]) / 360.0, fill_mode="nearest")(x)
    if augment["shift"]:
        x = layers.RandomTranslation(float(augment["shift"]), float(augment["shift"]),
                                     fill_mode="nearest")(x)
    if augment["zoom"]:
        x = layers.RandomZoom(float(augment["zoom"]), fill_mode="nearest")(x)
    return inputs, x


def _check_depth(params: Mapping[str, Any], input_shape: tuple[int, int, int],
                 max_depth: int) -> None:
    size, depth, limit = min(input_shape[:2]), int(params["depth"]), 0
    while size // 2 ** (limit + 1) >= 1 and limit < max_depth:
        limit += 1
    if depth > limit:
        raise TrialError(f"depth={depth} is too deep for {input_shape[0]}x{input_shape[1]} "
                         f"images; at most {limit}")


def _intro(x: Any, p: Mapping[str, Any]) -> Any:
    x = _conv(x, p["filters"], p, padding="valid")
    x = layers.MaxPooling2D(2)(x)
    x = _conv(x, p["filters"], p, padding="valid")
    x = layers.MaxPooling2D(2)(x)
    x = _conv(x, p["filters"], p, padding="valid")
    x = layers.Flatten()(x)
    return _dense(x, p["units"], p)


def _dropout(x: Any, p: Mapping[str, Any]) -> Any:
    x = _conv(x, p["filters"], p, padding="valid")
    x = layers.MaxPooling2D(2)(x)
    x = _conv(x, 2 * p["filters"], p, padding="valid")
    x = layers.MaxPooling2D(2)(x)
    x = _conv(x, 4 * p["filters"], p, padding="valid")
    x = layers.Dropout(p["dropout_rate"])(x)
    return layers.Flatten()(x)


def _vgg(x: Any, p: Mapping[str, Any]) -> Any:
    for filters in _block_filters(p):
        x = _conv(x, filters, p, batch_norm=p["batch_norm"])
        x = _conv(x, filters, p, batch_norm=p["batch_norm"])
        x = layers.MaxPooling2D(2)(x)
        x = layers.Dropout(p["dropout_rate"])(x)
    x = layers.Flatten()(x)
    x = _dense(x, p["units"], p)
    return layers.Dropout(p["dropout_rate"])(x)


def _bnnet(x: Any, p: Mapping[str, Any]) -> Any:
    for filters in _block_filters(p):
        x = _conv(x, filters, p, batch_norm=True)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = _dense(x, p["units"], p)
    return layers.Dropout(p["dropout_rate"])(x)


def _fastnet(x: Any, p: Mapping[str, Any]) -> Any:
    """Each block: a convolution, max pooling, batch norm and the activation, then a second
    convolution at the pooled size (airbench's layout; the second costs a quarter of the
    first), and global max pooling at the end."""
    for filters in _block_filters(p):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = _activation(p["activation"])(x)
        x = _conv(x, filters, p, batch_norm=True)
    return layers.GlobalMaxPooling2D()(x)


def _residual(x: Any, filters: int, strides: int, p: Mapping[str, Any]) -> Any:
    """A basic residual block: conv-BN-act-conv-BN + shortcut, then activation."""
    shortcut = x
    y = _conv(x, filters, p, batch_norm=p["batch_norm"], strides=strides)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=not p["batch_norm"],
                      kernel_initializer=_initializer(p))(y)
    if p["batch_norm"]:
        y = layers.BatchNormalization(momentum=BN_MOMENTUM)(y)
    if strides != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False)(shortcut)
    return _activation(p["activation"])(layers.Add()([y, shortcut]))


def _resnet(x: Any, p: Mapping[str, Any]) -> Any:
    x = _conv(x, p["filters"], p, batch_norm=p["batch_norm"])
    for stage, filters in enumerate(_block_filters(p)):
        x = _residual(x, filters, 1 if stage == 0 else 2, p)
        x = _residual(x, filters, 1, p)
    x = layers.GlobalAveragePooling2D()(x)
    if p["dropout_rate"] > 0:
        x = layers.Dropout(p["dropout_rate"])(x)
    return x


BUILDERS: dict[str, Callable[[Any, Mapping[str, Any]], Any]] = {
    "intro": _intro, "dropout": _dropout, "vgg": _vgg, "bnnet": _bnnet, "fastnet": _fastnet,
    "resnet": _resnet,
}


def build_model(family: str, params: Mapping[str, Any], input_shape: tuple[int, int, int],
                num_classes: int) -> keras.Model:
    """An uncompiled model that outputs float32 logits (under either dtype policy).

    Example:
        >>> model = build_model("dropout", {"dropout_rate": 0.3}, (32, 32, 3), 10)
        >>> model.output_shape
        (None, 10)
    """
    p = resolve_params(family, params)
    max_depth = FAMILIES[family].max_depth
    if max_depth is not None:
        _check_depth(p, input_shape, max_depth)
    inputs, x = augmented_inputs(input_shape, augmentation(params))
    if p["tta"]:
        body_inputs = keras.Input(shape=input_shape)
        body = keras.Model(body_inputs, _logits(BUILDERS[family](body_inputs, p), num_classes),
                           name=f"{family}_body")
        return keras.Model(inputs, FlipAverage(body, name="tta")(x), name=family)
    return keras.Model(inputs, _logits(BUILDERS[family](x, p), num_classes), name=family)


def _logits(x: Any, num_classes: int) -> Any:
    return layers.Dense(num_classes, dtype="float32", name="logits")(x)


@keras.saving.register_keras_serializable(package="cifar_search")
class FlipAverage(layers.Layer):
    """Horizontal-flip test-time augmentation: in training, the wrapped network's logits; in
    evaluation and prediction, the mean of its logits for the image and for its mirror image.

    Example:
        >>> import numpy as np
        >>> body = keras.Sequential([keras.Input((1, 2, 1)), layers.Flatten(),
        ...                          layers.Dense(1, use_bias=False, kernel_initializer="ones")])
        >>> tta = FlipAverage(keras.Sequential([keras.Input((1, 2, 1)), layers.Flatten(),
        ...     layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(
        ...         [[1.0], [0.0]]))]))
        >>> x = np.array([[[[1.0], [3.0]]]])
        >>> float(tta(x, training=True)[0, 0]), float(tta(x, training=False)[0, 0])
        (1.0, 2.0)
    """

    def __init__(self, body: keras.Model, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.body = body

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if training:
            return self.body(inputs, training=True)
        mirrored = keras.ops.flip(inputs, axis=2)
        return 0.5 * (self.body(inputs, training=False) + self.body(mirrored, training=False))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.body.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "body": keras.saving.serialize_keras_object(self.body)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FlipAverage:
        body = keras.saving.deserialize_keras_object(config.pop("body"))
        return cls(body, **config)


def make_optimizer(params: Mapping[str, Any],
                   total_steps: int | None = None) -> keras.optimizers.Optimizer:
    """The optimizer named by ``params`` with its learning rate (and schedule), momentum and
    weight decay.

    Args:
        params: the trial's parameters.
        total_steps: training steps of the whole budget; needed by ``lr_schedule: cosine``.

    Example:
        >>> type(make_optimizer({"optimizer": "rmsprop", "learning_rate": 1e-3})).__name__
        'RMSprop'
    """
    p = {**TRAINING_DEFAULTS, **params}
    name = p["optimizer"]
    if name not in OPTIMIZERS:
        raise TrialError(f"optimizer {name!r} is unknown; optimizers are {', '.join(OPTIMIZERS)}")
    optimizer_class = getattr(keras.optimizers, OPTIMIZERS[name])
    kwargs: dict[str, Any] = {}
    if name in MOMENTUM_OPTIMIZERS:
        kwargs["momentum"] = float(p["momentum"])
    if p["weight_decay"] is not None:
        kwargs["weight_decay"] = float(p["weight_decay"])
    if p["learning_rate"] is not None:
        kwargs["learning_rate"] = float(p["learning_rate"])
    if p["lr_schedule"] == "cosine":
        peak = kwargs.get("learning_rate") or _default_learning_rate(optimizer_class)
        kwargs["learning_rate"] = cosine_schedule(peak, total_steps)
    elif p["lr_schedule"] != "constant":
        raise TrialError(f"lr_schedule {p['lr_schedule']!r} is unknown; schedules are "
                         "constant, cosine")
    return optimizer_class(**kwargs)


def _default_learning_rate(optimizer_class: type) -> float:
    return float(keras.ops.convert_to_numpy(optimizer_class().learning_rate))


def cosine_schedule(peak: float,
                    total_steps: int | None) -> keras.optimizers.schedules.CosineDecay:
    """Linear warm-up from 0 to ``peak`` over the first ``WARMUP_FRACTION`` of the steps, then
    cosine decay to 0 at ``total_steps``.

    Example:
        >>> schedule = cosine_schedule(0.1, 100)
        >>> [round(float(schedule(step)), 3) for step in (0, 15, 100)]
        [0.0, 0.1, 0.0]
    """
    if not total_steps or total_steps < 2:
        raise TrialError(f"lr_schedule 'cosine' needs the number of training steps (>= 2), "
                         f"got {total_steps!r}")
    warmup = max(1, round(WARMUP_FRACTION * total_steps))
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=max(1, total_steps - warmup), warmup_target=peak, warmup_steps=warmup)


@keras.saving.register_keras_serializable(package="cifar_search")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of logits against integer labels smoothed towards the uniform
    distribution (Keras smooths only one-hot labels). Saved and loaded with the model.

    Example:
        >>> import numpy as np
        >>> loss = SmoothedSparseCrossentropy(0.1)
        >>> round(float(loss(np.array([0]), np.array([[10.0, 0.0]]))), 2)
        0.5
    """

    def __init__(self, label_smoothing: float = 0.0, name: str = "smoothed_sparse_crossentropy",
                 from_logits: bool = True, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        classes = keras.ops.shape(y_pred)[-1]
        labels = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32"),
                                   classes)
        return keras.losses.categorical_crossentropy(
            labels, y_pred, from_logits=self.from_logits, label_smoothing=self.label_smoothing)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "label_smoothing": self.label_smoothing}
        if not self.from_logits:  # absent for logits: as saved before it was a setting
            config["from_logits"] = False
        return config


def make_loss(params: Mapping[str, Any], from_logits: bool = True) -> keras.losses.Loss:
    """Sparse cross-entropy on logits (or on probabilities), with label smoothing when the
    trial asks for it."""
    smoothing = float({**TRAINING_DEFAULTS, **params}["label_smoothing"])
    if smoothing:
        return SmoothedSparseCrossentropy(smoothing, from_logits=from_logits)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)


def compile_model(model: keras.Model, params: Mapping[str, Any], xla: bool | None = None,
                  steps_per_execution: int = 1, total_steps: int | None = None,
                  from_logits: bool = True) -> None:
    """Compile with the trial's optimizer, its loss (cross-entropy on logits, or on
    probabilities when not ``from_logits``), and accuracy.

    Under ``mixed_float16`` Keras wraps the optimizer in a ``LossScaleOptimizer``.

    Args:
        xla: compile the train step with XLA (``jit_compile``); None lets Keras decide (on
            with a GPU, off on CPU-only machines, off for layers XLA cannot compile).
        steps_per_execution: training batches run per call into TensorFlow.
        total_steps: training steps of the whole budget (for a learning-rate schedule).
        from_logits: whether the model's outputs are logits (a softmax output: False).
    """
    model.compile(optimizer=make_optimizer(params, total_steps),
                  loss=make_loss(params, from_logits),
                  metrics=["accuracy"], jit_compile="auto" if xla is None else xla,
                  steps_per_execution=steps_per_execution)


def training_device() -> str:
    """The device Keras trains on: ``GPU:<index> (<name>)`` for the GPUs this worker sees,
    with ``nvidia-smi``'s index (:func:`cifar_search.execution.placement.device_label`), else
    ``CPU``.

    Example:
        >>> training_device()  # doctest: +SKIP
        'GPU:2 (NVIDIA H100 80GB HBM3)'
    """
    if keras.backend.backend() == "jax":  # its own devices: TensorFlow may be absent
        import jax

        names = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
        return device_label(names, os.environ.get("CUDA_VISIBLE_DEVICES"))
    import tensorflow as tf

    names = [tf.config.experimental.get_device_details(gpu).get("device_name", "unknown")
             for gpu in tf.config.list_physical_devices("GPU")]
    return device_label(names, os.environ.get("CUDA_VISIBLE_DEVICES"))


#: Our name of each Keras schedule class a trial may train with.
SCHEDULE_NAMES = {"CosineDecay": "cosine"}


def _peak_rate(schedule: Mapping[str, Any]) -> float:
    """The highest learning rate of a serialised warm-up/decay schedule."""
    config = schedule.get("config", {})
    return float(config.get("warmup_target") or config.get("initial_learning_rate") or 0.0)


def _layers(model: keras.Model) -> list[layers.Layer]:
    """The model's layers, with the network inside a test-time augmentation in its place
    (less its own input layer)."""
    found: list[layers.Layer] = []
    for layer in model.layers:
        found.extend(_layers(layer.body)[1:] if isinstance(layer, FlipAverage) else [layer])
    return found


def _schedule_name(rate: Mapping[str, Any]) -> str | None:
    """The short name of a learning-rate schedule's config (None: it names no class)."""
    name = rate.get("class_name")
    return None if name is None else SCHEDULE_NAMES.get(name, name)


def describe(model: keras.Model) -> dict[str, Any]:
    """What really trains, read back from the compiled model: the optimizer (inside the loss
    scaling of mixed precision), activations, dtype policy, XLA and device."""
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    rate = optimizer.get_config()["learning_rate"]
    config: dict[str, Any] = {
        "optimizer": type(optimizer).__name__,
        "learning_rate": _peak_rate(rate) if isinstance(rate, dict) else float(rate),
        "lr_schedule": _schedule_name(rate) if isinstance(rate, dict) else "constant",
        "label_smoothing": float(getattr(model.loss, "label_smoothing", 0.0)),
        "activations": sorted({layer.activation.__name__ for layer in _layers(model)
                               if isinstance(layer, layers.Activation)}),
        "params": int(model.count_params()),
        "layers": len(_layers(model)),
        "dtype_policy": model.dtype_policy.name,
        "logits_dtype": str(model.outputs[0].dtype),
        "jit_compile": bool(model.jit_compile),
        "steps_per_execution": int(model.steps_per_execution),
        "device": training_device(),
        "backend": keras.backend.backend(),
    }
    if "CUDA_VISIBLE_DEVICES" in os.environ:  # the GPUs it was given, used or not
        config["gpus"] = os.environ["CUDA_VISIBLE_DEVICES"]
    if MEMORY_VAR in os.environ:  # this worker's share of its GPU's memory
        config["gpu_memory_mb"] = int(os.environ[MEMORY_VAR])
    for key in ("momentum", "weight_decay"):
        value = getattr(optimizer, key, None)
        if value is not None:
            config[key] = float(value)
    return config


def trainable_params(model: keras.Model) -> int:
    """The model's trainable parameters (the ``params`` measure; frozen weights and batch
    normalisation's moving statistics are not counted)."""
    return int(sum(math.prod(weight.shape) for weight in model.trainable_weights))

"""The sweep's own model: its function called with a trial's parameters, put behind the
framework's augmentation and test-time augmentation, and compiled as a family's is; and the
check of that function before the first trial.

The function (:class:`cifar_search.config.user_model.Model`) is imported from its sweep file
or module by reference, once per process. It returns an uncompiled ``keras.Model`` whose last
layer gives probabilities (a softmax) or logits: :func:`gives_probabilities` tells which, and
the loss is compiled to match. Runs where TensorFlow is imported (a worker, or the main
process of a sweep whose file imports Keras).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import keras
import numpy as np
from keras import layers

from cifar_search.config.families import COMPILE_PARAMS
from cifar_search.config.user_model import Model
from cifar_search.errors import ConfigError, TrialError, clipped, shown
from cifar_search.model import build

__all__ = ["architecture_digest", "build_compiled", "call_build", "check", "check_reloads",
           "gives_probabilities", "prepare"]

#: Images of the batch that tells probabilities from logits when the output layer does not say.
PROBE_IMAGES = 4


def prepare(model: Model) -> None:
    """Import the model's sweep file or module (its custom layers registered), as a worker
    must before it loads a saved model of it."""
    model.build.resolve()


def call_build(model: Model, params: Mapping[str, Any], input_shape: Sequence[int],
          num_classes: int) -> keras.Model:
    """The model the function builds for ``params``."""
    built = model.build.resolve()(MappingProxyType(dict(params)),
                                  tuple(int(n) for n in input_shape), int(num_classes))
    if not isinstance(built, keras.Model):
        raise TrialError(f"model function {model.name} returned {shown(built, 60)}, not a "
                         "keras.Model")
    return built


def gives_probabilities(model: keras.Model) -> bool:
    """Whether ``model`` outputs probabilities (a softmax last) rather than logits: told by its
    output layer, else by its outputs on a few random images (each row sums to 1)."""
    last = model.layers[-1] if model.layers else None
    if isinstance(last, layers.Softmax):
        return True
    activation = getattr(last, "activation", None)
    if getattr(activation, "__name__", "") == "softmax":
        return True
    if isinstance(last, (layers.Dense, layers.Conv2D, layers.Activation)):
        return False  # a named activation other than softmax
    shape = (PROBE_IMAGES, *model.input_shape[1:])
    probe = np.random.default_rng(0).uniform(0.0, 1.0, shape).astype("float32")
    outputs = keras.ops.convert_to_numpy(model(probe, training=False)).astype("float64")
    return bool(np.all(outputs >= 0) and np.allclose(outputs.sum(axis=-1), 1.0, atol=1e-3))


def _wrapped(built: keras.Model, params: Mapping[str, Any],
             input_shape: Sequence[int]) -> keras.Model:
    """``built`` behind the trial's augmentation layers and test-time augmentation, with
    float32 outputs (under mixed precision); ``built`` itself when it needs none of them."""
    augment = build.augmentation(params)
    tta = bool(params.get("tta"))
    cast = str(built.outputs[0].dtype) != "float32"
    if not (any(augment.values()) or tta or cast):
        return built
    height, width, channels = (int(n) for n in input_shape)
    inputs, x = build.augmented_inputs((height, width, channels), augment)
    outputs = build.FlipAverage(built, name="tta")(x) if tta else built(x)
    if cast:
        outputs = layers.Activation("linear", dtype="float32", name="float32_outputs")(outputs)
    wrapped = keras.Model(inputs, outputs, name=built.name)
    if built.compiled:
        wrapped.compile_from_config(built.get_compile_config())
    return wrapped


def build_compiled(model: Model, params: Mapping[str, Any], input_shape: Sequence[int],
                   num_classes: int, xla: bool | None = None, steps_per_execution: int = 1,
                   total_steps: int | None = None) -> keras.Model:
    """The trial's model, compiled: by the model's ``compile`` function when it has one, as
    returned when it came back compiled (the space sweeps none of the compile's keys, see
    :func:`check`), else as a built-in family is (the loss on probabilities or logits)."""
    built = call_build(model, params, input_shape, num_classes)
    probabilities = gives_probabilities(built)
    wrapped = _wrapped(built, params, input_shape)
    if model.compile is not None:
        model.compile.resolve()(wrapped, MappingProxyType(dict(params)))
        if not wrapped.compiled:
            raise TrialError(f"compile function {model.compile} did not call model.compile()")
    elif not built.compiled:
        build.compile_model(wrapped, params, xla, steps_per_execution, total_steps,
                            from_logits=not probabilities)
    return wrapped


def architecture_digest(built: keras.Model) -> str:
    """A digest of what a model is (its layers, their settings and shapes, not its weights)."""
    config = json.dumps(json.loads(built.to_json()), sort_keys=True)
    return "sha256:" + hashlib.sha256(config.encode()).hexdigest()


def check(model: Model, points: Sequence[Mapping[str, Any]], swept: Sequence[str],
          input_shape: Sequence[int], num_classes: int, source: str | None) -> str:
    """Build the model once on each point (the first, then one per branch of a conditional
    space), before any study exists; the digest of what it builds for the first.

    Raises:
        ConfigError: ``model``: the function raised (its traceback chained, for ``--debug``),
            did not return a keras.Model, or returned a compiled model while the space sweeps
            keys of the framework's compile (which that model would ignore).
    """
    digest = ""
    for point in points:
        _reset_names()
        call = (f"{model.name}(params={shown(dict(point), 120)}, {tuple(input_shape)}, "
                f"{num_classes})")
        try:
            built = call_build(model, point, input_shape, num_classes)
        except TrialError as error:
            raise ConfigError("model", str(error), source) from None
        except Exception as error:
            raise ConfigError("model", f"{call} raised {type(error).__name__}: "
                              f"{clipped(str(error), 160)}", source) from error
        ignored = [name for name in swept if name in COMPILE_PARAMS]
        if built.compiled and model.compile is None and ignored:
            raise ConfigError("model", f"{model.name} returns a compiled model, which would "
                              f"train with its own compile and ignore the swept "
                              f"{', '.join(ignored)}; return it uncompiled (the framework "
                              "compiles it with each trial's settings), or compile it in "
                              "Model(build, compile=...) and sweep none of them", source)
        digest = digest or architecture_digest(built)
    _reset_names()
    return digest


def _reset_names() -> None:
    """Keras's global state (the counters behind layer names, which the architecture's digest
    includes) reset, without the garbage collection of a full clear: in the main process, with
    the stores' libraries loaded, that collection took most of the check's time."""
    keras.backend.clear_session(free_memory=False)


def check_reloads(model: Model, path: Any) -> None:
    """Load the model file at ``path`` back (a trial's first checkpoint).

    Raises:
        TrialError: it cannot be loaded: a custom layer is not registered or has no
            ``get_config``, saying what to do.
    """
    try:
        keras.models.load_model(path)
    except Exception as error:  # noqa: BLE001 (any failure to load is the same advice)
        raise TrialError(
            f"model {model.name}: its checkpoint cannot be loaded back ({type(error).__name__}: "
            f"{clipped(str(error), 160)}); decorate each custom layer with "
            "@keras.saving.register_keras_serializable() and give it a get_config() that "
            "returns its constructor's arguments") from None

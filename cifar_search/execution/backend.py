"""The Keras backend a worker trains on, and whether it needs TensorFlow.

On TensorFlow, and on JAX where TensorFlow is installed, a trial's arrays reach the model
through ``tf.data`` (:mod:`cifar_search.model.pipeline`); on JAX without TensorFlow they go
through a Keras ``PyDataset`` (:mod:`cifar_search.model.feed`), and a worker imports no
TensorFlow at all: not in the fork server, not for its threads, GPUs or device name. The
choice is :func:`input_path`, pure; the rest reads this process's environment.
"""

from __future__ import annotations

import enum
import importlib.util
import os

__all__ = ["InputPath", "backend", "input_path", "tensorflow_installed", "uses_tensorflow"]


class InputPath(enum.StrEnum):
    """How a trial's in-memory arrays reach the model."""

    TF_DATA = "tf.data"  # a tf.data pipeline (TensorFlow installed)
    ARRAYS = "arrays"    # a keras.utils.PyDataset over NumPy arrays (JAX, no TensorFlow)


def input_path(backend: str, tensorflow: bool) -> InputPath:
    """The input path of a worker on Keras's ``backend`` where TensorFlow is (or is not)
    installed: ``tf.data`` wherever TensorFlow is (the TensorFlow backend needs it anyway),
    NumPy arrays through a ``PyDataset`` on JAX without it.

    Example:
        >>> input_path("jax", tensorflow=False).value
        'arrays'
        >>> input_path("jax", tensorflow=True).value
        'tf.data'
    """
    if backend != "tensorflow" and not tensorflow:
        return InputPath.ARRAYS
    return InputPath.TF_DATA


def backend() -> str:
    """The Keras backend of this process: ``KERAS_BACKEND``, ``tensorflow`` when unset."""
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def tensorflow_installed() -> bool:
    """Whether ``import tensorflow`` can work here, found without importing it (a finder or a
    ``sys.modules`` entry that blocks it reads as not installed)."""
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):  # ValueError: sys.modules["tensorflow"] is None
        return False


def uses_tensorflow() -> bool:
    """Whether a worker of this process's backend imports TensorFlow (:func:`input_path`)."""
    return input_path(backend(), tensorflow_installed()) is InputPath.TF_DATA

"""How a trial's arrays reach the model: ``tf.data`` where TensorFlow is installed
(:mod:`cifar_search.model.pipeline`), else (Keras's JAX backend without TensorFlow) a
``keras.utils.PyDataset`` over the NumPy arrays. Runs inside a worker process.

The choice is :func:`cifar_search.execution.backend.input_path`. The ``PyDataset`` keeps the
pipeline's semantics as far as they go: every image once per epoch, batches in a new order
each epoch that depends only on the trial's seed and the epoch number (so a trial resumed at
epoch ``e`` sees the batches it would have seen uninterrupted), the validation order kept,
uint8 images scaled to float32 in [0, 1] batch by batch (the same values). The orders differ
from ``tf.data``'s (NumPy's generator, not TensorFlow's stateless shuffle), and batches are
read on the training thread, without prefetch. Augmentation is in the model, not here.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from cifar_search.execution.backend import InputPath, backend, input_path, tensorflow_installed

__all__ = ["ArrayBatches", "batches", "callbacks"]


class ArrayBatches(keras.utils.PyDataset):
    """``(images, labels)`` batches of in-memory arrays, reshuffled per epoch by seed.

    Its epoch is set by :class:`EpochOrder` as each epoch begins (Keras reads a batch before
    the first epoch to build the model, and its own epoch hooks are called more than once per
    epoch, so neither can count epochs).

    Example:
        >>> ds = ArrayBatches(np.zeros((5, 2, 2, 3), "float32"), np.arange(5), 2, seed=0)
        >>> [len(ds[i][0]) for i in range(len(ds))]
        [2, 2, 1]
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, *,
                 seed: int | None = None, first_epoch: int = 0) -> None:
        super().__init__()
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} images but y has {len(y)} labels")
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
        self.epoch = first_epoch
        self._order: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def order(self) -> np.ndarray:
        """The indices of the current epoch, in its order (kept: the validation order)."""
        if self.seed is None:
            return np.arange(len(self.x))
        if self._order is None or self._order[0] != self.epoch:
            rng = np.random.default_rng([self.seed, self.epoch])
            self._order = (self.epoch, rng.permutation(len(self.x)))
        return self._order[1]

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        indices = self.order()[index * self.batch_size:(index + 1) * self.batch_size]
        images = self.x[indices]
        if images.dtype == np.uint8:  # the same float32 values as the tf.data pipeline's
            images = np.divide(images, 255, dtype=np.float32)
        return images, self.y[indices]


class EpochOrder(keras.callbacks.Callback):
    """Tells an :class:`ArrayBatches` which epoch begins (``fit``'s own count, from its
    ``initial_epoch``), before any batch of it is read."""

    def __init__(self, dataset: ArrayBatches) -> None:
        super().__init__()
        self.dataset = dataset

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.dataset.epoch = epoch


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, *, seed: int | None = None,
            first_epoch: int = 0) -> Any:
    """The batches of ``x, y`` for ``fit`` on this worker's input path: a ``tf.data``
    dataset (:func:`cifar_search.model.pipeline.batches`) or an :class:`ArrayBatches`; with
    ``seed`` None the order is kept (validation). Pass :func:`callbacks` of it to ``fit``."""
    if input_path(backend(), tensorflow_installed()) is InputPath.TF_DATA:
        from cifar_search.model import pipeline

        return pipeline.batches(x, y, batch_size, seed=seed, first_epoch=first_epoch)
    return ArrayBatches(x, y, batch_size, seed=seed, first_epoch=first_epoch)


def callbacks(dataset: Any) -> list[keras.callbacks.Callback]:
    """What ``fit`` needs beside the training ``dataset``: its epoch order for an
    :class:`ArrayBatches`, nothing for ``tf.data`` (which counts its own epochs)."""
    return [EpochOrder(dataset)] if isinstance(dataset, ArrayBatches) else []

"""The input pipeline of a trial: batches of in-memory arrays through ``tf.data``, with its
threads kept within the worker's share of the cores. Runs inside a worker process.

Given NumPy arrays, Keras builds its own ``tf.data`` pipeline whose parallel gather and prefetch
run on a thread pool sized by the machine's cores, whatever the worker's intra-op setting, so
two single-threaded workers on two cores run more busy threads than there are cores. Here the
pipeline gets a private pool of the worker's thread count: each epoch permutes the indices
(not the images) with a seed made of the trial's seed and the epoch number, each batch is one
gather, and one batch is prefetched while the previous one trains. The arrays are copied
into tensors once per worker, not once per trial (a worker's trials share their memoised
split). uint8 images are kept as uint8 and scaled to [0, 1] batch by batch, which spares the
worker a float32 copy of the data set (four times its size) and the time to make it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


#: Tensors of the arrays converted so far, by array identity (the array is kept alive with it).
_TENSORS: dict[int, tuple[np.ndarray, tf.Tensor]] = {}
_MAX_TENSORS = 4  # one split: train and validation images and labels


def _tensor(array: np.ndarray) -> tf.Tensor:
    """``array`` as a constant tensor, converted once while the same array is in use."""
    cached = _TENSORS.get(id(array))
    if cached is None or cached[0] is not array:
        if len(_TENSORS) >= _MAX_TENSORS:
            _TENSORS.clear()
        cached = _TENSORS[id(array)] = (array, tf.constant(array))
    return cached[1]


def worker_threads() -> int:
    """The worker's thread count: TensorFlow's intra-op setting, or the cores when unset."""
    import os

    return tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count() or 1


def _epoch_orders(size: int, seed: int, first_epoch: int) -> tf.data.Dataset:
    """Indices ``0 .. size - 1``, in a new order each time the dataset is iterated (once per
    epoch): the order of epoch ``e`` depends only on ``seed`` and ``e``, so a trial resumed at
    epoch ``e`` sees the batches it would have seen uninterrupted."""
    epoch = tf.Variable(first_epoch, dtype=tf.int64, trainable=False)

    def permutation(_: tf.Tensor) -> tf.data.Dataset:
        key = tf.stack([tf.constant(seed, tf.int64), epoch.assign_add(1) - 1])
        order = tf.random.experimental.stateless_shuffle(tf.range(size, dtype=tf.int64), key)
        return tf.data.Dataset.from_tensor_slices(order)

    orders = tf.data.Dataset.from_tensors(0).flat_map(permutation)
    return orders.apply(tf.data.experimental.assert_cardinality(size))


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, *, seed: int | None = None,
            first_epoch: int = 0, threads: int | None = None) -> tf.data.Dataset:
    """A dataset of ``(images, labels)`` batches over the arrays, reshuffled every epoch.

    Args:
        x, y: images (float32, or uint8 pixels scaled here to float32 in [0, 1]) and labels,
            the same length.
        batch_size: images per batch; the last batch of an epoch may be smaller.
        seed: seed of the per-epoch shuffle; None keeps the order (validation).
        first_epoch: the epoch the first iteration is (a resumed trial's first epoch).
        threads: the pipeline's private thread pool (default: :func:`worker_threads`).

    Example:
        >>> ds = batches(np.zeros((5, 2, 2, 3), "float32"), np.arange(5), 2, seed=0)
        >>> [int(b.shape[0]) for b, _ in ds]
        [2, 2, 1]
    """
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels")
    images, labels = _tensor(x), _tensor(y)
    if seed is None:
        order = tf.data.Dataset.range(len(x))
    else:
        order = _epoch_orders(len(x), seed, first_epoch)
    scale = images.dtype == tf.uint8

    def gather(indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        batch = tf.gather(images, indices)
        if scale:  # the same float32 values as numpy's divide(x, 255, dtype=float32)
            batch = tf.cast(batch, tf.float32) / 255.0
        return batch, tf.gather(labels, indices)

    dataset = order.batch(batch_size).map(gather).prefetch(1)
    options = tf.data.Options()
    options.threading.private_threadpool_size = threads or worker_threads()
    options.threading.max_intra_op_parallelism = 1
    options.autotune.enabled = False
    return dataset.with_options(options)

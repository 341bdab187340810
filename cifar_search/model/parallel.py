"""Data parallelism for one trial: ``tf.distribute.MirroredStrategy`` over the devices its
worker sees (what Keras 2's ``multi_gpu_model`` did), or no strategy.

Each batch is split across the devices and their gradients are summed, so a trial trains as
it would on one device with the same (global) batch size. The devices are the worker's GPUs;
on a machine without GPUs, its logical CPUs when the CPU has been split into two or more
(``tf.config.set_logical_device_configuration``, used by the tests so that this path runs
without a GPU).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from cifar_search.errors import TrialError


def devices() -> list[str]:
    """The devices a data-parallel trial spreads over: the logical GPUs, else the logical
    CPUs (one, unless the CPU was split).

    Example:
        >>> devices()  # doctest: +SKIP
        ['/device:GPU:0', '/device:GPU:1']
    """
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]


def check_devices(found: list[str]) -> None:
    """Refuse data parallelism on fewer than 2 devices.

    Example:
        >>> check_devices(["/device:CPU:0"])
        Traceback (most recent call last):
        ...
        cifar_search.errors.TrialError: compute.data_parallel: True needs 2 or more devices; \
this worker sees 1 (/device:CPU:0); set data_parallel=False or give the worker more GPUs
    """
    if len(found) < 2:
        raise TrialError(f"compute.data_parallel: True needs 2 or more devices; this worker "
                         f"sees {len(found)} ({', '.join(found) or 'none'}); set "
                         "data_parallel=False or give the worker more GPUs")


@contextlib.contextmanager
def scope(data_parallel: bool) -> Iterator[Any]:
    """Inside the block, models are built, compiled and loaded for the trial's strategy: a
    ``MirroredStrategy`` over :func:`devices` when ``data_parallel``, else none (yields None).

    Raises:
        TrialError: data parallelism with fewer than 2 devices.
    """
    if not data_parallel:
        yield None
        return
    import tensorflow as tf

    found = devices()
    check_devices(found)
    strategy = tf.distribute.MirroredStrategy(devices=found)
    with strategy.scope():
        yield strategy

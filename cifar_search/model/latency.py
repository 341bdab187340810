"""The ``latency_ms`` measure: a trained model's inference time per image, on the worker.

Every trial is timed the same way, right after its training, in the worker's own process and
threads: a batch of :data:`BATCH` validation images (repeated when there are fewer) is
predicted :data:`WARMUP` times untimed (graph tracing, memory), then :data:`TIMED` times timed;
the median batch time divided by the batch size, in milliseconds. The median keeps one slow
call (another process taking the core) from moving the score; comparisons hold between trials
of one sweep on one kind of machine, not across machines.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

#: Images per timed batch.
BATCH = 64
#: Untimed calls first (the first traces the graph).
WARMUP = 2
#: Timed calls; their median is kept.
TIMED = 7


def latency_ms(model: Any, images: Any) -> float:
    """Milliseconds per image of ``model`` on a batch of ``images`` (see the module's rule).

    Example:
        >>> latency_ms(lambda x, training: x, np.zeros((3, 2, 2, 3))) >= 0.0
        True
    """
    batch = np.resize(np.asarray(images), (BATCH, *np.asarray(images).shape[1:]))
    for _ in range(WARMUP):
        model(batch, training=False)
    times = []
    for _ in range(TIMED):
        start = time.perf_counter()
        _ready(model(batch, training=False))
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times) / BATCH


def _ready(outputs: Any) -> None:
    """Wait for the outputs (a GPU computes asynchronously until they are read)."""
    np.asarray(outputs)

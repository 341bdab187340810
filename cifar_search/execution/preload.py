"""What the fork server imports once for every worker it forks: TensorFlow (where a worker
uses it: :func:`cifar_search.execution.backend.uses_tensorflow`), Keras and the worker module,
with what TensorFlow prints while it loads silenced (its start-up lines would otherwise reach
the terminal before any worker could send its output to the workspace's log).
The fork server exits with its coordinator without tearing TensorFlow down (a second or more,
during which it would hold the coordinator's output open).
"""

from __future__ import annotations

import multiprocessing.forkserver
import sys
from types import FrameType

from cifar_search.execution.backend import uses_tensorflow
from cifar_search.fast_exit import skip_teardown
from cifar_search.quiet import import_keras, import_tensorflow


def _in_fork_server() -> bool:
    """Whether this module is being imported by the fork server's own start-up (not, say, by
    a test collecting every module of the package)."""
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        if frame.f_code is multiprocessing.forkserver.main.__code__:
            return True
        frame = frame.f_back
    return False


if _in_fork_server():
    skip_teardown(lambda: 0)
# Keras's JAX backend without TensorFlow installed: Keras alone (execution/backend.py)
(import_tensorflow if uses_tensorflow() else import_keras)("cifar_search.execution.worker")

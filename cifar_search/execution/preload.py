"""What the fork server imports once for every worker it forks: TensorFlow, Keras and the
worker module, with what TensorFlow prints while it loads silenced (its start-up lines would
otherwise reach the terminal before any worker could send its output to the workspace's log).
"""

from __future__ import annotations

import os


def _import_quietly() -> None:
    """Import the workers' heavy modules with file descriptor 2 pointed at /dev/null."""
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401

        import cifar_search.execution.worker  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_import_quietly()

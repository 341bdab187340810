"""TensorFlow's start-up lines kept off the terminal.

TensorFlow prints its first lines (oneDNN, CPU features, absl's notice) from C++ while it
loads, before any Python logging setting applies and whatever ``TF_CPP_MIN_LOG_LEVEL`` says.
Every process of cifar_search that imports it (the fork server, the main process when a sweep
file defines its own model or when the KerasTuner or sklearn engine runs) does so through
:func:`import_tensorflow`, with file descriptor 2 pointed at /dev/null for that moment;
``--debug`` lets the lines through.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator

from cifar_search.errors import debugging

#: What TensorFlow's C++ logging may print after start-up: warnings and errors only.
TF_LOG_LEVEL = "2"


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """File descriptor 2 (what C++ code writes to) pointed at /dev/null inside the block;
    a no-op with ``--debug``."""
    if debugging():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow(*modules: str) -> None:
    """Import TensorFlow and Keras (and ``modules``) quietly, once per process.

    Example:
        >>> import_tensorflow()  # doctest: +SKIP
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)
    wanted = [name for name in ("tensorflow", "keras", *modules) if name not in sys.modules]
    if not wanted:
        return
    with silenced_stderr():
        for name in wanted:
            importlib.import_module(name)


def import_keras(*modules: str) -> None:
    """Import Keras (and ``modules``) quietly, once per process, without TensorFlow: for
    Keras's JAX backend where TensorFlow is not installed.

    Example:
        >>> import_keras()  # doctest: +SKIP
    """
    wanted = [name for name in ("keras", *modules) if name not in sys.modules]
    with silenced_stderr():
        for name in wanted:
            importlib.import_module(name)

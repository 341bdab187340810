"""Ending a process without tearing its modules down.

A process that has imported MLflow, Optuna and SQLAlchemy (the command line) or TensorFlow (the
fork server) spends a second or more at exit clearing thousands of modules that the operating
system frees anyway; a fork server that lingers so also holds its coordinator's output open,
so that ``run … | tee log`` waits for it. Here the process's exit handlers run as usual (files
flushed, stores closed, child processes reaped) and the process then ends at once with its
status.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
from collections.abc import Callable
from typing import NoReturn

__all__ = ["exit_quickly", "skip_teardown"]


def skip_teardown(status: Callable[[], int]) -> None:
    """From now on this process ends right after its exit handlers (this one, registered
    first, runs last) with ``status()``; a process forked from it ends as it would have."""
    pid = os.getpid()

    def end() -> None:
        if os.getpid() != pid:
            return
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # closed, or a pipe whose reader is gone
                pass
        os._exit(status())

    atexit.register(end)


def exit_quickly(main: Callable[[], int | None]) -> NoReturn:
    """Run ``main`` and end the process with its status (``sys.exit``'s rules: None is 0, a
    text is printed and is 1; Ctrl-C is 128 + SIGINT), without the teardown."""
    code = [1]  # an uncaught exception: its traceback is printed, then the process ends
    skip_teardown(lambda: code[0])
    try:
        result: object = main()
    except SystemExit as stop:
        result = stop.code
    except KeyboardInterrupt:
        result = 128 + signal.SIGINT
    if isinstance(result, str):
        print(result, file=sys.stderr)
    code[0] = 0 if result is None else result if isinstance(result, int) else 1
    sys.exit(code[0])

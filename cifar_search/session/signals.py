"""Ctrl-C and SIGTERM routed to a handler while a session runs its workers."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def signals_to(handler: Callable[[int], None]) -> Iterator[None]:
    """Inside the block, SIGINT and SIGTERM call ``handler(signum)``; the previous handlers
    are put back after it."""
    previous = {sig: signal.signal(sig, lambda signum, frame: handler(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)

"""A tracking server that stops answering: said once, with how long MLflow goes on retrying.

MLflow's REST client retries a request that finds no server with a growing backoff
(``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` tries, ``MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR``; about four
minutes at the defaults), and urllib3 notes each retry in its log, which the terminal does not
show: a run would sit silent all that time. :func:`announced` turns the first retry of an
outage into one line for the user; a retry after a quiet spell (the window and a minute more)
is a new outage and is said again.

Example:
    >>> round(retry_window_s(7, 2, 1.0))  # MLflow's defaults
    249
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator

from cifar_search.config.durations import shown_duration
from cifar_search.workspace import masked

__all__ = ["announced", "retry_window_s"]

#: The logger urllib3 notes each retry of a connection on.
RETRY_LOGGER = "urllib3.connectionpool"
#: urllib3's longest wait between two tries, seconds (``Retry.DEFAULT_BACKOFF_MAX``).
BACKOFF_MAX_S = 120.0
#: Seconds without a retry, beyond the retry window, after which a retry is a new outage.
QUIET_S = 60.0


def retry_window_s(max_retries: int, factor: float, jitter: float,
                   cap: float = BACKOFF_MAX_S) -> float:
    """The longest time urllib3 waits between the tries of one request: no wait before the
    second try, then ``factor * 2**(k - 1)`` (plus up to ``jitter``) before try ``k + 1``,
    each wait at most ``cap``.

    Example:
        >>> retry_window_s(3, 1, 0.0)
        6.0
    """
    return float(sum(min(cap, factor * 2 ** (k - 1) + jitter) for k in range(2, max_retries + 1)))


def _mlflow_window_s() -> float:
    """The retry window of MLflow's settings in this process's environment."""
    def number(name: str, default: float) -> float:
        try:
            return float(os.environ.get(name, default))
        except ValueError:
            return default

    return retry_window_s(int(number("MLFLOW_HTTP_REQUEST_MAX_RETRIES", 7)),
                          number("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", 2),
                          number("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", 1.0))


class _RetryNotice(logging.Handler):
    """Says the first retry of each outage of the tracking server at ``uri``."""

    def __init__(self, say: Callable[[str], None], uri: str, window_s: float) -> None:
        super().__init__(logging.WARNING)
        self.say, self.uri, self.window_s = say, uri, window_s
        self.last: float | None = None  # when the last retry was noted

    def emit(self, record: logging.LogRecord) -> None:
        if not record.getMessage().startswith("Retrying"):
            return
        now = time.monotonic()
        if self.last is None or now - self.last > self.window_s + QUIET_S:
            self.say(f"the MLflow tracking server at {self.uri} is not answering; MLflow "
                     f"retries for up to {shown_duration(self.window_s)} "
                     "(MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR), "
                     "then the run stops with the error")
        self.last = now


@contextlib.contextmanager
def announced(say: Callable[[str], None], uri: str | None) -> Iterator[None]:
    """Within the block, a tracking server at ``uri`` (http or https; anything else: nothing
    to announce) that stops answering is said once per outage through ``say``."""
    if uri is None or not uri.startswith(("http://", "https://")):
        yield
        return
    logger = logging.getLogger(RETRY_LOGGER)
    notice = _RetryNotice(say, masked(uri), _mlflow_window_s())
    propagate = logger.propagate
    logger.addHandler(notice)
    logger.propagate = False  # urllib3's own line stays off the terminal
    try:
        yield
    finally:
        logger.removeHandler(notice)
        logger.propagate = propagate

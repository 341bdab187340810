"""The parent run's summary refreshed while a sweep runs, not only at its end.

When (:class:`RefreshRule`, pure): once ``every`` more trials have finished since the last
refresh (the first: since the run started), at most once per ``min_seconds`` (the first: that
long after the run started, so a short run draws its summary once, at its end), never while
the previous refresh is still being drawn and never once the target is reached (the final
summary follows). How (:class:`SummaryRefresh`): the study is copied as it is (in memory), its plots
are drawn from the copy in a thread of its own while the workers go on training (one drawer at
a time: the end's drawing waits for it), and the coordinator logs the drawn files and the
description (a few quick MLflow writes) at its next turn (:class:`RefreshesSummary`). A
refresh that fails is said once; the run goes on and its end writes the summary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cifar_search.config.sweep import Sweep
    from cifar_search.tracking.writer import Tracker


@dataclass(frozen=True)
class RefreshRule:
    """When the summary is refreshed during a run.

    Attributes:
        every: finished trials (complete or pruned) between two refreshes.
        min_seconds: seconds at least between the starts of two refreshes.

    Example:
        >>> rule = RefreshRule(every=3, min_seconds=60)
        >>> rule.due(finished=3, target=10, last=0, now=100.0, last_time=None)
        True
        >>> rule.due(finished=6, target=10, last=3, now=130.0, last_time=100.0)
        False
    """

    every: int = 3
    min_seconds: float = 60.0

    def due(self, finished: int, target: int, last: int, now: float,
            last_time: float | None) -> bool:
        """Whether to refresh now, at ``finished`` of ``target`` trials, the last refresh
        having been at ``last`` finished trials and time ``last_time`` (None: none yet)."""
        if finished >= target or finished < last + self.every:
            return False
        return last_time is None or now - last_time >= self.min_seconds


#: The rule a run follows.
RULE = RefreshRule()


class SummaryRefresh:
    """Refreshes a run's parent-run summary by :data:`RULE` (see the module's docstring).

    Args:
        sweep: the sweep (its objective and swept parameters name the plots).
        tracker: the study's tracker, its parent run open.
        finished: trials finished when the run starts (the first refresh counts from there).
        say: prints one line for the user (a failure, once).
    """

    def __init__(self, sweep: Sweep, tracker: Tracker, finished: int,
                 say: Callable[[str], None]) -> None:
        self.sweep, self.tracker, self.say = sweep, tracker, say
        self.last = finished  # finished trials at the last refresh (or the run's start)
        self.last_time: float | None = time.monotonic()  # when it (or the run) started
        self.thread: threading.Thread | None = None
        self.study: Any = None  # the copy being drawn
        self.drawn: Any = None  # its files, once drawn
        self.error: BaseException | None = None  # what the drawing raised
        self.failed = False  # a failure was said: the next ones are not

    def after_end(self, finished: int, target: int, study: Callable[[], Any]) -> None:
        """A trial ended: start drawing a refresh of ``study()`` when the rule says so."""
        now = time.monotonic()
        if self.thread is not None or not RULE.due(finished, target, self.last, now,
                                                    self.last_time):
            return
        from cifar_search.tracking import summary

        self.last, self.last_time = finished, now
        try:
            self.study = summary.snapshot(study())
        except Exception as error:  # noqa: BLE001 (a refresh never stops the run)
            self._failed(error)
            return
        self.drawn, self.error = None, None
        self.thread = threading.Thread(target=self._draw, name="summary-refresh", daemon=True)
        self.thread.start()

    def _draw(self) -> None:
        """In the thread: the summary's files of the copy."""
        from cifar_search.tracking import summary

        try:
            self.drawn = summary.draw_now(self.study, self.sweep, self.tracker)
        except BaseException as error:  # noqa: BLE001 (said by poll, in the run's thread)
            self.error = error

    def poll(self) -> None:
        """Log a refresh whose drawing is done (in the run's thread, between two events)."""
        if self.thread is None or self.thread.is_alive():
            return
        from cifar_search.tracking import summary

        self.thread = None
        drawn, self.drawn = self.drawn, None
        try:
            if self.error is not None:
                raise self.error
            summary.log_refresh(self.study, self.sweep, self.tracker, drawn)
        except Exception as error:  # noqa: BLE001 (a refresh never stops the run)
            self._failed(error)
        finally:
            self.study = None

    def close(self) -> None:
        """Wait for a drawing in progress and drop it (the run's end draws the summary: one
        drawer at a time)."""
        from cifar_search.tracking import summary

        if self.thread is not None:
            self.thread.join()
            self.thread = None
        summary.discard(self.drawn)
        self.drawn = self.study = None

    def _failed(self, error: BaseException) -> None:
        if not self.failed:
            self.failed = True
            self.say(f"the summary could not be refreshed during the run "
                     f"({type(error).__name__}: {error}); the run goes on and writes it at "
                     "its end")


class RefreshesSummary:
    """The session loop's side of a refresh (mixed into
    :class:`cifar_search.session.loop.Session`): at each turn of its loop, log a refresh that
    is drawn and, when trials ended since the last turn, start one if the rule says so."""

    sweep: Sweep
    tracker: Tracker
    target: int
    stopping: bool
    ends_here: int
    say: Callable[[str], None]
    _refresh: SummaryRefresh | None = None
    _refresh_ends = 0  # ends_here at the last turn

    if TYPE_CHECKING:
        def _finished(self) -> int: ...

        def _study(self) -> Any: ...

    def _refresh_turn(self) -> None:
        """One turn of the loop (trials finished before it count from here)."""
        if self._refresh is None:
            self._refresh = SummaryRefresh(self.sweep, self.tracker, self._finished(), self.say)
            self._refresh_ends = self.ends_here
        self._refresh.poll()
        if self.ends_here != self._refresh_ends and not self.stopping:
            self._refresh_ends = self.ends_here
            self._refresh.after_end(self._finished(), self.target, self._study)

    def _refresh_close(self) -> None:
        """No more refreshes; one being drawn is waited for and dropped."""
        if self._refresh is not None:
            self._refresh.close()
            self._refresh = None

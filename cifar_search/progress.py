"""Progress on the terminal: bars over trials and epochs, and a line for every step of the
session that outlasts :data:`STEP_SHOWN_AFTER` (loading the data, starting the workers, the
test evaluation, the plots, the registration), so that no wait is silent. Shown only on a
terminal; elapsed times tick once a second while nothing else moves.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator

from tqdm import tqdm

#: Seconds a step runs before its line appears (shorter steps show nothing).
STEP_SHOWN_AFTER = 2.0

#: Seconds between two refreshes of the lines and bars while a step or the bars are shown.
TICK_SECONDS = 1.0

#: What the epochs bar says until the first worker has started (TensorFlow's import).
STARTING = "starting workers"


def step_line(text: str, elapsed: float) -> str:
    """A step's line on the terminal.

    Example:
        >>> step_line("evaluating the best model on the test set", 3.4)
        'evaluating the best model on the test set… 3 s'
    """
    return f"{text}… {int(elapsed)} s"


def shown_steps(steps: list[tuple[str, float]], now: float) -> list[str]:
    """The lines of the steps running at ``now`` (text, start), oldest first: those that have
    run for :data:`STEP_SHOWN_AFTER` seconds or more.

    Example:
        >>> shown_steps([("loading data", 10.0), ("plots", 11.5)], 12.5)
        ['loading data… 2 s']
    """
    return [step_line(text, now - start) for text, start in steps
            if now - start >= STEP_SHOWN_AFTER]


class Progress:
    """Two bars, trials and epochs, and the session's slow steps; lines written with
    :meth:`say` appear above them.

    Example:
        >>> progress = Progress(enabled=False)
        >>> with progress.step("loading data"):
        ...     pass
        >>> [name for name, _ in progress.timings]
        ['loading data']
    """

    def __init__(self, enabled: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.clock = clock
        self.trials: tqdm | None = None
        self.epochs: tqdm | None = None
        self.per_trial = 0
        self.running: list[tuple[str, float]] = []  # steps in progress: (text, start)
        self.timings: list[tuple[str, float]] = []  # steps ended: (text, seconds)
        self.lines: list[tqdm] = []  # the steps' lines on the terminal
        self.lock = threading.Lock()
        self.ticker: threading.Thread | None = None

    def start(self, target: int, finished: int, epochs: int) -> None:
        """Open the bars for ``target`` trials of ``epochs`` epochs, ``finished`` already done."""
        self.per_trial = epochs
        left = max(0, target - finished)
        disable = not self.enabled
        with self.lock:
            self.trials = tqdm(total=target, initial=min(finished, target), desc="trials",
                               unit="trial", position=0, disable=disable, leave=False)
            self.epochs = tqdm(total=left * epochs, desc="epochs", unit="epoch", position=1,
                               disable=disable, leave=False, postfix=STARTING)
        self._tick()

    def started(self) -> None:
        """A worker is ready: the epochs bar no longer says it is starting."""
        if self.enabled and self.epochs is not None and self.epochs.postfix:
            with self.lock:
                self.epochs.set_postfix_str("", refresh=True)

    def epoch(self) -> None:
        """One epoch of some trial ended."""
        if self.epochs is not None:
            self.started()
            with self.lock:
                self.epochs.update(1)

    def trial(self, epochs_trained: int) -> None:
        """One trial ended after ``epochs_trained`` epochs (fewer when pruned or failed)."""
        if self.trials is not None and self.epochs is not None:
            with self.lock:
                self.trials.update(1)
                self.epochs.total = max(self.epochs.n, self.epochs.total
                                        - (self.per_trial - epochs_trained))
                self.epochs.refresh()

    @contextlib.contextmanager
    def step(self, text: str) -> Iterator[None]:
        """A step of the session: its line appears once it has run for
        :data:`STEP_SHOWN_AFTER` seconds, with its elapsed time, and goes when it ends."""
        entry = (text, self.clock())
        with self.lock:
            self.running.append(entry)
        self._tick()
        try:
            yield
        finally:
            with self.lock:
                self.running.remove(entry)
                self.timings.append((text, self.clock() - entry[1]))
            self._refresh()

    def say(self, line: str) -> None:
        """Print a line without breaking the bars."""
        with self.lock:
            tqdm.write(line, file=sys.stdout)

    def close(self) -> None:
        """Remove the bars."""
        with self.lock:
            for bar in (self.epochs, self.trials):
                if bar is not None:
                    bar.close()
            self.trials = self.epochs = None
        self._refresh()

    def _tick(self) -> None:
        """Start the thread that refreshes the lines and bars (once; on a terminal only)."""
        if self.enabled and self.ticker is None:
            self.ticker = threading.Thread(target=self._ticking, daemon=True,
                                           name="progress")
            self.ticker.start()

    def _ticking(self) -> None:
        """Refresh once a tick while anything is shown (a daemon: it ends with the process)."""
        while True:
            time.sleep(TICK_SECONDS)
            self._refresh()

    def _refresh(self) -> None:
        """The steps' lines as they are now; the bars' elapsed times moved on."""
        if not self.enabled:
            return
        with self.lock:
            lines = shown_steps(self.running, self.clock())
            while len(self.lines) > len(lines):
                self.lines.pop().close()
            for k, line in enumerate(lines):
                if k == len(self.lines):
                    self.lines.append(tqdm(total=None, bar_format="{desc}", desc=line,
                                           leave=False, file=sys.stderr))
                self.lines[k].set_description_str(line)
            for bar in (self.trials, self.epochs):
                if bar is not None:
                    bar.refresh()

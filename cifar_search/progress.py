"""Progress bars over trials and epochs (shown only on a terminal)."""

from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    """Two bars, trials and epochs; lines written with :meth:`say` appear above them."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.trials: tqdm | None = None
        self.epochs: tqdm | None = None
        self.per_trial = 0

    def start(self, target: int, finished: int, epochs: int) -> None:
        """Open the bars for ``target`` trials of ``epochs`` epochs, ``finished`` already done."""
        self.per_trial = epochs
        left = max(0, target - finished)
        disable = not self.enabled
        self.trials = tqdm(total=target, initial=min(finished, target), desc="trials",
                           unit="trial", position=0, disable=disable, leave=False)
        self.epochs = tqdm(total=left * epochs, desc="epochs", unit="epoch", position=1,
                           disable=disable, leave=False)

    def epoch(self) -> None:
        """One epoch of some trial ended."""
        if self.epochs is not None:
            self.epochs.update(1)

    def trial(self, epochs_trained: int) -> None:
        """One trial ended after ``epochs_trained`` epochs (fewer when pruned or failed)."""
        if self.trials is not None and self.epochs is not None:
            self.trials.update(1)
            self.epochs.total = max(self.epochs.n, self.epochs.total
                                    - (self.per_trial - epochs_trained))
            self.epochs.refresh()

    def say(self, line: str) -> None:
        """Print a line without breaking the bars."""
        tqdm.write(line, file=sys.stdout)

    def close(self) -> None:
        """Remove the bars."""
        for bar in (self.epochs, self.trials):
            if bar is not None:
                bar.close()
        self.trials = self.epochs = None

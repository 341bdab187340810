"""What a session achieved, and the closing lines every engine tells the user alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Outcome:
    """What a run of a coordinator achieved."""

    finished: int
    target: int
    interrupted: bool = False
    best: dict[str, Any] | None = None
    test: dict[str, Any] | None = None
    finalised_here: bool = True  # False: another machine finalises the study

    @property
    def count(self) -> str:
        """``3/4 trials finished``."""
        return f"{self.finished}/{self.target} trials finished"

    def interrupted_line(self) -> str:
        """That the run was interrupted, and how to resume it (the command line adds the
        command as it was typed)."""
        return f"interrupted with {self.count}; run the same command again to resume"

    def test_lines(self) -> list[str]:
        """The best model's test-set results (none when it was not evaluated)."""
        test = self.test
        return ([] if test is None else
                [f"test set: trial {test['trial']} accuracy={test['test_accuracy']:.4f} "
                 f"loss={test['test_loss']:.4f}"])

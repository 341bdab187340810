"""The sklearn engine's own settings of a sweep (``options={"sklearn": {...}}``), checked.

Example:
    >>> from cifar_search.config.sweep import Sweep
    >>> sweep = Sweep("s", "x.yaml", "dropout", options={"sklearn": {"cv": 5}})
    >>> SklearnOptions.of(sweep)
    SklearnOptions(cv=5, n_jobs=None, as_written=False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cifar_search.config.require import is_int, require
from cifar_search.config.sweep import MAX_WORKERS, Sweep
from cifar_search.execution.sizing import worker_count

__all__ = ["SklearnOptions", "jobs"]


@dataclass(frozen=True)
class SklearnOptions:
    """The sklearn engine's settings of a sweep.

    Attributes:
        cv: the number of cross-validation folds.
        n_jobs: parallel fits (joblib processes); None uses the sweep's ``workers``.
        as_written: compile the model with Adam inside the build function as the Carpentries
            lesson did, so that scikeras ignores the optimizer candidates (reproduces the
            lesson's mistake on purpose; each candidate reports the optimizer that really
            trained).
    """

    cv: int = 3
    n_jobs: int | None = None
    as_written: bool = False

    ENGINE: ClassVar[str] = "sklearn"

    def __post_init__(self) -> None:
        require(is_int(self.cv) and self.cv >= 2, "options.sklearn.cv", self.cv,
                "cv is a whole number of folds >= 2")
        require(self.n_jobs is None or (is_int(self.n_jobs) and 1 <= self.n_jobs
                                        <= MAX_WORKERS), "options.sklearn.n_jobs", self.n_jobs,
                f"n_jobs is a whole number from 1 to {MAX_WORKERS}, or None (use workers)")
        require(isinstance(self.as_written, bool), "options.sklearn.as_written",
                self.as_written, "as_written is True or False")

    @classmethod
    def of(cls, sweep: Sweep) -> SklearnOptions:
        """The sweep's ``options["sklearn"]``, parsed (ConfigError naming ``options.sklearn``)."""
        return sweep.options_for(cls.ENGINE, cls)

    def check(self, sweep: Sweep) -> None:
        """The as-written mode only with engine ``sklearn``, which it is a mode of."""
        require(not self.as_written or sweep.engine == self.ENGINE,
                "options.sklearn.as_written", self.as_written, "the as-written mode "
                "reproduces a scikeras mistake; it needs engine 'sklearn'")


def jobs(sweep: Sweep) -> int:
    """The sweep's parallel fits: ``n_jobs``, else its number of workers."""
    n_jobs = SklearnOptions.of(sweep).n_jobs
    return n_jobs if n_jobs is not None else worker_count(sweep)

"""Two kinds of failure, as in KerasTuner.

* :class:`ConfigError` and :class:`DataError` stop the sweep before its first trial.
* :class:`TrialError` fails one trial; the sweep records the reason and goes on.

Every message is one line that names the file, the key, the value received and what is
allowed, e.g. ``search_spaces/dropout.yaml: dropout_rate: high=1.5 is out of range; a dropout
rate lies in [0, 1)``.
"""

from __future__ import annotations


class CifarSearchError(Exception):
    """Base class of the errors a user sees as one line (no traceback without --debug)."""


class ConfigError(CifarSearchError):
    """A space, sweep or command-line value is invalid. Raised before any trial runs.

    Args:
        key: dotted name of the offending key, e.g. ``"dropout_rate.high"`` (may be empty).
        message: what is wrong and what is allowed.
        file: the file the key was read from (added by the loader when known).
    """

    def __init__(self, key: str, message: str, file: str | None = None) -> None:
        self.key = key
        self.message = message
        self.file = file
        super().__init__(": ".join(part for part in (file, key, message) if part))

    def in_file(self, file: str) -> "ConfigError":
        """Return the same error, naming ``file`` (kept if one is already named)."""
        return ConfigError(self.key, self.message, self.file or file)


class DataError(CifarSearchError):
    """The data cannot be found, read or decoded. Raised before any trial runs."""


class TrialError(CifarSearchError):
    """One trial failed (e.g. its model cannot be built); the sweep goes on."""


class SweepBusyError(CifarSearchError):
    """Another live process is running the sweep (its lock is held)."""


class NoStudyError(CifarSearchError):
    """A command needs a study that does not exist (yet)."""

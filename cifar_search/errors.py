"""Two kinds of failure, as in KerasTuner.

* :class:`ConfigError` and :class:`DataError` stop the sweep before its first trial.
* :class:`TrialError` fails one trial; the sweep records the reason and goes on.

Every message is one line that names the file, the key, the value received and what is
allowed, e.g. ``search_spaces/dropout.yaml: dropout_rate: high=1.5 is out of range; a dropout
rate lies in [0, 1)``.
"""

from __future__ import annotations

import os
import re
from typing import Any

__all__ = [
    "CifarSearchError", "ConfigError", "DataError", "NoStudyError", "SweepBusyError",
    "TrialError", "clipped", "shown",
]

#: Characters of a value that an error message shows at most (see :func:`shown`).
SHOWN_LIMIT = 80


def shown(value: Any, limit: int = SHOWN_LIMIT) -> str:
    """``repr(value)`` for an error message: one line of at most ``limit`` characters.

    Containers are rendered only as far as the limit (a list of a million items, a nested
    tree or a list that contains itself costs no more than a short one), and a longer text
    ends with ``…``.

    Example:
        >>> shown([0.1, 0.2])
        '[0.1, 0.2]'
        >>> shown("x" * 200, limit=12)
        "'xxxxxxxxxx…"
    """
    text = _bounded_repr(value, limit + 1).replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= limit else text[:limit - 1] + "…"


#: Terminal colour codes (Keras bolds the message inside its errors).
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def one_line(text: str) -> str:
    r"""An exception's text on one line: colour codes dropped, Keras's "Arguments received"
    block left out, the remaining lines joined.

    Example:
        >>> one_line("Exception encountered when calling Boom.call().\n\n\x1b[1mno\x1b[0m\n\n"
        ...          "Arguments received by Boom.call():\n  • training=True")
        'Exception encountered when calling Boom.call(): no'
    """
    text = _ANSI.sub("", text).split("\nArguments received by")[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith("()."):
        lines[0] = lines[0][:-1] + ":"
    return " ".join(lines)


def clipped(text: str, limit: int = 200) -> str:
    """``text`` (an exception's message, say) as one line of at most ``limit`` characters.

    Example:
        >>> clipped("first line\\nsecond line")
        'first line second line'
    """
    line = " ".join(str(text)[:4 * limit].split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _bounded_repr(value: Any, budget: int) -> str:
    """``repr(value)``, stopped soon after ``budget`` characters."""
    if budget <= 0:
        return "…"
    if isinstance(value, (str, bytes)):
        text = repr(value[:budget])
        return text if len(value) <= budget else text[:-1] + "…" + text[-1]
    if isinstance(value, (list, tuple, set, frozenset, dict)) and type(value) in (
            list, tuple, set, frozenset, dict):
        return _bounded_container(value, budget)
    try:
        return repr(value)[:budget + 1]
    except ValueError:  # an int beyond Python's 4300-digit conversion limit
        return f"<an integer of {value.bit_length()} bits>"
    except Exception:  # noqa: BLE001 (a user object whose __repr__ fails)
        return f"<{type(value).__name__} object>"


def _bounded_container(value: Any, budget: int) -> str:
    if isinstance(value, dict):
        opening, closing = "{", "}"
    elif isinstance(value, list):
        opening, closing = "[", "]"
    elif isinstance(value, tuple):
        opening, closing = "(", ",)" if len(value) == 1 else ")"
    else:
        if not value:
            return f"{type(value).__name__}()"
        opening, closing = ("{", "}") if isinstance(value, set) else ("frozenset({", "})")
    parts: list[str] = []
    used = len(opening)
    for item in (value.items() if isinstance(value, dict) else value):
        if used > budget:
            parts.append("…")
            break
        if isinstance(value, dict):
            key = _bounded_repr(item[0], budget - used)
            text = f"{key}: {_bounded_repr(item[1], budget - used - len(key) - 2)}"
        else:
            text = _bounded_repr(item, budget - used)
        parts.append(text)
        used += len(text) + 2
    return opening + ", ".join(parts) + closing


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
        self.message = " ".join(message.splitlines())  # one line, whatever went into it
        self.file = file
        super().__init__(": ".join(part for part in (file, key, self.message) if part))

    def in_file(self, file: str) -> ConfigError:
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


#: Set (to anything non-empty) by ``--debug``: tracebacks instead of one-line errors, and the
#: workers' TensorFlow output on the terminal instead of in the workspace's log file.
DEBUG_ENV = "CIFAR_SEARCH_DEBUG"


def debugging() -> bool:
    """Whether ``--debug`` (or ``CIFAR_SEARCH_DEBUG``) is on."""
    return bool(os.environ.get(DEBUG_ENV))

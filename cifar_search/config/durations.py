"""Durations as people write them: ``"2h"``, ``"90m"``, ``"1h30m"``, ``"45s"``, ``"1.5h"``,
``"2d"``, or a number of seconds.

Example:
    >>> seconds("1h30m"), seconds("45s"), seconds(600)
    (5400.0, 45.0, 600.0)
    >>> shown_duration(5400.0)
    '1h30m'
"""

from __future__ import annotations

import math
import re

__all__ = ["DURATION_HELP", "MAX_DURATION_S", "seconds", "shown_duration"]

#: Seconds in each unit a duration may use.
UNITS = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
#: The longest duration allowed: a year, longer than any sweep on one study is planned for.
MAX_DURATION_S = 366 * 86_400.0
#: What a duration may be, for messages.
DURATION_HELP = ("a duration such as '2h', '90m', '1h30m', '45s' or '1.5d', or a number of "
                 "seconds, > 0 and at most a year")

_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")


def seconds(value: object) -> float | None:
    """The duration ``value`` in seconds; None when it is not a duration (the caller says
    what is allowed)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        total = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if not text or _PART.sub("", text):
            return None
        units = [unit for _, unit in _PART.findall(text)]
        if len(set(units)) != len(units):
            return None
        total = sum(float(n) * UNITS[unit] for n, unit in _PART.findall(text))
    else:
        return None
    return total if math.isfinite(total) and 0 < total <= MAX_DURATION_S else None


def shown_duration(total: float) -> str:
    """A number of seconds as ``1h30m``, ``2h``, ``45s``, ``3d2h`` (rounded to the second).

    Example:
        >>> shown_duration(59.6), shown_duration(3600), shown_duration(93_784)
        ('1m', '1h', '1d2h3m4s')
    """
    rest = int(round(max(0.0, total)))
    parts = []
    for unit, size in UNITS.items():
        count, rest = divmod(rest, int(size))
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"

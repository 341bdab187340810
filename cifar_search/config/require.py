"""The one way config objects refuse a value: :func:`require`, naming the key, the value
received and what is allowed.

Example:
    >>> require(True, "budget.epochs", 3, "epochs is a whole number >= 1")
    >>> is_int(True), is_real(float("nan"))
    (False, False)
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

from cifar_search.errors import ConfigError, shown

__all__ = ["is_int", "is_real", "require"]


def require(ok: bool, key: str, value: Any, allowed: str) -> None:
    """Raise a :class:`ConfigError` for ``key`` unless ``ok`` (the value shortened)."""
    if not ok:
        raise ConfigError(key, f"{shown(value)} is not allowed; {allowed}")


def is_int(value: Any) -> TypeGuard[int]:
    """A whole number (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)

"""Which failures are the machine's, not the trial's.

A trial that cannot write its checkpoint because the disk is full, the file system went
read-only or its folder is no longer writable did nothing wrong: failing it would burn its
point for good (the sweep would go on to the next and a rerun would have nothing to redo).
Such a failure stops the sweep instead, with the trial interrupted, so that the same command
run again once the machine is fixed finishes it.
"""

from __future__ import annotations

import errno
import os

__all__ = ["MACHINE_ERRNOS", "machine_fault"]

#: The errors of the machine: out of space or quota, a read-only file system, permission
#: lost, an input/output error of the device.
MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES,
                            errno.EPERM, errno.EIO})


def machine_fault(error: BaseException) -> str | None:
    """What the machine failed at, in a few words, when ``error`` (or an error it was raised
    from or while handling) is an :class:`OSError` of :data:`MACHINE_ERRNOS`; else None.

    Example:
        >>> machine_fault(OSError(errno.ENOSPC, "No space left on device", "ws/c.keras"))
        'no space left on device (ws/c.keras)'
        >>> try:
        ...     try:
        ...         raise OSError(errno.EROFS, "Read-only file system")
        ...     except OSError as cause:
        ...         raise ValueError("saving failed") from cause
        ... except ValueError as wrapped:
        ...     machine_fault(wrapped)
        'read-only file system'
        >>> machine_fault(ValueError("bad parameter")) is None
        True
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in MACHINE_ERRNOS:
            what = os.strerror(current.errno).lower()
            return f"{what} ({current.filename})" if current.filename else what
        current = current.__cause__ or current.__context__
    return None

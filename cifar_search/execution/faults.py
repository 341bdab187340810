"""Which failures are the machine's, not the trial's.

A trial that cannot write its checkpoint because the disk is full, the file system went
read-only or its folder is no longer writable did nothing wrong: failing it would burn its
point for good (the sweep would go on to the next and a rerun would have nothing to redo).
Such a failure stops the sweep instead, with the trial interrupted, so that the same command
run again once the machine is fixed finishes it. A store that fails under the coordinator (its
database full, read-only or gone) is one line naming the store, not the library's traceback.
"""

from __future__ import annotations

import errno
import os

__all__ = ["MACHINE_ERRNOS", "STORE_FAULTS", "machine_fault", "store_fault"]

#: The errors of the machine: out of space or quota, a read-only file system, permission
#: lost, an input/output error of the device.
MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES,
                            errno.EPERM, errno.EIO})


#: What a store's error says (lower case), and what it means for the user.
STORE_FAULTS = (
    ("database or disk is full", "its disk is full"),
    ("disk i/o error", "an input/output error of its disk"),
    ("readonly database", "its file is read-only"),
    ("unable to open database file", "its file cannot be opened"),
    ("server closed the connection", "the database server closed the connection"),
    ("connection refused", "the database server refuses connections"),
    ("could not connect", "the database server cannot be reached"),
    ("terminating connection", "the database server ended the connection"),
)


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the errors it was raised from or while handling, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def store_fault(error: BaseException) -> str | None:
    """Which store failed and how, in a few words, when ``error`` comes from the Optuna or
    MLflow store's database (full, read-only, unreachable: :data:`STORE_FAULTS`); else None.

    Example:
        >>> import sqlite3
        >>> from optuna.exceptions import StorageInternalError
        >>> try:
        ...     try:
        ...         raise sqlite3.OperationalError("database or disk is full")
        ...     except sqlite3.OperationalError as cause:
        ...         raise StorageInternalError("An exception is raised during the commit.")
        ... except StorageInternalError as failed:
        ...     store_fault(failed)
        'the Optuna store: its disk is full'
        >>> store_fault(ValueError("database or disk is full")) is None
        True
    """
    chain = _chain(error)
    modules = [type(e).__module__.split(".")[0] for e in chain]
    store = ("Optuna store" if "optuna" in modules else "MLflow store" if "mlflow" in modules
             else "store" if {"sqlite3", "sqlalchemy", "psycopg", "psycopg2"} & set(modules)
             else None)
    if store is None:
        return None
    text = " ".join(str(e) for e in chain).lower()
    return next((f"the {store}: {what}" for needle, what in STORE_FAULTS if needle in text),
                None)


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
    for current in _chain(error):
        if isinstance(current, OSError) and current.errno in MACHINE_ERRNOS:
            what = os.strerror(current.errno).lower()
            return f"{what} ({current.filename})" if current.filename else what
    return None

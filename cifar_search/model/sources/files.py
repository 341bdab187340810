"""Regular files: what a source and each file read from it must be before it is opened.

Only regular files and folders are read. Symbolic links are followed and what they point at is
checked; a device, FIFO or socket is never opened, and a file is opened without blocking and
checked again (in case it was swapped meanwhile). Every refusal is one
:class:`~cifar_search.errors.DataError` line naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from stat import S_ISBLK, S_ISCHR, S_ISDIR, S_ISFIFO, S_ISREG, S_ISSOCK
from typing import BinaryIO

from cifar_search import errors
from cifar_search.errors import DataError
from cifar_search.model.sources.base import ACCEPTED, ENV_VAR, amount, reason


def check_source(source: Path) -> None:
    """Raise DataError unless the source is an existing regular file or folder (links followed)."""
    try:
        status = os.stat(source)
    except ValueError:  # a NUL character
        raise DataError(f"data source {errors.shown(str(source))}: a path cannot hold a NUL "
                        f"character; give the path of {ACCEPTED}") from None
    except (FileNotFoundError, NotADirectoryError):
        if os.path.islink(source):
            raise DataError(f"{source}: a broken symbolic link (to {os.readlink(source)}); "
                            f"give --data PATH or {ENV_VAR} pointing at {ACCEPTED}") from None
        raise DataError(f"{source}: no such file or folder; give --data PATH or {ENV_VAR} "
                        f"pointing at {ACCEPTED}") from None
    except OSError as error:
        raise DataError(f"{source}: cannot be read ({reason(error)})") from None
    if not (S_ISREG(status.st_mode) or S_ISDIR(status.st_mode)):
        raise DataError(f"{source}: {_kind(status.st_mode)}{_link_target(source)}, not a file "
                        f"or folder; accepted: {ACCEPTED}")


def check_regular(path: Path, shown: str, max_bytes: int | None) -> os.stat_result:
    """The status of a regular file (links followed) of at most ``max_bytes`` (None: any
    size), or DataError; never opens it."""
    try:
        status = os.stat(path)
    except OSError as error:
        if os.path.islink(path) and not os.path.exists(path):
            raise DataError(f"{shown}: a broken symbolic link (to {os.readlink(path)}); data "
                            "files must be regular files") from None
        raise DataError(f"{shown}: cannot be read ({reason(error)})") from None
    _check_status(status, path, shown, max_bytes)
    return status


def open_regular(path: Path, shown: str, max_bytes: int | None) -> BinaryIO:
    """Open a regular file for reading: checked before opening, opened without blocking (in
    case it was swapped for a FIFO meanwhile) and checked again. An archive has no
    ``max_bytes``: what it expands to is bounded instead."""
    check_regular(path, shown, max_bytes)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                             | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise DataError(f"{shown}: cannot be read ({reason(error)})") from None
    # returned to the caller, who closes it
    handle = open(descriptor, "rb")
    try:
        _check_status(os.fstat(descriptor), path, shown, max_bytes)
    except BaseException:
        handle.close()
        raise
    return handle


def read_regular(path: Path, shown: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, or a DataError naming it."""
    with open_regular(path, shown, max_bytes) as handle:
        try:
            data = handle.read(max_bytes + 1)
        except OSError as error:
            raise DataError(f"{shown}: cannot be read ({reason(error)})") from None
    if len(data) > max_bytes:  # it grew after it was checked
        raise DataError(f"{shown}: more than {amount(max_bytes)}; a data file may be at "
                        f"most {amount(max_bytes)}")
    return data


def _check_status(status: os.stat_result, path: Path, shown: str, max_bytes: int | None
                  ) -> None:
    """DataError unless ``status`` is a regular file (of at most ``max_bytes`` if given)."""
    if not S_ISREG(status.st_mode):
        raise DataError(f"{shown}: {_kind(status.st_mode)}{_link_target(path)}, not a regular "
                        "file; data files must be regular files")
    if max_bytes is not None and status.st_size > max_bytes:
        raise DataError(f"{shown}: {amount(status.st_size)}; a data file may be at most "
                        f"{amount(max_bytes)} (a CIFAR-10 batch is about 30 MiB)")


def _kind(mode: int) -> str:
    """What a file that is neither regular nor a folder is, in words."""
    for test, kind in ((S_ISCHR, "a character device"), (S_ISBLK, "a block device"),
                       (S_ISFIFO, "a FIFO (named pipe)"), (S_ISSOCK, "a socket"),
                       (S_ISDIR, "a folder")):
        if test(mode):
            return kind
    return "a special file"


def _link_target(path: Path) -> str:
    """`` (a link to TARGET)`` if ``path`` is a symbolic link, else ""."""
    return f" (a link to {os.path.realpath(path)})" if os.path.islink(path) else ""

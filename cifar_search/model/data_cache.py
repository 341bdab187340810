"""The decoded-data folders as a cache: checked before use, held while used, kept under a cap.

:func:`cifar_search.model.data.prepare` decodes a source once into a folder of a cache root
(the user cache's ``data/`` folder, shared by every workspace: :func:`shared_root`; or
``--checkpoints DIR/.data``). This module is what keeps that root sound:

* **checked before use**: each folder records its arrays' sizes and modification times in
  ``files.json`` when it is written; :func:`verdict` compares them with the files found, and
  a folder whose files were cut short, removed or rewritten is not used (the caller then
  compares the arrays with the recorded content digest, or decodes them again);
* **held while used**: a process that uses a folder holds a shared lock on its
  ``.in-use.lock`` for as long as it lives (:func:`hold`), so that no other process evicts
  or clears it meanwhile;
* **kept under a cap**: past ``$CIFAR_SEARCH_DATA_CACHE_MAX`` bytes (:data:`DEFAULT_CAP` when
  unset) the least recently used folders that no process holds are removed (:func:`evict`);
  ``python -m cifar_search cache list`` / ``cache clear`` show and empty the shared root.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cifar_search.errors import ConfigError
from cifar_search.user_cache import data_folder

#: The environment variable that caps the decoded data kept, in bytes (suffixes K, M, G, T).
CAP_ENV = "CIFAR_SEARCH_DATA_CACHE_MAX"
#: The cap when ``$CIFAR_SEARCH_DATA_CACHE_MAX`` is unset: 20 GB (about 100 CIFAR-10 copies).
DEFAULT_CAP = 20 * 10**9
#: Each folder's record of its arrays' sizes and modification times.
FILES_RECORD = "files.json"
#: Each folder's lock: shared while a process uses the folder, exclusive to remove it.
USE_LOCK = ".in-use.lock"
#: How many folders one process holds at most (the oldest is let go past it): a sweep uses
#: one; a long-lived process preparing many (a test session) does not run out of files.
MAX_HELD = 32

_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_HELD: dict[Path, IO[str]] = {}


class Verdict(enum.Enum):
    """What to do with a decoded-data folder found in the cache."""

    USE = "use"  # its arrays are as recorded
    REHASH = "rehash"  # same sizes, other times (copied, or nothing recorded): compare digests
    BAD = "bad"  # an array is missing or of another size: decode again


@dataclass(frozen=True)
class Entry:
    """One decoded-data folder of a cache root, as ``cache list`` shows it."""

    path: Path
    source: str
    size: int
    last_used: float  # seconds since the epoch


def shared_root(environ: Mapping[str, str] = os.environ) -> Path:
    """The cache root every workspace shares: ``data/`` in the user cache.

    Example:
        >>> shared_root({"CIFAR_SEARCH_CACHE": "/c"}).as_posix()
        '/c/data'
    """
    return data_folder(environ)


def writable(root: Path, fallback: Path | None) -> Path:
    """``root``, made if missing; ``fallback`` (a workspace's own folder) where it cannot be
    made or written (a read-only home), so that a sweep runs there as before the shared
    cache."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        if os.access(root, os.W_OK | os.X_OK):
            return root
    except OSError:
        pass
    return fallback if fallback is not None else root


def cap_bytes(environ: Mapping[str, str] = os.environ) -> int:
    """The most bytes of decoded data kept: ``$CIFAR_SEARCH_DATA_CACHE_MAX`` or 20 GB.

    Raises:
        ConfigError: the variable is not a whole number of bytes (with an optional K, M, G or
            T suffix, powers of 1000).

    Example:
        >>> cap_bytes({"CIFAR_SEARCH_DATA_CACHE_MAX": "500M"})
        500000000
    """
    text = environ.get(CAP_ENV, "").strip()
    if not text:
        return DEFAULT_CAP
    match = re.fullmatch(r"(\d+)\s*([KMGT]?)B?", text.upper())
    if match is None:
        raise ConfigError(CAP_ENV, f"{text!r} is not a size; give bytes, e.g. 20000000000 or "
                          "20G (K, M, G, T: powers of 1000)")
    return int(match[1]) * _UNITS[match[2]]


def verdict(recorded: Mapping[str, object] | None,
            found: Mapping[str, tuple[int, int] | None]) -> tuple[Verdict, str]:
    """Whether a folder's arrays are as written: ``recorded`` (its ``files.json``: name →
    ``[bytes, mtime_ns]``, None when it has none) against ``found`` (name → ``(bytes,
    mtime_ns)``, None for a missing file). Returns the verdict and, unless USE, why.

    Example:
        >>> verdict({"x.npy": [10, 5]}, {"x.npy": (10, 5)})
        (<Verdict.USE: 'use'>, '')
        >>> verdict({"x.npy": [10, 5]}, {"x.npy": (7, 9)})[0]
        <Verdict.BAD: 'bad'>
    """
    for name, stats in found.items():
        if stats is None:
            return Verdict.BAD, f"{name} is missing"
    if not isinstance(recorded, Mapping):
        return Verdict.REHASH, f"no valid {FILES_RECORD}"
    changed = ""
    for name, stats in found.items():
        wanted = recorded.get(name)
        if not (isinstance(wanted, list) and len(wanted) == 2):
            return Verdict.REHASH, f"{name} is not recorded"
        assert stats is not None  # missing files returned above
        if stats[0] != wanted[0]:
            return Verdict.BAD, f"{name} is {stats[0]} bytes, {wanted[0]} when written"
        if stats[1] != wanted[1]:
            changed = changed or f"{name} was modified since it was written"
    return (Verdict.REHASH, changed) if changed else (Verdict.USE, "")


def file_stats(folder: Path, names: Iterable[str]) -> dict[str, tuple[int, int] | None]:
    """``(bytes, mtime_ns)`` of each file ``names`` of ``folder`` (None where missing)."""
    found: dict[str, tuple[int, int] | None] = {}
    for name in names:
        try:
            stat = (folder / name).stat()
            found[name] = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            found[name] = None
    return found


def recorded_stats(folder: Path) -> dict | None:
    """A folder's ``files.json`` (None when missing or unreadable)."""
    try:
        record = json.loads((folder / FILES_RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def record_stats(folder: Path, found: Mapping[str, tuple[int, int] | None]) -> None:
    """Write ``files.json`` (atomically; left as it is where the folder is read-only)."""
    scratch = folder / f".{FILES_RECORD}.{os.getpid()}"
    try:
        scratch.write_text(json.dumps({name: list(stats) for name, stats in found.items()
                                       if stats is not None}, indent=2) + "\n")
        os.replace(scratch, folder / FILES_RECORD)
    except OSError:
        scratch.unlink(missing_ok=True)


def hold(folder: Path) -> bool:
    """Hold ``folder`` for this process's life (a shared lock on its ``.in-use.lock``) and mark
    it used now. False when the folder went away meanwhile (evicted: prepare it again). A
    folder whose lock cannot be made (read-only, no locks on the file system) is used
    unheld."""
    if folder in _HELD and _same_file(_HELD[folder], folder / USE_LOCK):
        _touch(folder)
        return True
    try:
        handle = open(folder / USE_LOCK, "a")
    except OSError:
        return (folder / "meta.json").is_file()
    try:
        fcntl.flock(handle, fcntl.LOCK_SH)  # waits only while a remover holds it
    except OSError:
        handle.close()
        return (folder / "meta.json").is_file()
    if not _same_file(handle, folder / USE_LOCK):  # removed while this process waited
        handle.close()
        return False
    _keep(folder, handle)
    _touch(folder)
    return True


def release() -> None:
    """Let go every folder this process holds (a long-lived process done with its data)."""
    while _HELD:
        _HELD.popitem()[1].close()


def _keep(folder: Path, handle: IO[str]) -> None:
    """Remember a held folder's lock; let go the oldest past :data:`MAX_HELD`."""
    old = _HELD.pop(folder, None)
    if old is not None:
        old.close()
    _HELD[folder] = handle
    while len(_HELD) > MAX_HELD:
        _HELD.pop(next(iter(_HELD))).close()


def _same_file(handle: IO[str], path: Path) -> bool:
    """Whether an open lock file is still the one at ``path``."""
    try:
        return os.path.samestat(os.fstat(handle.fileno()), path.stat())
    except OSError:
        return False


def _touch(folder: Path) -> None:
    """Mark a folder used now (its modification time orders eviction)."""
    with contextlib.suppress(OSError):
        os.utime(folder)


def entries(root: Path) -> list[Entry]:
    """The complete decoded-data folders of a cache root, least recently used first."""
    found = []
    try:
        folders = [p for p in root.iterdir() if not p.name.startswith(".")]
    except OSError:
        return []
    for folder in folders:
        try:
            meta = json.loads((folder / "meta.json").read_text())
            size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
            used = folder.stat().st_mtime
        except (OSError, ValueError):
            continue  # not a complete folder (or being removed)
        source = str(meta.get("source", "?")) if isinstance(meta, dict) else "?"
        found.append(Entry(folder, source, size, used))
    return sorted(found, key=lambda entry: (entry.last_used, entry.path.name))


def to_evict(found: list[Entry], cap: int, keep: Path | None = None) -> list[Entry]:
    """Which folders go, least recently used first, for the rest to fit in ``cap`` bytes
    (``keep``, the folder just written, stays whatever its size).

    Example:
        >>> old, new = Entry(Path("a"), "", 6, 1.0), Entry(Path("b"), "", 6, 2.0)
        >>> [e.path.name for e in to_evict([old, new], 10)]
        ['a']
    """
    total = sum(entry.size for entry in found)
    going = []
    for entry in sorted(found, key=lambda entry: entry.last_used):
        if total <= cap:
            break
        if entry.path != keep:
            going.append(entry)
            total -= entry.size
    return going


def remove(folder: Path) -> bool:
    """Remove a folder that no process holds (True), else leave it (False)."""
    try:
        handle = open(folder / USE_LOCK, "a")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held (or no locks here: never removed under a user)
            return False
        return set_aside(folder)


def set_aside(folder: Path) -> bool:
    """Rename a folder out of the way (atomically: a process that maps its arrays keeps them),
    then delete it; False when it cannot be renamed."""
    aside = folder.with_name(f".{folder.name}.{os.getpid()}.{time.monotonic_ns()}.partial")
    try:
        os.rename(folder, aside)
    except OSError:
        return False
    shutil.rmtree(aside, ignore_errors=True)
    return True


def evict(root: Path, keep: Path | None = None,
          environ: Mapping[str, str] = os.environ) -> list[Entry]:
    """Remove the least recently used folders of ``root`` that no process holds until the rest
    fit in :func:`cap_bytes`; returns those removed."""
    return [entry for entry in to_evict(entries(root), cap_bytes(environ), keep)
            if remove(entry.path)]


def clear(root: Path) -> tuple[list[Entry], list[Entry]]:
    """Remove every folder of ``root`` that no process holds: (removed, kept in use)."""
    removed: list[Entry] = []
    kept: list[Entry] = []
    for entry in entries(root):
        (removed if remove(entry.path) else kept).append(entry)
    return removed, kept


def size_text(size: int) -> str:
    """Bytes as ``184.3 MB`` (powers of 1000).

    Example:
        >>> size_text(184_320_000), size_text(512)
        ('184.3 MB', '512 B')
    """
    for unit, factor in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"


def listing(root: Path, found: list[Entry], cap: int) -> list[str]:
    """The lines ``cache list`` prints: each folder's name, size, last use (UTC) and source,
    most recently used first, then the total against the cap."""
    if not found:
        return [f"no decoded data in {root} (cap {size_text(cap)}, {CAP_ENV})"]
    lines = [f"decoded data in {root} (cap {size_text(cap)}, {CAP_ENV}):"]
    for entry in sorted(found, key=lambda entry: -entry.last_used):
        used = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(entry.last_used))
        lines.append(f"  {entry.path.name}  {size_text(entry.size)}  last used {used}  "
                     f"{entry.source}")
    total = sum(entry.size for entry in found)
    lines.append(f"{len(found)} folder(s), {size_text(total)}")
    return lines


def cleared(root: Path, removed: list[Entry], kept: list[Entry]) -> list[str]:
    """The lines ``cache clear`` prints."""
    lines = [f"removed {len(removed)} folder(s), {size_text(sum(e.size for e in removed))}, "
             f"from {root}"]
    lines += [f"kept {entry.path.name}: in use by a running process" for entry in kept]
    return lines

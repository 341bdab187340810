"""Whether a worker that died was ended by the kernel's out-of-memory killer.

A worker killed by the OOM killer dies by SIGKILL, as one ended by ``kill -9`` does; the exit
code alone cannot tell the two apart. Linux counts its OOM kills, though: per memory cgroup
(cgroup v1 ``memory.oom_control``, cgroup v2 ``memory.events``: a line ``oom_kill N``) and for
the whole system (``/proc/vmstat``, the same line). When a worker starts a trial the counters
that apply to it are noted (:func:`count`); when it dies by SIGKILL, a counter that rose
meanwhile says the OOM killer ended it (:func:`worker_death`). The cgroup's counter is
preferred: it counts only the kills among the processes of the worker's cgroup; the system's
is the fallback where the cgroup's cannot be read (another process's kill meanwhile would count
too, and the reason says which count it went by).

Parsing and the decision are pure functions of the files' text; :func:`count` and
:func:`recount` are the only readers. Where there are no such files (not Linux, no access),
every count is None and a death is reported by its exit code, as before.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

__all__ = ["Death", "OomCounts", "count", "memory_cgroup", "memory_limit", "oom_kills",
           "recount", "worker_death"]

#: Where the cgroup v1 memory controller and the cgroup v2 hierarchy are mounted, in the order
#: tried (systemd's hybrid layout mounts v2 at ``unified``).
V1_ROOTS = (Path("/sys/fs/cgroup/memory"),)
V2_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))

#: The processes' files (``<pid>/cgroup``: a process's cgroups) and the system-wide counters.
PROC = Path("/proc")
VMSTAT = PROC / "vmstat"

#: A cgroup v1 memory limit at or above this is "no limit" (the kernel writes the largest page
#: count it has, about 2**63 bytes).
NO_LIMIT_BYTES = 1 << 62

#: What the user can do about it, said after every out-of-memory reason.
ADVICE = "run fewer workers, a smaller batch_size or a smaller model"


@dataclass(frozen=True)
class Death:
    """Why a worker died: the reason its trial fails or is interrupted with, and whether it
    was the OOM killer (the trial's own demand on memory: retrying it would be killed again).

    Example:
        >>> Death("worker process died (exit code -9)").out_of_memory
        False
    """

    reason: str
    out_of_memory: bool = False


@dataclass(frozen=True)
class OomCounts:
    """The OOM kills counted when a worker started a trial, and where to count them again.

    Attributes:
        cgroup: the kills in the worker's memory cgroup (None: not readable).
        system: the kills in the whole system (``/proc/vmstat``; None: not readable).
        cgroup_file: the cgroup's counter file (``memory.oom_control`` or ``memory.events``).
        limit_bytes: the memory limit of the worker's cgroup, the smallest of it and its
            parents' (None: no limit, or not readable).

    Example:
        >>> OomCounts(cgroup=0, system=3).cgroup
        0
    """

    cgroup: int | None = None
    system: int | None = None
    cgroup_file: Path | None = None
    limit_bytes: int | None = None


# -- parsing (pure) -----------------------------------------------------------------------


def oom_kills(text: str) -> int | None:
    """The ``oom_kill N`` line of a v1 ``memory.oom_control``, a v2 ``memory.events`` or
    ``/proc/vmstat``; None where there is none (a kernel older than 4.13).

    Example:
        >>> oom_kills("oom_kill_disable 0\\nunder_oom 0\\noom_kill 2\\n")
        2
        >>> oom_kills("low 0\\nhigh 0\\nmax 4\\noom 1\\noom_kill 1\\n")
        1
        >>> oom_kills("nr_free_pages 1000\\n") is None
        True
    """
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return None


def memory_cgroup(text: str) -> tuple[int, str] | None:
    """(cgroup version, path) of a process's memory cgroup from its ``/proc/<pid>/cgroup``:
    the v1 line whose controllers include ``memory``, else the v2 line ``0::<path>``; None
    where there is neither.

    Example:
        >>> memory_cgroup("5:devices:/\\n4:memory:/jobs/7\\n0::/\\n")
        (1, '/jobs/7')
        >>> memory_cgroup("0::/user.slice/session-3.scope\\n")
        (2, '/user.slice/session-3.scope')
        >>> memory_cgroup("") is None
        True
    """
    unified = None
    for line in text.splitlines():
        number, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if "memory" in controllers.split(","):
            return 1, path
        if number == "0" and controllers == "":
            unified = (2, path)
    return unified


def memory_limit(text: str) -> int | None:
    """Bytes of a v1 ``memory.limit_in_bytes`` or a v2 ``memory.max``; None for no limit.

    Example:
        >>> memory_limit("2147483648\\n")
        2147483648
        >>> memory_limit("9223372036854771712\\n") is None
        True
        >>> memory_limit("max\\n") is None
        True
    """
    value = text.strip()
    if not value.isdigit() or int(value) >= NO_LIMIT_BYTES:
        return None
    return int(value)


def _size(limit: int) -> str:
    """``2.0 GiB``, ``64 MiB``."""
    if limit >= 1 << 30:
        return f"{limit / (1 << 30):.1f} GiB"
    return f"{limit / (1 << 20):.0f} MiB"


# -- the decision (pure) ------------------------------------------------------------------


def _rose(before: int | None, after: int | None) -> bool | None:
    """Whether a counter rose; None where it was not read both times."""
    return None if before is None or after is None else after > before


def worker_death(exitcode: int | None, before: OomCounts | None,
                 after: OomCounts | None) -> Death:
    """Why a worker died of ``exitcode``, given the counts at its trial's start and now:
    out of memory when it was SIGKILLed and its cgroup's OOM kills rose (the system's where
    the cgroup's were not read), else its exit code.

    Example:
        >>> worker_death(-9, OomCounts(cgroup=0, limit_bytes=1 << 31),
        ...              OomCounts(cgroup=1)).reason  # doctest: +NORMALIZE_WHITESPACE
        "out of memory: the kernel's OOM killer ended the worker (memory limit 2.0 GiB of its
        cgroup; run fewer workers, a smaller batch_size or a smaller model)"
        >>> worker_death(-9, OomCounts(cgroup=0), OomCounts(cgroup=0))
        Death(reason='worker process died (exit code -9)', out_of_memory=False)
        >>> worker_death(1, OomCounts(cgroup=0), OomCounts(cgroup=1)).out_of_memory
        False
    """
    plain = Death(f"worker process died (exit code {exitcode})")
    if exitcode != -signal.SIGKILL or before is None or after is None:
        return plain
    by_cgroup = _rose(before.cgroup, after.cgroup)
    if by_cgroup is not None:
        if not by_cgroup:
            return plain
        where = (f"memory limit {_size(before.limit_bytes)} of its cgroup"
                 if before.limit_bytes is not None
                 else "its cgroup has no memory limit: the machine's memory ran out")
    elif _rose(before.system, after.system):
        where = "the system's OOM-kill count in /proc/vmstat rose while it trained"
    else:
        return plain
    return Death(f"out of memory: the kernel's OOM killer ended the worker ({where}; "
                 f"{ADVICE})", out_of_memory=True)


# -- reading (the only I/O) ---------------------------------------------------------------


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _cgroup_dir(version: int, path: str) -> Path | None:
    """The folder of cgroup ``path``; the mount's root where the path is not found under it
    (a container whose cgroup is the mount's root while /proc shows the host's path)."""
    relative = PurePosixPath(path).relative_to("/") if path.startswith("/") else path
    counter = "memory.oom_control" if version == 1 else "memory.events"
    for root in V1_ROOTS if version == 1 else V2_ROOTS:
        for folder in (root / relative, root):
            if (folder / counter).is_file():
                return folder
    return None


def _limit(folder: Path, version: int) -> int | None:
    """The smallest memory limit of ``folder`` and its parents up to the mount's root."""
    name = "memory.limit_in_bytes" if version == 1 else "memory.max"
    limits = []
    for current in (folder, *folder.parents):
        text = _read(current / name)
        if text is None:
            if not (current / "cgroup.procs").exists():
                break  # above the mount's root
            continue  # a v2 root has no memory.max
        limit = memory_limit(text)
        if limit is not None:
            limits.append(limit)
    return min(limits, default=None)


def count(pid: int) -> OomCounts:
    """The OOM kills that apply to process ``pid`` now (its memory cgroup's and the
    system's), with its cgroup's memory limit; None counts where they cannot be read.

    Example:
        >>> import os
        >>> isinstance(count(os.getpid()), OomCounts)
        True
    """
    system = oom_kills(_read(VMSTAT) or "")
    found = memory_cgroup(_read(PROC / str(pid) / "cgroup") or "")
    folder = _cgroup_dir(*found) if found else None
    if found is None or folder is None:
        return OomCounts(system=system)
    version = found[0]
    counter = folder / ("memory.oom_control" if version == 1 else "memory.events")
    return OomCounts(oom_kills(_read(counter) or ""), system, counter, _limit(folder, version))


def recount(before: OomCounts) -> OomCounts:
    """The same counters read again (the process may be gone: its cgroup's file is kept).

    Example:
        >>> recount(OomCounts()).cgroup is None
        True
    """
    cgroup = (oom_kills(_read(before.cgroup_file) or "") if before.cgroup_file is not None
              else None)
    return replace(before, cgroup=cgroup, system=oom_kills(_read(VMSTAT) or ""))

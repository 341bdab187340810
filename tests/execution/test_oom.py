"""Whether a dead worker was ended by the OOM killer: the counters' files parsed, the decision
table, and the readers on a made-up /proc and /sys (milliseconds)."""

import signal
import subprocess
import sys

import pytest

from cifar_search.execution import oom
from cifar_search.execution.oom import OomCounts, worker_death
from tests.helpers import memory_cgroup

V1_OOM_CONTROL = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"
V2_EVENTS = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n"
VMSTAT = "nr_free_pages 5473\npgfault 918\noom_kill 7\nnr_unstable 0\n"


@pytest.mark.parametrize("text, expected", [
    (V1_OOM_CONTROL, 3),
    (V2_EVENTS, 2),
    (VMSTAT, 7),
    ("oom_kill_disable 0\nunder_oom 0\n", None),  # a kernel older than 4.13
    ("oom_kill x\n", None),
    ("", None),
])
def test_oom_kills_of_each_counters_file(text, expected):
    assert oom.oom_kills(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("9:name=systemd:/\n4:memory:/process_api/b4\n0::/\n", (1, "/process_api/b4")),
    ("6:cpu,cpuacct:/\n3:memory,hugetlb:/docker/ab\n", (1, "/docker/ab")),  # joint controllers
    ("0::/user.slice/user-0.slice/session-3.scope\n",
     (2, "/user.slice/user-0.slice/session-3.scope")),
    ("1:name=systemd:/x\n0::/y\n", (2, "/y")),  # hybrid without a v1 memory controller
    ("4:memory:/a\n0::/b\n", (1, "/a")),  # the v1 memory controller wins
    ("", None),
])
def test_memory_cgroup_of_both_formats(text, expected):
    assert oom.memory_cgroup(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("2147483648\n", 2 << 30),
    ("9223372036854771712\n", None),  # v1: no limit
    ("max\n", None),  # v2: no limit
    ("", None),
])
def test_memory_limit(text, expected):
    assert oom.memory_limit(text) == expected


ADVICE = "run fewer workers, a smaller batch_size or a smaller model"
PLAIN = "worker process died (exit code {})"


@pytest.mark.parametrize("exitcode, before, after, expected", [
    # SIGKILL and the cgroup's count rose: out of memory, with its limit
    (-9, OomCounts(0, 5, limit_bytes=2 << 30), OomCounts(1, 6),
     "out of memory: the kernel's OOM killer ended the worker (memory limit 2.0 GiB of its "
     f"cgroup; {ADVICE})"),
    (-9, OomCounts(0, 5, limit_bytes=64 << 20), OomCounts(1, 5),
     "out of memory: the kernel's OOM killer ended the worker (memory limit 64 MiB of its "
     f"cgroup; {ADVICE})"),
    (-9, OomCounts(0, 5), OomCounts(2, 7),
     "out of memory: the kernel's OOM killer ended the worker (its cgroup has no memory "
     f"limit: the machine's memory ran out; {ADVICE})"),
    # the cgroup's count is preferred: it did not rise, so another process's kill (the
    # system's count) does not make this death an OOM
    (-9, OomCounts(0, 5), OomCounts(0, 6), PLAIN.format(-9)),
    # no cgroup count: the system's is the fallback, and the reason says so
    (-9, OomCounts(None, 5), OomCounts(None, 6),
     "out of memory: the kernel's OOM killer ended the worker (the system's OOM-kill count "
     f"in /proc/vmstat rose while it trained; {ADVICE})"),
    (-9, OomCounts(None, 5), OomCounts(None, 5), PLAIN.format(-9)),
    (-9, OomCounts(), OomCounts(), PLAIN.format(-9)),  # nothing readable (not Linux)
    (-9, None, None, PLAIN.format(-9)),  # no task: nothing was counted
    # SIGKILL without a rise: kill -9 by someone
    (-9, OomCounts(3, 9), OomCounts(3, 9), PLAIN.format(-9)),
    # other exit codes are never the OOM killer's, whatever rose
    (-11, OomCounts(0, 0), OomCounts(1, 1), PLAIN.format(-11)),
    (-15, OomCounts(0, 0), OomCounts(1, 1), PLAIN.format(-15)),
    (1, OomCounts(0, 0), OomCounts(1, 1), PLAIN.format(1)),
    (None, OomCounts(0, 0), OomCounts(1, 1), PLAIN.format(None)),
])
def test_the_decision_table(exitcode, before, after, expected):
    death = worker_death(exitcode, before, after)
    assert death.reason == expected
    assert death.out_of_memory == expected.startswith("out of memory")


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A made-up /proc and /sys/fs/cgroup under ``tmp_path``."""
    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "42").mkdir(parents=True)
    (proc / "vmstat").write_text(VMSTAT)
    monkeypatch.setattr(oom, "PROC", proc)
    monkeypatch.setattr(oom, "VMSTAT", proc / "vmstat")
    monkeypatch.setattr(oom, "V1_ROOTS", (cgroup / "memory",))
    monkeypatch.setattr(oom, "V2_ROOTS", (cgroup / "unified", cgroup))
    return proc, cgroup


def group(folder, **files):
    """A cgroup folder with ``files`` (dots written as ``__``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cgroup.procs").write_text("")
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(text)
    return folder


def test_count_and_recount_under_cgroup_v1(machine):
    proc, cgroup = machine
    (proc / "42" / "cgroup").write_text("5:devices:/\n4:memory:/jobs/7\n0::/\n")
    group(cgroup / "memory", memory__oom_control=V1_OOM_CONTROL,
          memory__limit_in_bytes="9223372036854771712\n")
    group(cgroup / "memory" / "jobs", memory__oom_control=V1_OOM_CONTROL,
          memory__limit_in_bytes=f"{4 << 30}\n")
    job = group(cgroup / "memory" / "jobs" / "7", memory__oom_control=V1_OOM_CONTROL,
                memory__limit_in_bytes=f"{8 << 30}\n")
    before = oom.count(42)
    # the parent's smaller limit is the one that holds
    assert before == OomCounts(3, 7, job / "memory.oom_control", 4 << 30)
    (job / "memory.oom_control").write_text(V1_OOM_CONTROL.replace("3", "4"))
    (proc / "42" / "cgroup").unlink()  # the process is gone: its cgroup's file is read again
    after = oom.recount(before)
    assert (after.cgroup, after.system) == (4, 7)
    assert worker_death(-9, before, after).reason.endswith(
        f"(memory limit 4.0 GiB of its cgroup; {ADVICE})")


def test_count_under_cgroup_v2_in_either_mount(machine):
    proc, cgroup = machine
    (proc / "42" / "cgroup").write_text("0::/user.slice/job\n")
    group(cgroup / "unified")  # the hybrid layout's mount, without this cgroup
    group(cgroup)
    job = group(cgroup / "user.slice" / "job", memory__events=V2_EVENTS,
                memory__max=f"{1 << 30}\n")
    group(cgroup / "user.slice", memory__events=V2_EVENTS, memory__max="max\n")
    assert oom.count(42) == OomCounts(2, 7, job / "memory.events", 1 << 30)


def test_count_where_nothing_can_be_read(machine):
    proc, _ = machine
    (proc / "vmstat").unlink()
    assert oom.count(42) == OomCounts()  # no /proc/42/cgroup, no vmstat
    (proc / "42" / "cgroup").write_text("4:memory:/gone\n")
    assert oom.recount(oom.count(42)) == OomCounts()


#: A child that waits for a line on stdin (while it is put in the cgroup), then allocates
#: (and writes) 8 MiB at a time until it is killed.
HOG = """
import sys
sys.stdin.readline()
hog = []
while True:
    hog.append(b"\\1" * (8 << 20))
"""


def child_in(cgroup, code):
    """A Python child running ``code``, in ``cgroup`` before it reads its first line."""
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    (cgroup / "cgroup.procs").write_text(str(child.pid))
    return child


@pytest.mark.processes
def test_a_child_killed_by_its_cgroups_memory_limit_is_reported_as_out_of_memory():
    """For real: a child in a 64 MiB cgroup allocates until the kernel kills it; one killed
    with kill -9 in the same cgroup is not out of memory."""
    with memory_cgroup(64 << 20) as cgroup:
        child = child_in(cgroup, HOG)
        before = oom.count(child.pid)
        assert before.cgroup_file == cgroup / "memory.oom_control"
        assert before.limit_bytes == 64 << 20
        child.communicate(b"go\n", timeout=60)
        assert child.returncode == -signal.SIGKILL
        death = worker_death(child.returncode, before, oom.recount(before))
        assert death.out_of_memory
        assert death.reason == ("out of memory: the kernel's OOM killer ended the worker "
                                f"(memory limit 64 MiB of its cgroup; {ADVICE})")

        killed = child_in(cgroup, "import sys; sys.stdin.readline()")
        before = oom.count(killed.pid)
        killed.kill()
        killed.wait(timeout=60)
        death = worker_death(killed.returncode, before, oom.recount(before))
        assert death.reason == PLAIN.format(-9) and not death.out_of_memory

"""Several machines' dealings carried out on a real study (a SQLite file stands in for the
shared database: claims, releases and the election go through the same Optuna API)."""

import contextlib
import shutil
import threading
import time

import pytest

from cifar_search import Budget, Objective, Sweep
from cifar_search.config.space import Space
from cifar_search.engines.optuna import machines, peers, recovery
from cifar_search.engines.optuna.coordinator import open_recorder
from cifar_search.engines.optuna.machines import Liveness, Machine
from cifar_search.engines.optuna.scheduler import Plan
from cifar_search.engines.optuna.study import StudyStore, create_optuna_store
from cifar_search.search.states import StudyAttr, TrialOutcome
from cifar_search.tracking.store import create_mlflow_store
from cifar_search.cli import main
from cifar_search import load_sweep
from cifar_search.engines.optuna.space import suggest
from cifar_search.errors import SweepBusyError
from cifar_search.workspace import Workspace


def sweep(trials=2):
    return Sweep(name="peers", space=Space.from_dict({"parameters": {"dropout_rate": {
        "type": "float", "low": 0.0, "high": 0.5}}}), model="dropout", budget=Budget(2, 4),
        objective=Objective("val_loss"), sampler="random", trials=trials)


@pytest.fixture
def store(tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    create_optuna_store(workspace)
    return StudyStore(sweep(), workspace)


def machine(store, name="a", salt=1):
    return peers.SeveralMachines(store, Plan.of(store.sweep), Machine(name, 1, salt),
                                 Liveness(1, 3))


def test_a_trial_asked_beyond_the_target_is_released_untrained(store):
    a = machine(store)
    for _ in range(2):  # the target: two trials in flight
        assert a.claim(store.ask().number)
    extra = store.ask()
    assert not a.claim(extra.number)
    released = store.trial(extra.number)
    assert released.outcome == TrialOutcome.INTERRUPTED and released.attrs["released"] is True
    assert released.attrs["machine"] == a.machine.name  # who released it
    assert [t.outcome for t in store.view()].count(TrialOutcome.WAITING) == 0


def test_a_released_retry_is_queued_again(store):
    a = machine(store)
    for _ in range(2):
        a.claim(store.ask().number)
    store.enqueue({"dropout_rate": 0.3}, {"retry_of": 0, "seed": 7})
    retry = store.ask()
    assert not a.claim(retry.number)
    (waiting,) = [t for t in store.view() if t.outcome == TrialOutcome.WAITING]
    assert waiting.drawn == {"dropout_rate": 0.3}
    assert waiting.attrs["retry_of"] == 0 and waiting.attrs["seed"] == 7


def test_one_machine_finalises_and_releases_retries_left_beyond_the_target(store, monkeypatch):
    for _ in range(2):
        store.tell(store.ask().number, TrialOutcome.COMPLETE, 1.0)
    store.enqueue({"dropout_rate": 0.3}, {"retry_of": 0})  # a retry nobody needs any more
    a, b = machine(store, "a", 1), machine(store, "b", 2)
    assert a.may_leave() and b.may_leave()
    assert a.elect(2, stopping=False)
    assert not b.elect(2, stopping=False)  # claimed for these finished trials already
    assert TrialOutcome.WAITING not in {t.outcome for t in store.view()}
    assert not machine(store, "c", 3).elect(2, stopping=True)  # a stopped machine leaves it


def test_one_machine_has_no_peers(store):
    one = peers.peers_of(store, Plan.of(store.sweep), Machine("h", 1))
    assert isinstance(one, peers.OneMachine) and not one.shared
    assert one.keep_alive([0]) == [] and one.claim(5) and one.may_leave()
    assert one.elect(0, stopping=True)  # the only machine closes the study even when stopped
    assert one.trial_attrs() == {"machine": "h:1"}
    assert peers.grid_to_queue(Plan(target=2, grid=({"a": 1, "b": 2},), swept=("a",)),
                               shared=True) == [{"a": 1}]
    assert peers.grid_to_queue(Plan(target=2, grid=({"a": 1},)), shared=False) is None


def test_the_embedded_store_refuses_a_study_running_on_another_host(store):
    plan, here = Plan.of(store.sweep), Machine("here", 1)
    number = store.ask().number
    store.set_trial_attrs(number, {"machine": "here:99"})  # this host's (crashed) process
    assert isinstance(peers.peers_of(store, plan, here), peers.OneMachine)
    store.set_trial_attrs(number, {"machine": "elsewhere:42"})
    with pytest.raises(SweepBusyError) as error:
        peers.peers_of(store, plan, here)
    assert str(error.value) == machines.embedded_refusal(store.url, {number: "elsewhere:42"})
    assert store.url in str(error.value) and "elsewhere" in str(error.value)
    assert store.trial(number).outcome == TrialOutcome.RUNNING  # nothing recovered


# -- machines that are gone: taken over by a running machine, and by check --repair ------

SWEEP_FILE = """
from cifar_search import Budget, Objective, Sweep

sweep = Sweep(name="peers", space={"parameters": {"dropout_rate": {"type": "float",
              "low": 0.0, "high": 0.5}}}, model="dropout", budget=Budget(2, 4),
              objective=Objective("val_loss"), sampler="random", trials=3)
"""


@pytest.fixture(scope="module")
def empty_stores(tmp_path_factory):
    """A workspace with empty Optuna and MLflow stores, made once (each test copies it)."""
    root = tmp_path_factory.mktemp("stores") / "ws"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        create_optuna_store(Workspace.at(root))
        create_mlflow_store(Workspace.at(root))
    return root


@pytest.fixture
def shared(empty_stores, tmp_path, monkeypatch):
    """A workspace whose SQLite file is opened as a shared storage (heartbeats, no lock), as
    a database server would be; heartbeat 1 s, grace period 2 s."""
    monkeypatch.setattr(Workspace, "shared", property(lambda self: True))
    monkeypatch.setenv(machines.HEARTBEAT_ENV, "1")
    monkeypatch.setenv(machines.GRACE_ENV, "2")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    shutil.copytree(empty_stores, tmp_path / "ws")
    return Workspace.at(tmp_path / "ws")


def recorder_of(store, workspace, said):
    """The recorder a machine opens on ``store`` (it checks the study for stale trials)."""
    return open_recorder(store, store.sweep, workspace, Plan.of(store.sweep),
                         lambda number, repeat: workspace.trial_dir("peers", number),
                         said.append)


def test_a_trial_whose_machine_died_before_its_first_heartbeat_is_taken_over(shared):
    live = StudyStore(sweep(3), shared, machine=Machine("a", 1, 1))
    dead = StudyStore(sweep(3), shared, machine=Machine("b", 2, 2))
    kept = live.ask()
    assert live.trial(kept.number).attrs["machine"] == "a:1"  # beaten and marked at once
    dead.enqueue({"dropout_rate": 0.3}, {"seed": 5})
    orphan = dead.study.ask().number  # its machine dies before its first heartbeat
    said = []
    recorder = recorder_of(live, shared, said)
    seen = live.unmarked[orphan]  # when open_recorder's check saw it first
    live.beat([kept.number])
    assert live.fail_stale(now=seen + 1.0) == []  # within the grace period: left alone
    live.beat([kept.number])
    assert recovery.take_over(recorder, live.fail_stale(now=seen + 2.5), 2) == [orphan]
    live.beat([kept.number])
    assert dead.fail_stale(now=seen + 10.0) == []  # taken over once, by one machine

    trials = {t.number: t for t in live.view()}
    assert trials[kept.number].outcome == TrialOutcome.RUNNING  # the live one never touched
    assert trials[orphan].outcome == TrialOutcome.INTERRUPTED
    reason = "interrupted: its machine sent no heartbeat in the 2 s since it was asked for"
    assert trials[orphan].attrs["fail_reason"] == reason
    (retry,) = [t for t in trials.values() if t.outcome == TrialOutcome.WAITING]
    assert retry.drawn == {"dropout_rate": 0.3}
    assert retry.attrs["retry_of"] == orphan and retry.attrs["seed"] == 5
    runs = recorder.tracker.child_runs(live.attr(StudyAttr.MLFLOW_PARENT_RUN_ID))
    assert [(r.name, r.status, r.tags["fail_reason"]) for r in runs.values()] == [
        (f"trial-{orphan:04d}", "KILLED", reason)]
    assert said == [f"trial {orphan:>3} taken over: {reason}; it continues from its checkpoint"]


@contextlib.contextmanager
def beating(store, number):
    """A live machine: a heartbeat for trial ``number`` every 0.3 s during the block."""
    done = threading.Event()
    beater = threading.Thread(target=lambda: [store.beat([number]) for _ in iter(
        lambda: done.wait(0.3), True)])
    store.beat([number])
    beater.start()
    try:
        yield
    finally:
        done.set()
        beater.join()


def test_check_tells_live_machines_from_gone_ones_and_repair_takes_over_only_those(
        shared, tmp_path, capsys):
    file = tmp_path / "sweep.py"
    file.write_text(SWEEP_FILE)
    the_sweep = load_sweep(file)
    live = StudyStore(the_sweep, shared, machine=Machine("a", 1, 1))
    dead = StudyStore(the_sweep, shared, machine=Machine("b", 2, 2))
    recorder = recorder_of(live, shared, [])
    for store in (live, dead):  # a trial each, its MLflow run started
        trial = store.ask()
        recorder.start(trial, suggest(the_sweep.space, trial), None)
    dead.enqueue({"dropout_rate": 0.3})
    dead.study.ask()  # trial 2: machine b dies before its first heartbeat
    runs = {t.number: t.attrs.get("mlflow_run_id") for t in live.view()}

    def check(*flags):
        with beating(live, 0):  # machine a beats for trial 0 meanwhile; b is gone
            code = main(["check", str(file), "--workspace", str(shared.root), *flags])
        return code, capsys.readouterr().out.splitlines()

    with beating(live, 0):
        time.sleep(3.2)  # b's heartbeat goes stale (SQLite keeps whole seconds)

    gone_1 = "its machine b:2 sent no heartbeat for 2 s"
    gone_2 = ("it has no machine: its machine died before its first heartbeat (or is asking "
              "for it now)")
    assert check() == (1, [
        "trial 0 is running on machine a:1",
        f"problem: trial 1 is RUNNING but {gone_1}; check --repair takes it over",
        f"problem: trial 2 is RUNNING but {gone_2}; check --repair takes it over",
        "check 'peers': 3 trials, 2 problem(s)"])

    code, lines = check("--repair")
    never = "interrupted: its machine sent no heartbeat in the 2 s since it was asked for"
    assert (code, lines) == (0, [
        "trial   1 taken over: interrupted: b:2 sent no heartbeat for 2 s; it continues from "
        "its checkpoint",
        "trial(s) 2 RUNNING with no machine: waiting 3 s for a heartbeat before taking them "
        "over",
        f"trial   2 taken over: {never}; it continues from its checkpoint",
        "trial 0 is running on machine a:1",
        "check 'peers': 5 trials, 0 problem(s)"])
    trials = {t.number: t for t in live.view()}
    assert [trials[n].outcome for n in range(3)] == [
        TrialOutcome.RUNNING, TrialOutcome.INTERRUPTED, TrialOutcome.INTERRUPTED]
    assert sorted(t.attrs["retry_of"] for t in trials.values()
                  if t.outcome == TrialOutcome.WAITING) == [1, 2]
    statuses = {n: recorder.tracker.client.get_run(runs[n]).info.status for n in (0, 1)}
    assert statuses == {0: "RUNNING", 1: "KILLED"}  # the live machine's run untouched


def test_check_repair_takes_over_a_trial_another_host_left_in_the_embedded_store(
        empty_stores, tmp_path, monkeypatch, capsys):
    """A workspace copied from a machine that crashed: its trial is a problem, and
    check --repair interrupts it and queues it again, so that the sweep runs here."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    shutil.copytree(empty_stores, tmp_path / "ws")
    workspace = Workspace.at(tmp_path / "ws")
    file = tmp_path / "sweep.py"
    file.write_text(SWEEP_FILE)
    store = StudyStore(load_sweep(file), workspace)
    recorder = recorder_of(store, workspace, [])
    trial = store.ask()
    recorder.start(trial, suggest(store.sweep.space, trial), None)
    store.set_trial_attrs(trial.number, {"machine": "elsewhere:42"})

    def check(*flags):
        code = main(["check", str(file), "--workspace", str(workspace.root), *flags])
        return code, capsys.readouterr().out.splitlines()

    parent = store.study.user_attrs["mlflow_parent_run_id"]
    parent_left = f"the parent run {parent} is RUNNING but no sweep is running"
    assert check() == (1, [
        f"problem: {parent_left}",
        "problem: trial 0 is RUNNING but it runs on elsewhere:42, another host (the embedded "
        "SQLite store is for one machine); check --repair takes it over",
        "check 'peers': 1 trials, 2 problem(s)"])
    assert check("--repair") == (0, [
        "trial   0 taken over: interrupted: left RUNNING by elsewhere:42, another host; it "
        "continues from its checkpoint",
        f"repaired: set run {parent} to KILLED: {parent_left}",
        "check 'peers': 2 trials, 0 problem(s)"])
    interrupted, retry = store.view()
    assert interrupted.outcome == TrialOutcome.INTERRUPTED and retry.attrs["retry_of"] == 0
    run = recorder.tracker.client.get_run(interrupted.attrs["mlflow_run_id"])
    assert run.info.status == "KILLED"
    assert isinstance(peers.peers_of(store, Plan.of(store.sweep), Machine("here", 1)),
                      peers.OneMachine)


# -- retries run first, on a grid whose points were all queued at creation ----------------


def grid_sweep():
    return Sweep(name="peers", space=Space.from_dict({"parameters": {"dropout_rate": {
        "grid": [0.1, 0.2, 0.3, 0.4]}}}), model="dropout", budget=Budget(2, 4),
        objective=Objective("val_loss"), sampler="grid", trials=2)


def grid_machine(workspace, name, salt):
    """(study store, peers) of a machine on the grid study (the first one creates it and
    queues its four points, trials 0-3)."""
    the_sweep = grid_sweep()
    plan = Plan.of(the_sweep)
    store = StudyStore(the_sweep, workspace, machine=Machine(name, salt, salt),
                       grid=peers.grid_to_queue(plan, shared=True))
    return store, peers.SeveralMachines(store, plan, store.machine, Liveness(1, 2))


def outcome_table(store):
    return {t.number: (t.outcome, t.drawn["dropout_rate"], "retry_of" in t.attrs)
            for t in store.view()}


def test_the_retry_of_a_killed_grid_trial_runs_before_the_points_still_queued(
        shared, monkeypatch):
    """Trial 0's machine dies; its retry (trial 4) and the fresh points 2 and 3, which
    Optuna's queue holds ahead of it, compete for the last slot of a target of 2: the retry
    runs, the point asked for meanwhile is released and queued again behind it."""
    b_store, b = grid_machine(shared, "b", 2)  # creates the study and its parent run
    b.recorder = recorder_of(b_store, shared, [])
    dead_store, _ = grid_machine(shared, "a", 1)
    c_store, c = grid_machine(shared, "c", 3)
    assert dead_store.ask().number == 0  # machine a then dies: no more heartbeats
    assert b_store.ask().number == 1 and b.claim(1)
    b_store.tell(1, TrialOutcome.COMPLETE, 1.0)
    with beating(b_store, 1):
        time.sleep(3.2)  # a's heartbeat goes stale (SQLite keeps whole seconds)
    b.last_beat = None
    assert b.keep_alive([]) == []  # takes trial 0 over: its retry is queued as trial 4
    assert [t.number for t in b_store.waiting()] == [2, 3, 4]  # Optuna would pop 2 first

    retry = b_store.ask()
    assert retry.number == 4 and b.claim(4)
    fresh = c_store.ask()
    assert fresh.number == 2 and not c.claim(2)  # the retry holds the last slot
    b_store.tell(4, TrialOutcome.COMPLETE, 0.5)
    assert b.may_leave() and c.may_leave()
    assert b.elect(2, stopping=False)

    table = outcome_table(b_store)
    assert table[0] == (TrialOutcome.INTERRUPTED, 0.1, False)
    assert table[4] == (TrialOutcome.COMPLETE, 0.1, True)  # trial 0 continued, not dropped
    assert table[2][0] == TrialOutcome.INTERRUPTED and c_store.trial(2).attrs["released"]
    assert sum(o in (TrialOutcome.COMPLETE,) for o, _, _ in table.values()) == 2
    waiting = sorted((rate, retried) for o, rate, retried in table.values()
                     if o == TrialOutcome.WAITING)
    assert waiting == [(0.3, False), (0.4, False)]  # the grid's other points stay queued


def test_a_retry_whose_slot_a_fresh_point_took_is_released_at_the_end_its_point_kept(
        shared, monkeypatch):
    """A fresh point takes the last slot in the moment between trial 0's failure and its
    retry's queueing: the retry cannot run (it is released when asked for), and the machine
    that finalises releases it, its point queued again as a fresh grid point."""
    b_store, b = grid_machine(shared, "b", 2)
    assert b_store.ask().number == 0 and b.claim(0)
    assert b_store.ask().number == 1 and b.claim(1)
    b_store.tell(1, TrialOutcome.COMPLETE, 1.0)
    b_store.tell(0, TrialOutcome.INTERRUPTED)  # taken over, its retry not yet queued...
    assert b_store.ask().number == 2 and b.claim(2)  # ...when a fresh point is asked for
    b_store.enqueue({"dropout_rate": 0.1}, {"retry_of": 0, "seed": 3})  # now it is
    assert b_store.ask().number == 4 and not b.claim(4)  # released, queued again (trial 5)
    b_store.tell(2, TrialOutcome.COMPLETE, 0.5)
    assert b.may_leave() and b.elect(2, stopping=False)

    table = outcome_table(b_store)
    assert sum(o == TrialOutcome.COMPLETE for o, _, _ in table.values()) == 2
    waiting = sorted((rate, retried) for o, rate, retried in table.values()
                     if o == TrialOutcome.WAITING)
    assert waiting == [(0.1, False), (0.4, False)]  # no retry left waiting; its point kept

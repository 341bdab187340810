"""The decisions of several machines on one study, as pure functions (milliseconds)."""

from types import SimpleNamespace

import pytest

from cifar_search.engines.optuna import machines
from cifar_search.engines.optuna.machines import (
    Liveness,
    Machine,
    claim,
    embedded_refusal,
    heartbeat_due,
    in_flight,
    liveness,
    may_train,
    never_beaten,
    other_hosts,
    pop_order,
    sampler_seed,
    study_over,
)
from cifar_search.engines.optuna.scheduler import Plan, TrialView
from cifar_search.errors import ConfigError
from cifar_search.search.states import TrialOutcome as O
from cifar_search.search.states import outcome_of


def trials(*outcomes):
    return [TrialView(number, outcome) for number, outcome in enumerate(outcomes)]


# -- liveness -----------------------------------------------------------------------------


def test_liveness_defaults_and_overrides():
    assert liveness({}) == Liveness(machines.HEARTBEAT_S, machines.GRACE_S)
    assert liveness({"CIFAR_SEARCH_HEARTBEAT_S": "2", "CIFAR_SEARCH_GRACE_S": "9"}) == \
        Liveness(2, 9)


@pytest.mark.parametrize("env, message", [
    ({"CIFAR_SEARCH_HEARTBEAT_S": "0"},
     "CIFAR_SEARCH_HEARTBEAT_S: '0' is not allowed; give a whole number of seconds >= 1"),
    ({"CIFAR_SEARCH_GRACE_S": "1.5"},
     "CIFAR_SEARCH_GRACE_S: '1.5' is not allowed; give a whole number of seconds >= 1"),
    ({"CIFAR_SEARCH_HEARTBEAT_S": "5", "CIFAR_SEARCH_GRACE_S": "5"},
     "CIFAR_SEARCH_GRACE_S: 5 is not longer than CIFAR_SEARCH_HEARTBEAT_S=5; give a grace "
     "period of several heartbeats"),
])
def test_liveness_refuses_bad_values(env, message):
    with pytest.raises(ConfigError) as error:
        liveness(env)
    assert str(error.value) == message


@pytest.mark.parametrize("last, now, due", [(None, 0.0, True), (10.0, 10.5, False),
                                            (10.0, 11.0, True), (10.0, 30.0, True)])
def test_heartbeat_due(last, now, due):
    assert heartbeat_due(last, now, interval=1.0) is due


def test_a_trial_failed_by_a_heartbeat_check_reads_as_interrupted():
    def trial(**attrs):
        return SimpleNamespace(state=SimpleNamespace(name="FAIL"), user_attrs=attrs)

    assert outcome_of(trial(machine="a:1")) == O.INTERRUPTED  # no reason: its machine died
    assert outcome_of(trial(machine="a:1", fail_reason="boom")) == O.FAILED
    assert outcome_of(trial()) == O.FAILED  # recorded before machines were: as it was


def test_a_trial_left_unmarked_for_the_grace_period_is_taken_over():
    """Its machine died between asking for it and its first heartbeat: Optuna never fails a
    trial without a heartbeat, so the time is counted from when this process first saw it."""
    marked = TrialView(1, O.RUNNING, attrs={"machine": "a:1"})
    study = [TrialView(0, O.RUNNING), marked, TrialView(2, O.WAITING), TrialView(3, O.RUNNING)]
    assert never_beaten(study, {}, now=50.0, grace_s=3) == ([], {0: 50.0, 3: 50.0})
    assert never_beaten(study, {0: 50.0, 3: 52.0}, now=53.0, grace_s=3) == \
        ([], {0: 50.0, 3: 52.0})  # exactly the grace period: not yet
    assert never_beaten(study, {0: 50.0, 3: 52.0}, now=53.5, grace_s=3) == ([0], {3: 52.0})
    # marked meanwhile (its machine was alive, only slow) or ended: forgotten
    later = [TrialView(0, O.INTERRUPTED), marked, TrialView(3, O.RUNNING, attrs=marked.attrs)]
    assert never_beaten(later, {0: 50.0, 3: 52.0}, now=60.0, grace_s=3) == ([], {})


def test_check_sorts_running_trials_into_alive_and_lost():
    study = [TrialView(0, O.RUNNING, attrs={"machine": "a:1"}),
             TrialView(1, O.RUNNING, attrs={"machine": "b:2"}),
             TrialView(2, O.RUNNING),                             # never marked: lost
             TrialView(3, O.INTERRUPTED, attrs={"machine": "b:2"}),
             TrialView(4, O.WAITING)]
    flight = in_flight(study, stale=[1, 3], grace_s=30)
    assert flight.alive == {0: "a:1"}
    assert flight.lost == {
        1: "its machine b:2 sent no heartbeat for 30 s",
        2: "it has no machine: its machine died before its first heartbeat (or is asking for "
           "it now)"}


@pytest.mark.parametrize("attrs, host, found", [
    ({"machine": "b:7"}, "a", {0: "b:7"}),
    ({"machine": "a:7"}, "a", {}),                 # this host (a process that crashed)
    ({"machine": "a.lan:7"}, "a", {0: "a.lan:7"}),
    ({"machine": "[::1]:7"}, "[::1]", {}),           # the host is all before the last ':'
    ({}, "a", {}),                                   # recorded before machines were
])
def test_other_hosts(attrs, host, found):
    assert other_hosts([TrialView(0, O.RUNNING, attrs=attrs), TrialView(
        1, O.COMPLETE, attrs={"machine": "z:1"})], host) == found


def test_the_embedded_store_names_the_other_host_and_postgresql():
    assert embedded_refusal("sqlite:////w/optuna.db", {5: "c:9", 3: "b:7"}) == (
        "sqlite:////w/optuna.db: trial 3 is RUNNING on host b (machine b:7); the embedded "
        "SQLite store is for one machine: to run a study on several, give every machine "
        "--storage postgresql://… (README: \"Several machines\"); if that machine is gone, "
        "check --repair takes its trials over")


# -- samplers -----------------------------------------------------------------------------


def test_sampler_seeds_differ_per_salt_and_are_reproducible():
    assert sampler_seed(42, 0) == 42  # one machine: exactly the sweep's seed
    seeds = {sampler_seed(42, salt) for salt in range(1, 1000)}
    assert len(seeds) == 999 and 42 not in seeds
    assert sampler_seed(42, 7) == sampler_seed(42, 7)
    assert 0 <= sampler_seed(2**40, machines.MAX_SALT) < 2**32


def test_one_machine_is_unsalted_and_several_are_salted():
    assert Machine.current(salted=False).salt == 0
    salts = {Machine.current(salted=True).salt for _ in range(20)}
    assert len(salts) > 1 and min(salts) >= 1
    assert Machine("h", 12).name == "h:12"


# -- the budget ---------------------------------------------------------------------------


@pytest.mark.parametrize("outcomes, number, target, allowed", [
    ((O.COMPLETE, O.RUNNING), 1, 2, True),                     # alone in flight
    ((O.COMPLETE, O.RUNNING, O.RUNNING), 2, 2, False),         # a lower number got the slot
    ((O.COMPLETE, O.RUNNING, O.RUNNING), 1, 2, True),          # the lower number trains
    ((O.COMPLETE, O.INTERRUPTED, O.RUNNING), 2, 2, True),      # interrupted ones do not count
    ((O.COMPLETE, O.PRUNED, O.COMPLETE, O.RUNNING), 3, 3, False),  # target reached
    ((O.COMPLETE, O.PRUNED, O.FAILED, O.RUNNING), 3, 3, True),  # a failure does not count
    ((O.WAITING, O.RUNNING), 1, 1, True),                      # a queued trial takes no slot
])
def test_may_train_lets_the_lowest_numbers_in(outcomes, number, target, allowed):
    assert may_train(Plan(target=target), trials(*outcomes), number) is allowed


def test_a_grid_trial_must_hold_a_queued_point():
    grid = Plan(target=3, grid=({"a": 1}, {"a": 2}, {"a": 3}))
    assert may_train(grid, [TrialView(0, O.RUNNING, from_queue=True)], 0)
    assert not may_train(grid, trials(O.RUNNING), 0)


def test_machines_asking_at_once_end_with_exactly_the_target():
    """Three machines each ask at once, with 2 slots left: two train, one is released."""
    plan = Plan(target=5)
    study = trials(O.COMPLETE, O.COMPLETE, O.COMPLETE, O.RUNNING, O.RUNNING, O.RUNNING)
    assert [may_train(plan, study, n) for n in (3, 4, 5)] == [True, True, False]


def retry(number, outcome, of=0):
    return TrialView(number, outcome, attrs={"retry_of": of}, from_queue=True)


def point(number, outcome):
    return TrialView(number, outcome, from_queue=True)


def test_retries_are_asked_for_first_lowest_number_first():
    study = [point(2, O.WAITING), retry(6, O.WAITING), retry(4, O.WAITING, of=1),
             retry(5, O.RUNNING), point(3, O.WAITING)]
    assert pop_order(study) == [4, 6]
    assert pop_order([point(2, O.WAITING)]) == []


GRID = Plan(target=3, grid=({"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}, {"a": 5}))


@pytest.mark.parametrize("study, number, allowed", [
    # trial 0 was taken over: its retry (5) waits, behind grid points 3 and 4 in Optuna's queue
    ([O.INTERRUPTED, O.COMPLETE, O.COMPLETE, "point 3 RUNNING", "retry 5 WAITING"], 3, False),
    ([O.INTERRUPTED, O.COMPLETE, O.COMPLETE, "point 3 WAITING", "retry 5 RUNNING"], 5, True),
    # asked for at the same moment: the fresh point yields to the retry, whatever its number
    ([O.INTERRUPTED, O.COMPLETE, O.COMPLETE, "point 3 RUNNING", "retry 5 RUNNING"], 3, False),
    # a point that took the slot before the retry was queued keeps it (lower number)
    ([O.INTERRUPTED, O.COMPLETE, O.COMPLETE, "point 3 RUNNING", "retry 5 RUNNING"], 5, False),
    # trial 2 in flight and the retry hold the last two slots
    ([O.INTERRUPTED, O.COMPLETE, O.RUNNING, "point 3 RUNNING", "retry 5 WAITING"], 3, False),
    # room for both
    ([O.INTERRUPTED, O.COMPLETE, "point 2 RUNNING", "retry 5 WAITING"], 2, True),
])
def test_a_queued_or_running_retry_holds_its_slot_against_fresh_points(study, number,
                                                                       allowed):
    views = []
    for n, item in enumerate(study):
        if not isinstance(item, O):  # "kind number STATE"
            kind, at, state = item.split()
            make = retry if kind == "retry" else point
            views.append(make(int(at), O[state]))
        else:
            views.append(TrialView(n, item))
    assert may_train(GRID, views, number) is allowed


def test_no_order_of_asking_lets_more_trials_train_than_the_target():
    """One slot left, a retry (5) and a fresh point (3) asked for one after the other, in
    either order: the retry trains and the point is released; asked for at the same moment
    (both running before either checks), at most one trains (a released retry is queued
    again, first in line)."""
    done = [TrialView(0, O.INTERRUPTED), TrialView(1, O.COMPLETE), TrialView(2, O.COMPLETE)]
    for first, second in ((3, 5), (5, 3)):
        state = {3: point(3, O.WAITING), 5: retry(5, O.WAITING)}
        trained = []
        for number in (first, second):
            state[number] = (retry if number == 5 else point)(number, O.RUNNING)
            if may_train(GRID, done + list(state.values()), number):
                trained.append(number)
            else:
                state[number] = TrialView(number, O.INTERRUPTED)  # released
        assert trained == [5]
    both = done + [point(3, O.RUNNING), retry(5, O.RUNNING)]
    assert sum(may_train(GRID, both, number) for number in (3, 5)) <= 1


@pytest.mark.parametrize("outcomes, grid, over", [
    ((O.COMPLETE, O.COMPLETE), False, True),
    ((O.COMPLETE, O.RUNNING), False, False),          # another machine still trains
    ((O.COMPLETE, O.INTERRUPTED, O.WAITING), False, False),  # a retry waits to be run
    ((O.COMPLETE, O.COMPLETE, O.WAITING), False, True),     # beyond the target: not run
    ((O.COMPLETE, O.WAITING), True, False),           # a grid point left
    ((O.COMPLETE, O.INTERRUPTED), True, True),        # a grid used up (its retry was lost)
])
def test_study_over_waits_for_every_machine(outcomes, grid, over):
    points = ({"a": 1}, {"a": 2}, {"a": 3}) if grid else None
    assert study_over(Plan(target=2 if not grid else 3, grid=points), trials(*outcomes)) is over


# -- finalisation -------------------------------------------------------------------------


def test_a_finalisation_claim_names_its_machine_and_the_finished_trials():
    assert claim(Machine("a", 1, 5), 6, now=100.0) == {"machine": "a:1", "salt": 5,
                                                        "finished": 6, "at": 100.0}

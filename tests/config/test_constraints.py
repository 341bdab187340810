"""The constraints grammar (a measure, an operator and a number), its pinned messages, and the
decisions made from it: each constraint's excess as Optuna reads it, and why a trial breaks
one."""

import math

import pytest

from cifar_search.config.constraints import (
    as_limits,
    excesses,
    known_before_training,
    parse,
    parse_all,
    parse_flag,
    violations,
)
from cifar_search.config.sweep import Sweep
from cifar_search.errors import ConfigError
from cifar_search.session.fingerprint import check_fingerprint

GRAMMAR = ("a limit is an operator (<=, <, >=, >) and a number, e.g. '<= 1_000_000', "
           "'< 2.5', '>= 0.6' or '<= 1.5M' (underscores between digits; k: thousand, "
           "M: million)")
MEASURES = "val_loss, val_accuracy, params, latency_ms, train_seconds"


@pytest.mark.parametrize("name, limit, op, bound", [
    ("params", "<= 1_000_000", "<=", 1_000_000),
    ("params", "<=1M", "<=", 1_000_000),
    ("params", " < 250k ", "<", 250_000),
    ("params", "<= 1.5M", "<=", 1_500_000),
    ("latency_ms", "< 2.5", "<", 2.5),
    ("val_accuracy", ">= 0.6", ">=", 0.6),
    ("train_seconds", "> 1_0.5", ">", 10.5),
])
def test_limits_parse(name, limit, op, bound):
    constraint = parse(name, limit)
    assert (constraint.measure, constraint.op) == (name, op)
    assert constraint.bound == pytest.approx(bound)


@pytest.mark.parametrize("name, limit, message", [
    ("flops", "<= 3", f"constraints.flops: 'flops' is no measure; a constraint names one of "
                      f"{MEASURES}"),
    ("params", "<= 1e6", f"constraints.params: '<= 1e6' is not allowed; {GRAMMAR}"),
    ("params", 1000, f"constraints.params: 1000 is not allowed; {GRAMMAR}"),
    ("params", "== 10", f"constraints.params: '== 10' is not allowed; {GRAMMAR}"),
    ("params", "<= 1__0", f"constraints.params: '<= 1__0' is not allowed; {GRAMMAR}"),
    ("params", "<= -5", f"constraints.params: '<= -5' is not allowed; {GRAMMAR}"),
    ("params", "<= 2m", f"constraints.params: '<= 2m' is not allowed; {GRAMMAR}"),
    ("params", "1000", f"constraints.params: '1000' is not allowed; {GRAMMAR}"),
])
def test_refused_constraints_say_what_is_allowed(name, limit, message):
    with pytest.raises(ConfigError) as caught:
        parse(name, limit)
    assert str(caught.value) == message


def test_constraints_are_a_mapping():
    with pytest.raises(ConfigError) as caught:
        parse_all(["params"])
    assert str(caught.value) == ("constraints: ['params'] is not allowed; constraints map a "
                                 "measure to a limit, e.g. {'params': '<= 1_000_000'}")


@pytest.mark.parametrize("text, parsed", [
    ("params<=1M", ("params", "<=1M")),
    ("latency_ms < 2", ("latency_ms", "< 2")),
])
def test_the_flag_is_a_name_and_a_limit(text, parsed):
    assert parse_flag(text) == parsed


@pytest.mark.parametrize("text, message", [
    ("params 1M", f"--constraint: 'params 1M' is not allowed; a constraint is a measure and a "
                  f"limit, e.g. params<=1_000_000; measures: {MEASURES}"),
    ("flops<3", f"--constraint: 'flops' is no measure; a constraint names one of {MEASURES}"),
    ("params<=x", f"--constraint: '<=x' is not allowed; {GRAMMAR}"),
])
def test_a_refused_flag_names_the_flag(text, message):
    with pytest.raises(ConfigError) as caught:
        parse_flag(text)
    assert str(caught.value) == message


@pytest.mark.parametrize("limit, value, excess, reason", [
    ("<= 1M", 1_234_567, 234_567, "params 1,234,567 > 1,000,000"),
    ("<= 1M", 1_000_000, 0, None),
    ("< 1M", 1_000_000, math.ulp(1e6), "params 1,000,000 >= 1,000,000"),
    (">= 10", 4, 6, "params 4 < 10"),
    ("> 10", 11, -1, None),
])
def test_excess_and_reason(limit, value, excess, reason):
    constraint = parse("params", limit)
    assert constraint.excess(value) == pytest.approx(excess)
    assert constraint.broken(value) == reason
    assert constraint.holds(value) is (reason is None)


def test_a_measure_not_known_yet_breaks_nothing():
    constraints = [parse("params", "<= 100"), parse("latency_ms", "<= 2"),
                   parse("val_accuracy", ">= 0.5")]
    assert excesses(constraints, {"params": 150}) == [50.0, 0.0, 0.0]
    assert violations(constraints, {"params": 150, "val_accuracy": 0.25}) == [
        "params 150 > 100", "val_accuracy 0.25 < 0.5"]
    assert violations(constraints, {}) == []
    assert known_before_training(constraints) == (constraints[0],)


def test_one_limit_written_two_ways_is_one_study():
    one = Sweep("s", "x.yaml", "dropout", constraints={"params": "<= 1M"})
    other = Sweep("s", "x.yaml", "dropout", constraints={"params": "<=1_000_000"})
    assert one.fingerprint() == other.fingerprint()
    assert one.fingerprint()["constraints"] == as_limits(one.parsed_constraints) == {
        "params": "<= 1000000"}
    assert "constraints" not in Sweep("s", "x.yaml", "dropout").fingerprint()  # as before


def test_other_constraints_refuse_a_resume():
    import json

    before = Sweep("s", "x.yaml", "dropout", constraints={"params": "<= 1M"})
    after = before.override(constraints={"params": "<= 2M"})
    assert after.parsed_constraints[0].bound == 2e6
    with pytest.raises(ConfigError) as caught:
        check_fingerprint(json.dumps(before.fingerprint()), after.fingerprint(), after, "db")
    assert str(caught.value).startswith(
        'constraints: {"params": "<= 2000000"} differs from the study\'s {"params": '
        '"<= 1000000"}; the existing study \'s\' in db was run with other settings')
    unconstrained = Sweep("s", "x.yaml", "dropout")
    with pytest.raises(ConfigError):  # adding constraints to a study made without them
        check_fingerprint(json.dumps(unconstrained.fingerprint()), before.fingerprint(),
                          before, "db")
    check_fingerprint(json.dumps(unconstrained.fingerprint()), unconstrained.fingerprint(),
                      unconstrained, "db")

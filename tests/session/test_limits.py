"""The budget's limits: pure decisions over the trials that ended (a fake clock), then one real
run for a time budget and one for failures in a row."""

import json

import pytest

from cifar_search.config.specs import Budget
from cifar_search.errors import ConfigError
from cifar_search.search.states import TrialOutcome as O
from cifar_search.session.limits import (
    Ended,
    Limit,
    Limits,
    deadline_of,
    reached,
    stalled,
    time_line,
)
from tests.helpers import cli_inline


def failed(number, reason="ValueError: boom"):
    return Ended(number, O.FAILED, reason=reason)


def complete(number, value):
    return Ended(number, O.COMPLETE, value)


# -- time ---------------------------------------------------------------------------------


def test_no_trial_starts_from_the_deadline_on():
    limits = Limits(deadline=100.0, time_s=60.0)
    assert reached(limits, [], now=99.9) is None
    stop = reached(limits, [], now=100.0)
    assert stop.limit is Limit.TIME and not stop.limit.is_failure
    assert stop.line == "time budget 1m reached: no new trial starts"


def test_the_deadline_is_the_studys_while_it_lies_ahead_and_a_new_window_after_it():
    assert deadline_of(None, 60.0, now=1000.0) == 1060.0
    assert deadline_of(1030.0, 60.0, now=1000.0) == 1030.0  # another machine's, or resumed
    assert deadline_of(1000.0, 60.0, now=1000.0) == 1060.0  # passed: a later run's own window


def test_the_time_line_says_what_is_used_and_left():
    assert time_line(7200.0, 7200.0, now=4320.0) == "time budget 2h: 1h12m used, 48m left"
    assert time_line(7200.0, 7200.0, now=9000.0) == "time budget 2h: 2h used, 0s left"


# -- failures -----------------------------------------------------------------------------


def test_failures_in_all_stop_the_sweep_naming_the_last_one_and_the_command():
    limits = Limits(max_failures=2, failed_command="python -m cifar_search status s.py --failed")
    ended = [failed(0), complete(1, 0.5), failed(3, "OOM")]
    assert reached(limits, ended[:2], now=0.0) is None
    stop = reached(limits, ended, now=0.0)
    assert stop.limit is Limit.FAILURES and stop.limit.is_failure
    assert stop.line == ("2 trials failed (max_failures=2); the last, trial 3: OOM; the sweep "
                         "stopped: see them all with python -m cifar_search status s.py --failed")


@pytest.mark.parametrize("outcomes, stops", [
    ([O.FAILED, O.FAILED], False),
    ([O.FAILED, O.FAILED, O.FAILED], True),
    ([O.FAILED, O.COMPLETE, O.FAILED, O.FAILED], False),
    ([O.COMPLETE, O.FAILED, O.INTERRUPTED, O.FAILED, O.FAILED], True),  # interruptions skipped
    ([O.FAILED, O.FAILED, O.PRUNED], False),  # a pruned trial trained: the row is broken
])
def test_failures_in_a_row_count_the_trials_that_ended_last(outcomes, stops):
    ended = [Ended(n, o, 0.1 if o == O.COMPLETE else None) for n, o in enumerate(outcomes)]
    stop = reached(Limits(max_failures_in_a_row=3), ended, now=0.0)
    assert (stop is not None and stop.limit is Limit.FAILURES_IN_A_ROW) is stops


# -- no improvement -----------------------------------------------------------------------


@pytest.mark.parametrize("values, direction, after, delta, stops", [
    ([0.5], "maximize", 1, 0.0, False),                 # nothing to compare with yet
    ([0.5, 0.5], "maximize", 1, 0.0, True),             # equal is no improvement
    ([0.5, 0.51], "maximize", 1, 0.0, False),
    ([0.5, 0.51], "maximize", 1, 0.02, True),           # not by more than min_delta
    ([0.9, 0.7, 0.71, 0.69], "minimize", 2, 0.0, False),
    ([0.9, 0.7, 0.71, 0.72], "minimize", 2, 0.0, True),
    ([0.1, 0.3, 0.2, 0.25], "maximize", 2, 0.0, True),
])
def test_stop_after_looks_for_an_improvement_in_the_last_complete_trials(
        values, direction, after, delta, stops):
    assert stalled(values, direction, after, delta) is stops


def test_stop_after_reads_complete_trials_only_in_the_order_they_ended():
    ended = [complete(0, 0.5), Ended(1, O.PRUNED), failed(2), complete(3, 0.49)]
    limits = Limits(stop_after=1, min_delta=0.05)
    stop = reached(limits, ended, now=0.0)
    assert stop.limit is Limit.NO_IMPROVEMENT
    assert stop.line == ("no improvement of the objective by more than 0.05 in the last 1 "
                         "complete trials (stop_after=1): no new trial starts")
    assert reached(limits, ended[:3], now=0.0) is None


# -- the budget's settings ----------------------------------------------------------------


@pytest.mark.parametrize("settings, message", [
    ({"time": "2 hours"}, "budget.time: '2 hours' is not allowed; time is a duration such as "
                          "'2h', '90m', '1h30m', '45s' or '1.5d', or a number of seconds, > 0 "
                          "and at most a year, or None"),
    ({"stop_at_deadline": True}, "budget.stop_at_deadline: True is not allowed; "
                                 "stop_at_deadline acts at the time budget's deadline: give "
                                 "time too"),
    ({"max_failures": 0}, "budget.max_failures: 0 is not allowed; max_failures is a whole "
                          "number >= 1, at most 100000, or None"),
    ({"min_delta": 0.1}, "budget.min_delta: 0.1 is not allowed; min_delta is the improvement "
                         "stop_after looks for: give stop_after too"),
    ({"stop_after": 2, "min_delta": float("nan")}, "budget.min_delta: nan is not allowed; "
                                                    "min_delta is a number >= 0, at most 1e+06"),
])
def test_a_bad_limit_is_refused_naming_its_key(settings, message):
    with pytest.raises(ConfigError) as caught:
        Budget(**settings)
    assert str(caught.value) == message


def test_limits_are_not_part_of_a_studys_fingerprint():
    assert Budget(time="2h", max_failures=3, stop_after=4).per_trial() == Budget().per_trial()
    assert Budget(time="2h", max_failures_in_a_row=None).limits_given() == [
        "time", "max_failures_in_a_row"]


# -- real runs ----------------------------------------------------------------------------


OWN_MODEL = '''
import keras
from keras import layers

from cifar_search import Budget, Sweep


class Boom(layers.Layer):
    def call(self, x, training=None):
        if training and FAIL:
            raise ValueError("this layer cannot train")
        return x


def build(params, input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = layers.GlobalAveragePooling2D()(Boom()(inputs))
    x = layers.Dropout(params["dropout_rate"])(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


sweep = Sweep(
    name="limits",
    space={"parameters": {"dropout_rate": {"type": "float", "low": 0.0, "high": 0.5}}},
    model=build,
    budget=Budget(epochs=1, batch_size=16),
    sampler="random", trials=30,
)
'''


@pytest.mark.processes
def test_a_timed_sweep_starts_no_trial_after_its_deadline_and_ends_as_finished(
        tmp_path, tiny_data):
    (tmp_path / "sweep.py").write_text("FAIL = False\n" + OWN_MODEL)
    ws = tmp_path / "ws"
    result = cli_inline("run", "sweep.py", "--data", tiny_data, "--workspace", ws,
                        "--timeout", "2s", "--no-register", cwd=tmp_path)
    assert "time budget 2s: 0s used, 2s left (deadline " in result.stdout
    assert "time budget 2s reached: no new trial starts" in result.stdout
    status = json.loads(cli_inline("status", "sweep.py", "--json", "--workspace", ws,
                                   cwd=tmp_path).stdout)
    assert len(status["trials"]) < 30 and status["time"]["budget_s"] == 2.0
    assert status["time"]["left_s"] == 0.0 and status["time"]["used_s"] == 2.0
    assert "time budget 2s: 2s used, 0s left" in cli_inline(
        "status", "sweep.py", "--workspace", ws, cwd=tmp_path).stdout


@pytest.mark.processes
def test_failures_do_not_count_and_three_in_a_row_stop_the_sweep_in_one_line(
        tmp_path, tiny_data):
    (tmp_path / "sweep.py").write_text("FAIL = True\n" + OWN_MODEL)
    ws = tmp_path / "ws"
    result = cli_inline("run", "sweep.py", "--data", tiny_data, "--workspace", ws,
                        cwd=tmp_path, check=False)
    assert result.returncode == 1
    reason = "ValueError: Exception encountered when calling Boom.call(): this layer cannot train"
    assert result.stderr == (
        f"error: the last 3 trials failed (max_failures_in_a_row=3); the last, trial 2: "
        f"{reason}; the sweep stopped: see them all with python -m cifar_search status "
        "sweep.py --failed\n")
    failed_only = cli_inline("status", "sweep.py", "--failed", "--workspace", ws, cwd=tmp_path)
    lines = failed_only.stdout.splitlines()
    assert lines[0] == "study 'limits' (minimize val_loss): 3 failed"
    assert len(lines) == 4 and all(line.endswith(": " + reason) for line in lines[1:])
    header = cli_inline("status", "sweep.py", "--workspace", ws, cwd=tmp_path).stdout.split(
        "\n")[1].split()
    assert "fail_reason" in header and "retry_of" not in header  # empty columns left out


def test_an_infeasible_trial_is_no_failure():
    infeasible = [Ended(n, O.INFEASIBLE) for n in range(3)]
    assert reached(Limits(max_failures=1, max_failures_in_a_row=1), infeasible, now=0.0) is None
    ended = [Ended(0, O.FAILED, reason="boom"), Ended(1, O.INFEASIBLE)]
    assert reached(Limits(max_failures_in_a_row=2), ended, now=0.0) is None

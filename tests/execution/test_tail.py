"""The tail rule: which run moves to a wider worker, and to how many threads."""

import pytest

from cifar_search.execution.tail import (MIN_EPOCHS_LEFT, MIN_SECONDS_LEFT, Lane, fair_threads,
                                         move_to, worth_moving)

SLOW = 60.0  # seconds per epoch: any move pays


@pytest.mark.parametrize("cores, lanes, expected", [
    (2, [Lane("a", 1, 5)], {"a": 2}),
    (2, [Lane("a", 1, 5), Lane("b", 1, 3)], {"a": 1, "b": 1}),
    (4, [Lane("a", 1, 5), Lane("b", 1, 3)], {"a": 2, "b": 2}),
    (5, [Lane("a", 1, 3), Lane("b", 1, 9)], {"b": 3, "a": 2}),
    (5, [Lane("a", 1, 4), Lane("b", 1, 4)], {"a": 3, "b": 2}),  # a tie: the earlier run
    (2, [Lane("a", 1, 1), Lane("b", 1, 1), Lane("c", 1, 1)], {"a": 1, "b": 1, "c": 1}),
    (3, [], {}),
])
def test_fair_threads_share_every_core(cores, lanes, expected):
    assert fair_threads(cores, lanes) == expected


def test_the_last_run_takes_both_cores():
    """Three trials on two single-threaded workers: once the second ends, the third moves."""
    last = Lane("t2", 1, 4)
    assert move_to(2, [last], last, more_to_start=False, epoch_seconds=SLOW) == 2


def test_no_run_moves_while_trials_wait_to_start():
    last = Lane("t2", 1, 4)
    assert move_to(2, [last], last, more_to_start=True, epoch_seconds=SLOW) is None


def test_no_run_moves_without_free_cores():
    a, b = Lane("a", 1, 9), Lane("b", 1, 9)
    assert move_to(2, [a, b], a, more_to_start=False, epoch_seconds=SLOW) is None


def test_a_run_near_its_end_stays():
    near = Lane("t", 1, MIN_EPOCHS_LEFT - 1)
    assert move_to(2, [near], near, more_to_start=False, epoch_seconds=SLOW) is None
    assert move_to(2, [Lane("t", 1, MIN_EPOCHS_LEFT)], Lane("t", 1, MIN_EPOCHS_LEFT),
                   more_to_start=False, epoch_seconds=SLOW) == 2


def test_a_run_with_little_training_left_stays():
    """A move costs a few seconds: quick epochs (tiny data) never pay for it."""
    run = Lane("t", 1, 10)
    assert move_to(2, [run], run, more_to_start=False, epoch_seconds=0.5) is None
    assert move_to(2, [run], run, more_to_start=False,
                   epoch_seconds=MIN_SECONDS_LEFT / 10) == 2


def test_a_run_already_wide_enough_stays():
    wide = Lane("t", 2, 9)
    assert move_to(2, [wide], wide, more_to_start=False, epoch_seconds=SLOW) is None


def test_free_cores_are_shared_not_taken_by_the_first_to_ask():
    """Four cores, two runs of one thread: each moves to two, not the first to three."""
    a, b = Lane("a", 1, 9), Lane("b", 1, 8)
    assert move_to(4, [a, b], a, more_to_start=False, epoch_seconds=SLOW) == 2
    a_moved = Lane("a", 2, 8)
    assert move_to(4, [a_moved, b], b, more_to_start=False, epoch_seconds=SLOW) == 2


def test_a_move_waits_until_the_cores_it_needs_are_free():
    """Four cores; b's fair share is 2 but only one core is free (a took 3 earlier)."""
    a, b = Lane("a", 3, 1), Lane("b", 1, 9)
    assert fair_threads(4, [a, b])["b"] == 2
    assert move_to(4, [a, b], b, more_to_start=False, epoch_seconds=SLOW) is None


@pytest.mark.parametrize("epochs_left, seconds, worth", [
    (MIN_EPOCHS_LEFT, MIN_SECONDS_LEFT, True),
    (MIN_EPOCHS_LEFT - 1, 1000.0, False),
    (100, MIN_SECONDS_LEFT / 100 - 0.01, False),
])
def test_a_move_is_worth_it_only_with_epochs_and_seconds_left(epochs_left, seconds, worth):
    assert worth_moving(Lane("t", 1, epochs_left), seconds) is worth

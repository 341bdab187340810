"""Early stopping's decisions, epoch by epoch (pure: no model)."""

import pytest

from cifar_search.model.stopping import StopRule, StopState, advance, rule_of


@pytest.mark.parametrize("params, patience, rule", [
    ({}, None, None),
    ({}, 3, StopRule("val_loss", 3, "val_loss")),  # Budget(patience=3): the objective's best
    ({"stop_monitor": "val_accuracy", "stop_patience": 10, "keep_best": "val_loss"}, None,
     StopRule("val_accuracy", 10, "val_loss")),
    ({"stop_monitor": "loss", "stop_patience": 2, "keep_best": ""}, None,
     StopRule("loss", 2, None)),
    ({"stop_patience": 0}, None, None),
])
def test_the_rule_of_a_trial(params, patience, rule):
    assert rule_of(params, patience, "val_loss") == rule


def run(rule, logs):
    """(stop, keep) per epoch, and the final state, for a sequence of epoch logs."""
    state, decisions = StopState(), []
    for epoch, entry in enumerate(logs, start=1):
        decisions.append(advance(rule, state, epoch, entry))
        if decisions[-1][0]:
            break
    return decisions, state


def test_accuracy_improves_upwards_and_loss_downwards_and_each_keeps_its_own_best():
    rule = StopRule("val_accuracy", 2, "val_loss")
    logs = [{"val_accuracy": 0.5, "val_loss": 1.0}, {"val_accuracy": 0.6, "val_loss": 1.1},
            {"val_accuracy": 0.6, "val_loss": 0.9}, {"val_accuracy": 0.55, "val_loss": 0.95},
            {"val_accuracy": 0.7, "val_loss": 0.5}]
    decisions, state = run(rule, logs)
    assert decisions == [(False, True), (False, False), (False, True), (True, False)]
    assert (state.best, state.wait, state.stopped_epoch) == (0.6, 2, 4)
    assert (state.kept, state.kept_epoch) == (0.9, 3)  # an equal accuracy is no improvement


def test_without_keep_best_nothing_is_kept():
    decisions, state = run(StopRule("loss", 1, None), [{"loss": 1.0}, {"loss": 1.0}])
    assert decisions == [(False, False), (True, False)] and state.kept_epoch == 0

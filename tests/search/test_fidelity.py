"""Multi-fidelity search (pruner 'asha'): the ladder, promotions and the best, as pure rules."""

import pytest

from cifar_search.errors import ConfigError
from cifar_search.search.fidelity import (
    Ladder,
    Promotion,
    RungTrial,
    best_key,
    default_rungs,
    ladder_of,
    promotion,
    rung_attrs,
    rung_of,
)

LADDER = Ladder((4, 12, 24), 3)


def done(number, rung, value, promoted_from=None):
    return RungTrial(number, rung, value, {"x": number}, promoted_from)


@pytest.mark.parametrize("epochs, factor, rungs", [
    (24, 3, (2, 8, 24)), (9, 3, (1, 3, 9)), (27, 3, (3, 9, 27)), (4, 3, (1, 4)), (1, 3, (1,)),
    (16, 2, (4, 8, 16)), (10, 4, (2, 10)),
])
def test_default_rungs(epochs, factor, rungs):
    assert default_rungs(epochs, factor) == rungs


@pytest.mark.parametrize("options, ladder", [
    ({}, Ladder((2, 8, 24), 3)),
    ({"rungs": [4, 12, 24]}, Ladder((4, 12, 24), 3)),
    ({"rungs": (6, 24), "reduction_factor": 4}, Ladder((6, 24), 4)),
    ({"reduction_factor": 2}, Ladder((6, 12, 24), 2)),
])
def test_ladder_of(options, ladder):
    assert ladder_of(options, epochs=24) == ladder


@pytest.mark.parametrize("options, message", [
    ({"min_resource": 4}, "pruner.options: 'min_resource' is not an option of pruner 'asha'; "
     "it takes rungs, reduction_factor"),
    ({"reduction_factor": 1}, "pruner.options: reduction_factor=1 is not allowed; a rung "
     "promotes its top 1/reduction_factor: a whole number >= 2"),
    ({"reduction_factor": 2.5}, "pruner.options: reduction_factor=2.5 is not allowed;"),
    ({"rungs": [12, 4, 24]}, "pruner.options: rungs=[12, 4, 24] is not allowed; rungs are "
     "epochs per rung, strictly increasing whole numbers >= 1, e.g. [4, 12, 24]"),
    ({"rungs": [0, 24]}, "pruner.options: rungs=[0, 24] is not allowed;"),
    ({"rungs": []}, "pruner.options: rungs=[] is not allowed;"),
    ({"rungs": "4,24"}, "pruner.options: rungs='4,24' is not allowed;"),
    ({"rungs": [4, 12]}, "pruner.options: rungs=[4, 12] ends at 12 epochs but budget.epochs "
     "is 24; the last rung is the budget's epochs (leave rungs out to divide the budget by "
     "reduction_factor)"),
])
def test_ladder_errors(options, message):
    with pytest.raises(ConfigError) as caught:
        ladder_of(options, epochs=24)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("trials, expected", [
    # fewer than reduction_factor complete at a rung: nothing to promote
    ([], None),
    ([done(0, 0, 0.5), done(1, 0, 0.7)], None),
    # three complete: the best of them (maximize) goes up one rung
    ([done(0, 0, 0.5), done(1, 0, 0.7), done(2, 0, 0.6)], Promotion(1, {"x": 1}, 1)),
    # ... once: a trial records it as promoted_from, in any state (here queued: no value)
    ([done(0, 0, 0.5), done(1, 0, 0.7), done(2, 0, 0.6), done(3, 1, None, 1)], None),
    # running, pruned or failed trials do not rank
    ([done(0, 0, 0.5), done(1, 0, None), done(2, 0, 0.6)], None),
    # six complete: the top two; the first one promoted, the second is next
    ([*(done(n, 0, v) for n, v in enumerate([0.1, 0.9, 0.3, 0.8, 0.2, 0.4])),
      done(6, 1, 0.95, 1)], Promotion(3, {"x": 3}, 1)),
    # ties go to the lower number
    ([done(0, 0, 0.7), done(1, 0, 0.7), done(2, 0, 0.6)], Promotion(0, {"x": 0}, 1)),
    # a higher rung promotes first
    ([*(done(n, 0, v) for n, v in enumerate([0.1, 0.9, 0.3, 0.8, 0.2, 0.4])),
      done(6, 1, 0.95, 1), done(7, 1, 0.85, 3), done(8, 1, 0.5, 99)],
     Promotion(6, {"x": 6}, 2)),
    # the top rung promotes nowhere
    ([done(0, 2, 0.9), done(1, 2, 0.8), done(2, 2, 0.7)], None),
])
def test_promotion(trials, expected):
    assert promotion(LADDER, trials, "maximize") == expected


def test_promotion_minimizing_takes_the_lowest():
    trials = [done(0, 0, 0.5), done(1, 0, 0.7), done(2, 0, 0.6)]
    assert promotion(LADDER, trials, "minimize") == Promotion(0, {"x": 0}, 1)


def test_a_resumed_ladder_promotes_what_the_first_run_would_have():
    """Every decision reads the trials as they stand: replaying a run's history one trial at a
    time, and stopping anywhere, gives the same promotions as running straight through."""
    values = [0.5, 0.7, 0.6, 0.2, 0.9, 0.1, 0.8, 0.3, 0.4]
    trials: list[RungTrial] = []
    ladder = Ladder((1, 3, 9), 3)
    decided = []
    for value in values:
        step = promotion(ladder, trials, "maximize")
        while step is not None:  # as a free worker does: promotions first
            trials.append(done(len(trials), step.rung, 0.9 + step.rung / 100, step.origin))
            decided.append((step.origin, step.rung))
            step = promotion(ladder, trials, "maximize")
        trials.append(done(len(trials), 0, value))
    # at any cut, a fresh decision on the stored trials agrees with what was decided next
    for cut in range(len(trials)):
        following = trials[cut] if cut < len(trials) else None
        step = promotion(ladder, trials[:cut], "maximize")
        if following is not None and following.promoted_from is not None:
            assert step == Promotion(following.promoted_from, {"x": following.promoted_from},
                                     following.rung)
    # by hand: 1 tops 0-2; 5 tops 0-5 (one of five); 8 is second of seven (two promote);
    # rung 1 then holds three equal trials, 3 (the lowest number) goes up
    assert decided == [(1, 1), (5, 1), (8, 1), (3, 2)]


@pytest.mark.parametrize("trials, direction, best", [
    ([(0, 0.9, 0), (1, 0.8, 1), (2, 0.5, 2)], "maximize", 2),   # the highest rung wins
    ([(1, 0.8, 3), (1, 0.85, 4), (0, 0.99, 5)], "maximize", 4),  # then the better value
    ([(1, 0.8, 3), (1, 0.8, 4)], "maximize", 3),                # then the lower number
    ([(1, 0.3, 3), (1, 0.2, 4), (0, 0.1, 5)], "minimize", 4),
    ([(0, 0.3, 3), (0, 0.2, 4)], "minimize", 4),                # no ladder: the value alone
])
def test_best_key(trials, direction, best):
    assert min(trials, key=lambda t: best_key(*t, direction))[2] == best


def test_rung_attrs_and_rung_of():
    assert rung_attrs(LADDER, 1, 7) == {"rung": 1, "rung_epochs": 12, "promoted_from": 7}
    assert rung_attrs(LADDER, 0, None) == {"rung": 0, "rung_epochs": 4}
    assert rung_of({"rung": 2}) == 2 and rung_of({}) == 0 and rung_of({"rung": True}) == 0

"""Which trials keep the sweep's constraints: the filter the best trial and the front use."""

from types import SimpleNamespace

import pytest

from cifar_search.search.feasibility import feasible, feasible_trials
from cifar_search.search.states import TrialOutcome, outcome_of


def trial(number, state="COMPLETE", user_attrs=None, constraints=None):
    system = {} if constraints is None else {f"constraints:{i}": c
                                             for i, c in enumerate(constraints)}
    return SimpleNamespace(number=number, state=SimpleNamespace(name=state),
                           user_attrs=user_attrs or {}, system_attrs=system)


@pytest.mark.parametrize("given, expected", [
    (trial(0), True),                                         # no constraints at all
    (trial(1, constraints=[-3.0, 0.0]), True),                # every value at most 0
    (trial(2, constraints=[-3.0, 0.5]), False),               # one above 0 (Optuna's rule)
    (SimpleNamespace(user_attrs={}, system_attrs={"constraints": [0.5]}), False),  # older form
    (trial(3, "PRUNED", {"infeasible": "params 9 > 5"}, [4.0]), False),
    (trial(4, user_attrs={"infeasible": "latency_ms 3 > 2"}), False),
])
def test_feasible(given, expected):
    assert feasible(given) is expected


def test_the_filter_keeps_order_and_the_outcome_says_infeasible():
    trials = [trial(0), trial(1, "PRUNED", {"infeasible": "params 9 > 5"}, [4.0]),
              trial(2, user_attrs={"infeasible": "latency_ms 3 > 2"}), trial(3)]
    assert [t.number for t in feasible_trials(trials)] == [0, 3]
    assert [outcome_of(t) for t in trials] == [
        TrialOutcome.COMPLETE, TrialOutcome.INFEASIBLE, TrialOutcome.INFEASIBLE,
        TrialOutcome.COMPLETE]
    assert TrialOutcome.INFEASIBLE.counts and TrialOutcome.INFEASIBLE.ended
    assert TrialOutcome.INFEASIBLE.run_status == "FINISHED"

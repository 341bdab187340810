"""The Pareto front and the pick rule (pure)."""

import pytest

from cifar_search.search.front import Point, dominates, front, picked

MAX_MIN = ("maximize", "minimize")


@pytest.mark.parametrize("a, b, directions, expected", [
    ((0.7, 10.0), (0.6, 10.0), MAX_MIN, True),
    ((0.7, 10.0), (0.7, 10.0), MAX_MIN, False),   # equal: neither dominates
    ((0.7, 20.0), (0.6, 10.0), MAX_MIN, False),   # better on one, worse on the other
    ((0.5, 5.0), (0.6, 10.0), ("minimize", "minimize"), True),
    ((0.6, 10.0, 3.0), (0.6, 10.0, 4.0), ("maximize", "minimize", "minimize"), True),
])
def test_dominates(a, b, directions, expected):
    assert dominates(a, b, directions) is expected


def test_the_front_keeps_the_undominated_in_trial_order_and_ties_stay():
    points = [Point(3, (0.60, 2000.0)), Point(0, (0.70, 9000.0)), Point(1, (0.55, 5000.0)),
              Point(2, (0.70, 9000.0)), Point(4, (0.50, 2000.0))]
    assert [p.number for p in front(points, MAX_MIN)] == [0, 2, 3]


def test_one_objective_front_is_the_best():
    points = [Point(0, (0.3,)), Point(1, (0.1,)), Point(2, (0.2,))]
    assert [p.number for p in front(points, ("minimize",))] == [1]


def test_pick_is_the_best_on_its_objective_among_the_front_ties_to_the_lower_number():
    members = [Point(0, (0.70, 9000.0)), Point(2, (0.70, 8000.0)), Point(3, (0.60, 2000.0))]
    assert picked(members, MAX_MIN, 0).number == 0
    assert picked(members, MAX_MIN, 1).number == 3
    assert picked([], MAX_MIN, 0) is None

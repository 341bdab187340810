"""The verdict on constructed scores whose answer is known."""

import json
import math

import numpy as np
import pytest

from cifar_search.search.verdict import NOISE, Scores, verdict


def noisy(centre, spread, count, seed):
    """``count`` scores around ``centre``, reproducibly."""
    return tuple(np.random.default_rng(seed).normal(centre, spread, count))


def test_a_clear_winner_is_almost_surely_the_best():
    result = verdict([Scores("b", noisy(0.60, 0.01, 5, 1)), Scores("a", noisy(0.70, 0.01, 5, 2)),
                      Scores("c", noisy(0.50, 0.01, 5, 3))], "maximize")
    leader, second, third = result.standings
    assert [s.label for s in result.standings] == ["a", "b", "c"]
    assert leader.p_best > 0.99 and leader.within_noise is None
    assert second.within_noise is False and second.p_better < NOISE
    assert second.interval[0] > 0  # the leader ahead over the whole interval
    assert result.headline().startswith("a is clearly the best")


def test_a_tie_within_noise_gives_both_a_substantial_chance():
    result = verdict([Scores("a", (0.61, 0.64, 0.60, 0.63)), Scores("b", (0.63, 0.59, 0.64, 0.61)),
                      Scores("far", (0.90, 0.91, 0.92, 0.90))], "minimize")
    leader, second, far = result.standings
    assert (leader.label, second.label) == ("b", "a")  # minimize: the lower mean leads
    assert leader.p_best > 0.25 and second.p_best > 0.25
    assert leader.p_best + second.p_best == pytest.approx(1.0)
    assert second.within_noise is True and second.interval[0] < 0 < second.interval[1]
    assert far.within_noise is False and far.p_best == 0.0
    assert "within noise of a" in result.headline()


def test_deterministic_scores_give_a_certain_order_and_identical_ones_a_tie():
    apart = verdict([Scores("low", (0.5, 0.5, 0.5)), Scores("high", (0.6, 0.6, 0.6))],
                    "maximize")
    assert [(s.label, s.p_best, s.p_better) for s in apart.standings] == [
        ("high", 1.0, None), ("low", 0.0, 0.0)]
    assert apart.standings[1].interval == pytest.approx((0.1, 0.1))
    same = verdict([Scores("a", (0.5, 0.5)), Scores("b", (0.5, 0.5))], "maximize")
    assert [s.p_best for s in same.standings] == [0.5, 0.5]
    assert same.standings[1].p_better == 0.5 and same.standings[1].within_noise


def test_the_same_scores_give_the_same_verdict():
    scores = [Scores("a", noisy(0.6, 0.05, 3, 4)), Scores("b", noisy(0.6, 0.05, 3, 5))]
    assert verdict(scores, "maximize") == verdict(scores, "maximize")


@pytest.mark.parametrize("scores, reason", [
    ([Scores("a", (0.5,)), Scores("b", (0.6,))], "each candidate has one score; for one, "
     "train each with several seeds: repeats=3 in the sweep, or --repeats 3"),
    ([Scores("a", (0.5, 0.6)), Scores("b", (0.6,))], "only one candidate has two scores"),
    ([], "no candidate has a score yet"),
])
def test_without_repeats_no_verdict_is_possible_and_the_line_says_how_to_get_one(scores, reason):
    result = verdict(scores, "maximize")
    assert not result.possible and result.draws == 0
    (line,) = result.lines("val_accuracy")
    assert line.startswith("verdict: none possible, " + reason)
    assert all(s.p_best is None for s in result.standings)


def test_nan_scores_are_left_out_and_a_candidate_short_of_two_gets_no_verdict():
    nan = float("nan")
    result = verdict([Scores("a", (0.7, nan, 0.72)), Scores("b", (0.5, 0.52)),
                      Scores("broken", (nan, nan)), Scores("single", (0.9, nan))], "maximize")
    single, a, b, broken = result.standings
    assert (single.label, single.p_best, single.dropped) == ("single", None, 1)
    assert a.scores == (0.7, 0.72) and a.dropped == 1 and a.p_best > 0.9
    assert broken.label == "broken" and math.isnan(broken.mean) and broken.p_best is None
    assert result.compared == 2
    text = "\n".join(result.lines("val_accuracy"))
    assert "no verdict: fewer than two scores" in text and "1 NaN left out" in text
    plain = json.loads(json.dumps(result.to_dict(), allow_nan=False))  # NaN as null
    assert plain["candidates"][3]["mean"] is None
    assert plain["candidates"][1]["p_best"] == a.p_best


def test_only_the_top_are_shown_but_all_compete():
    scores = [Scores(str(i), (0.5 - i / 100, 0.5 - i / 100 + 0.02)) for i in range(8)]
    result = verdict(scores, "maximize", top=3)
    assert len(result.standings) == 3 and result.compared == 8
    assert sum(s.p_best for s in result.standings) <= 1.0


def test_a_direction_other_than_maximize_or_minimize_is_refused():
    with pytest.raises(ValueError, match="direction='up' is not allowed"):
        verdict([], "up")

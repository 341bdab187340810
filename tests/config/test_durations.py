import pytest

from cifar_search.config.durations import MAX_DURATION_S, seconds, shown_duration


@pytest.mark.parametrize("given, expected", [
    ("2h", 7200.0), ("90m", 5400.0), ("1h30m", 5400.0), ("45s", 45.0), ("1.5h", 5400.0),
    ("2d", 172_800.0), (" 1H 30M ", 5400.0), (600, 600.0), (0.5, 0.5), ("366d", MAX_DURATION_S),
])
def test_a_duration_is_read_in_seconds(given, expected):
    assert seconds(given) == expected


@pytest.mark.parametrize("given", [
    "", "2", "2x", "h", "1h1h", "-1h", "1h-", 0, -5, float("nan"), float("inf"), True, None,
    [1], "367d",
])
def test_what_is_not_a_duration_is_none(given):
    assert seconds(given) is None


@pytest.mark.parametrize("total, shown", [
    (0, "0s"), (0.4, "0s"), (45, "45s"), (3600, "1h"), (5400, "1h30m"), (93_784, "1d2h3m4s"),
    (-3, "0s"),
])
def test_a_duration_is_shown_in_its_largest_units(total, shown):
    assert shown_duration(total) == shown

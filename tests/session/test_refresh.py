"""The parent run's summary refreshed during a run: the rule (pure), and a refresh that fails
being said once while the run goes on."""

import threading

import pytest

from cifar_search.session import refresh
from cifar_search.session.refresh import RefreshRule, SummaryRefresh


@pytest.mark.parametrize(("finished", "target", "last", "now", "last_time", "due"), [
    (2, 10, 0, 0.0, None, False),    # fewer than `every` trials since the start
    (3, 10, 0, 0.0, None, True),     # the first refresh: no time to wait for
    (4, 10, 0, 0.0, None, True),     # trials that ended together count once
    (6, 10, 3, 100.0, 50.0, False),  # 50 s since the last: too soon
    (6, 10, 3, 110.0, 50.0, True),   # 60 s since the last
    (5, 10, 3, 500.0, 50.0, False),  # two more trials only
    (10, 10, 6, 500.0, 50.0, False),  # the target: the final summary follows
    (13, 10, 0, 0.0, None, False),   # beyond it (several machines)
])
def test_a_refresh_is_due_after_every_few_trials_at_most_once_a_minute_before_the_target(
        finished, target, last, now, last_time, due):
    rule = RefreshRule(every=3, min_seconds=60)
    assert rule.due(finished, target, last, now, last_time) is due


def test_a_resumed_run_counts_its_trials_from_where_it_starts(monkeypatch):
    monkeypatch.setattr(refresh, "RULE", RefreshRule(every=2, min_seconds=0))
    refresher = SummaryRefresh(sweep=None, tracker=None, finished=7, say=print)
    refresher.after_end(8, 20, lambda: pytest.fail("not due: one trial since the start"))
    assert refresher.thread is None


def test_the_first_refresh_waits_a_minute_from_the_start_so_a_short_run_draws_once():
    assert refresh.RULE == RefreshRule(every=3, min_seconds=60)
    refresher = SummaryRefresh(sweep=None, tracker=None, finished=0, say=print)
    refresher.after_end(5, 20, lambda: pytest.fail("not due: the run started just now"))
    assert refresher.thread is None


def test_a_failing_refresh_is_said_once_and_the_run_goes_on(monkeypatch):
    monkeypatch.setattr(refresh, "RULE", RefreshRule(every=1, min_seconds=0))
    drawn = threading.Event()

    def draw(study, sweep, tracker):
        drawn.set()
        raise OSError("disk full")

    monkeypatch.setattr("cifar_search.tracking.summary.snapshot", lambda study: study)
    monkeypatch.setattr("cifar_search.tracking.summary.draw_now", draw)
    said = []
    refresher = SummaryRefresh(sweep=None, tracker=None, finished=0, say=said.append)
    for finished in (1, 2, 3):
        refresher.after_end(finished, 10, lambda: "study")
        refresher.thread.join()
        refresher.poll()  # the error is said here, in the run's thread
    assert drawn.is_set() and refresher.thread is None
    assert said == ["the summary could not be refreshed during the run (OSError: disk full); "
                    "the run goes on and writes it at its end"]
    refresher.close()

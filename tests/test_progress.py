"""The terminal's progress: a line for every step that outlasts two seconds, none for shorter
ones, and the bars' 'starting workers' until a worker is ready."""

from __future__ import annotations

import io
import sys

from cifar_search.progress import STARTING, Progress, shown_steps, step_line


def test_only_steps_past_two_seconds_are_shown():
    steps = [("loading the data", 0.0), ("drawing the summary's plots", 9.5)]
    assert shown_steps(steps, 10.0) == ["loading the data… 10 s"]
    assert shown_steps(steps, 1.9) == []
    assert step_line("registering", 2.99) == "registering… 2 s"


def test_a_slow_step_has_a_line_on_the_terminal_and_a_quick_one_none(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    now = [0.0]
    progress = Progress(enabled=True, clock=lambda: now[0])
    progress.ticker = object()  # no refreshing thread: the test refreshes by hand
    with progress.step("evaluating the best model on the test set"):
        now[0] = 1.0
        progress._refresh()
        assert "evaluating" not in stream.getvalue()
        now[0] = 3.5
        progress._refresh()
        assert "evaluating the best model on the test set… 3 s" in stream.getvalue()
    assert progress.lines == []  # the line goes with its step
    with progress.step("drawing the summary's plots"):
        now[0] = 4.0
    progress._refresh()
    assert "drawing" not in stream.getvalue()
    assert [name for name, _ in progress.timings] == [
        "evaluating the best model on the test set", "drawing the summary's plots"]


def test_the_epochs_bar_says_starting_workers_until_one_is_ready(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    progress = Progress(enabled=True)
    progress.ticker = object()
    progress.start(2, 0, 3)
    assert STARTING in stream.getvalue()
    progress.started()
    assert progress.epochs is not None and not progress.epochs.postfix
    progress.close()

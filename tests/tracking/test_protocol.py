"""The run writer is what the recorders take it for: every call of the TrialTracker protocol,
with the same parameters."""

import inspect

from cifar_search.tracking.protocol import TrialTracker
from cifar_search.tracking.writer import Tracker


def test_the_tracker_has_every_call_of_the_protocol_with_its_signature():
    calls = [name for name, _ in inspect.getmembers(TrialTracker, inspect.isfunction)
             if not name.startswith("_")]
    assert calls
    for name in calls:
        assert inspect.signature(getattr(Tracker, name)) == inspect.signature(
            getattr(TrialTracker, name)), name

"""What a worker is handed: the measures it takes beyond its history."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from cifar_search import Objective, Sweep
from cifar_search.session.tasks import trial_task


@pytest.mark.parametrize("objective, constraints, measures", [
    (Objective("val_loss"), {}, ()),
    (Objective("val_loss"), {"latency_ms": "<= 2"}, ("latency_ms",)),  # measured for the constraint
    (Objective(["val_accuracy", "params"]), {"latency_ms": "<= 2", "params": "<= 1k"},
     ("val_accuracy", "params", "latency_ms")),
])
def test_a_worker_measures_each_objective_and_each_constrained_measure(
        objective, constraints, measures):
    sweep = Sweep("x", {"parameters": {"dropout_rate": {"grid": [0.1, 0.2]}}}, "dropout",
                  objective=objective, constraints=constraints, sampler="grid")
    task = trial_task(sweep, SimpleNamespace(number=0, params={}), 0, 1, Path("d"), Path("t"),
                      None)
    assert task.measures == measures

"""The KerasTuner engine's coordinator: the order of its fixed start-up costs."""

import dataclasses
import multiprocessing.forkserver
import os

import pytest

from cifar_search import load_sweep
from cifar_search.engines.kerastuner.coordinator import Coordinator
from cifar_search.workspace import Workspace
from tests.engines.kerastuner.sweeps import GRID, write

pytestmark = pytest.mark.processes


class Stop(Exception):
    """Ends the run where the test has seen what it looks for."""


def test_fork_server_runs_before_the_mlflow_store_is_created(tmp_path, tiny_data,
                                                             monkeypatch):
    """TensorFlow is imported in the fork server while the coordinator creates the MLflow
    store and imports KerasTuner, not after."""
    seen = []

    def create_mlflow_store(workspace):
        seen.append(multiprocessing.forkserver._forkserver._forkserver_pid)
        raise Stop

    monkeypatch.setattr("cifar_search.tracking.store.create_mlflow_store", create_mlflow_store)
    sweep = load_sweep(tmp_path / write(tmp_path, "early", space=GRID))
    sweep = dataclasses.replace(sweep, data=dataclasses.replace(sweep.data,
                                                                source=str(tiny_data)))
    with pytest.raises(Stop):
        Coordinator(sweep, Workspace.at(tmp_path / "ws"), say=lambda line: None).run()
    assert seen and seen[0] is not None
    os.kill(seen[0], 0)  # alive: raises ProcessLookupError otherwise

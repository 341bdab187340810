"""The best model is registered where the sweep asks, by default in the workspace's own
store only."""

import dataclasses

import pytest

from cifar_search.errors import ConfigError
from cifar_search.tracking.registry import registers
from cifar_search.workspace import Workspace
from tests.tracking.runs import SWEEP


def test_the_best_model_is_registered_by_default_only_in_the_workspaces_own_store(tmp_path):
    own = Workspace.at(tmp_path / "ws")
    server = Workspace.at(tmp_path / "ws", tracking_uri="http://127.0.0.1:5000")
    assert registers(SWEEP, own) and not registers(SWEEP, server)
    assert not registers(dataclasses.replace(SWEEP, register=False), own)
    assert registers(dataclasses.replace(SWEEP, register=True), server)


def test_register_must_be_true_false_or_none():
    with pytest.raises(ConfigError, match="register: 'yes' is not allowed; register is True, "
                                          r"False or None \(on for the workspace's store\)"):
        dataclasses.replace(SWEEP, register="yes")

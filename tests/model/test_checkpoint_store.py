"""Where trial files live: a model recorded on one machine found on another."""

from pathlib import Path

import pytest

from cifar_search.model.checkpoint_store import local_model
from cifar_search.workspace import Workspace


def test_a_recorded_model_that_exists_here_is_used_as_is(tmp_path):
    model = tmp_path / "00003" / "model.keras"
    model.parent.mkdir()
    model.write_bytes(b"x")
    assert local_model(str(model), tmp_path / "elsewhere" / "00003") == model


@pytest.mark.parametrize("recorded, expected", [
    ("/mnt/a/sweep/00003/model.keras", "/mnt/b/sweep/00003/model.keras"),
    ("/mnt/a/sweep/00003/seed-1/model.keras", "/mnt/b/sweep/00003/seed-1/model.keras"),
    ("/elsewhere/model.keras", "/mnt/b/sweep/00003/model.keras"),
])
def test_a_model_recorded_under_another_mount_is_found_under_this_one(recorded, expected):
    assert local_model(recorded, Path("/mnt/b/sweep/00003")) == Path(expected)


def test_trial_folders_go_to_the_checkpoints_folder_when_given(tmp_path):
    assert Workspace.at(tmp_path / "ws").trial_dir("s", 3) == tmp_path / "ws/trials/s/00003"
    shared = Workspace.at(tmp_path / "ws", checkpoints=str(tmp_path / "shared"))
    assert shared.trial_dir("s", 3) == tmp_path / "shared/s/00003"

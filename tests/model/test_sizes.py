"""The smallest image each built-in family takes, and data too small refused before any
study."""

from __future__ import annotations

import pytest

from cifar_search.config.sweep import Sweep
from cifar_search.errors import DataError
from cifar_search.model.sizes import smallest_side, smallest_side_of
from cifar_search.session.data import prepare_data
from cifar_search.workspace import Workspace
from tests.conftest import gray_arrays, make_npz


@pytest.mark.parametrize("family, depth, side", [
    ("intro", None, 18), ("dropout", None, 18), ("resnet", None, 1),
    ("vgg", 3, 8), ("bnnet", 1, 2), ("fastnet", None, 8), ("unknown", None, 1),
])
def test_smallest_sides(family, depth, side):
    assert smallest_side(family, depth) == side


def test_a_swept_depth_counts_its_smallest_value():
    sweep = Sweep(name="s", model="vgg", space={"parameters": {"depth": {"choices": [2, 4]}}})
    assert smallest_side_of(sweep) == 4


def test_images_too_small_for_the_family_are_refused_before_any_study(tmp_path):
    source = make_npz(tmp_path / "small.npz", **gray_arrays(size=16))
    sweep = Sweep(name="s", model="intro", space={"parameters": {"filters": 4}},
                  source="sweep.py")
    sweep = sweep.override(data=str(source))
    workspace = Workspace(tmp_path / "ws")
    with pytest.raises(DataError) as caught:
        prepare_data(sweep, workspace)
    assert str(caught.value) == (f"sweep.py: model 'intro' takes images of at least 18x18 "
                                 f"pixels; the data's are 16x16 ({source}); choose another "
                                 "model family or larger images")
    assert not (tmp_path / "ws" / "optuna.db").exists()
    assert prepare_data(sweep.override(model="resnet"), workspace).is_dir()

"""A class-subset sweep end to end: the command line, a worker process, early stopping,
augmentation and validation on the test set, on generated images."""

import json

import pytest

from tests.helpers import cli_inline

pytestmark = pytest.mark.processes

SWEEP = """
from cifar_search import Augmentation, Budget, Data, EarlyStopping, Objective, Sweep

sweep = Sweep(
    name="subset",
    space={"parameters": {"learning_rate": {"grid": [0.01, 0.001]}}},
    model="dropout",
    data=Data(source=%r, classes=["c6", "c1", "c4"], validation="test"),
    budget=Budget(epochs=2, batch_size=8,
                  early_stopping=EarlyStopping("val_accuracy", 1, keep_best="val_loss")),
    augmentation=Augmentation(flip=True, shift=0.1),
    objective=Objective("val_accuracy"),
    sampler="grid",
    trials=1,
)
"""


def test_a_class_subset_sweep_runs_end_to_end(tmp_path, tiny_data):
    (tmp_path / "sweep.py").write_text(SWEEP % str(tiny_data))
    run = cli_inline("run", "sweep.py", "--workspace", "ws", cwd=tmp_path)
    assert "test set: trial 0 accuracy=" in run.stdout
    exported = json.loads(cli_inline("export", "sweep.py", "--format", "json", "--output", "-",
                                     "--workspace", "ws", cwd=tmp_path).stdout)
    trial = exported[0] if isinstance(exported, list) else exported["trials"][0]
    assert trial["state"] == "complete"
    assert trial["param.classes"] == "c6,c1,c4" and trial["param.flip"] is True
    assert trial["param.stop_monitor"] == "val_accuracy" and trial["param.stop_patience"] == 1
    folder = tmp_path / "ws" / "trials" / "subset" / "00000"
    assert json.loads((folder / "data.json").read_text())["classes"] == ["c6", "c1", "c4"]
    state = json.loads((folder / "state.json").read_text())
    assert 1 <= state["epochs"] <= 2 and "early_stopping" in state
    # the test set of those 3 classes: 2 images each, validated on (the validation is the test)
    assert trial["value"] == pytest.approx(
        state["history"][state["early_stopping"]["kept_epoch"] - 1]["val_accuracy"])

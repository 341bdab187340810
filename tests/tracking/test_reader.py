"""The run reader reads a workspace's own files, wherever it has been moved, and reading a
workspace creates nothing."""

import shutil

from cifar_search.tracking.reader import RunReader, latest_search_table
from cifar_search.workspace import Workspace
from tests.tracking.runs import listing


def test_a_moved_workspace_reads_its_own_artifacts(recorded, tmp_path):
    original, parent = recorded
    moved = tmp_path / "elsewhere" / "ws"
    shutil.copytree(original, moved)  # the original stays: its files must not be read
    (original.parent / "away").mkdir(exist_ok=True)
    hidden = original.parent / "away" / "artifacts"
    original_artifacts = original / "artifacts"
    original_artifacts.rename(hidden)
    try:
        table = latest_search_table(Workspace.at(moved), "moved", "sklearn", "fixed",
                                    "candidates.csv")
        reader = RunReader.of(Workspace.at(moved), "moved")
        sweep_json = reader.artifact(parent, "sweep.json", tmp_path)
    finally:
        hidden.rename(original_artifacts)
    assert table.to_dict("records") == [{"candidate": "optimizer=sgd", "mean_score": 0.5}]
    assert sweep_json.is_relative_to(moved) and '"moved"' in sweep_json.read_text()


def test_reading_a_workspace_without_stores_creates_nothing(tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    reader = RunReader.of(workspace, "moved")
    assert reader.final_metrics("0" * 32) == {} and reader.metric_history("0" * 32, "x") == []
    assert reader.child_runs("0" * 32) == {}
    assert latest_search_table(workspace, "moved", "sklearn", "fixed", "candidates.csv") is None
    assert not workspace.root.exists()


def test_reading_a_store_without_the_experiment_creates_nothing(recorded):
    original, _ = recorded
    before = listing(original)
    reader = RunReader.of(Workspace.at(original), "never-run")
    assert reader.experiment_id is None and reader.child_runs("0" * 32) == {}
    assert latest_search_table(Workspace.at(original), "never-run", "sklearn", "fixed",
                               "candidates.csv") is None
    assert listing(original) == before

"""The MLflow adapter keeps a workspace's artifacts in that workspace, wherever it has been
moved or copied, and reading a workspace creates nothing."""

import dataclasses
import shutil
import tarfile

import pytest

from cifar_search import Space, Sweep, load_sweep
from cifar_search.errors import ConfigError
from cifar_search.tracking.mlflow import (RunReader, SearchTracker, Tracker, latest_search_table,
                                          readable, registers, sweep_params)
from cifar_search.workspace import Workspace
from tests.helpers import ROOT

LEGACY = ROOT / "tests" / "data" / "legacy-14511ce.tar.gz"

SWEEP = Sweep(name="moved", model="intro", sampler="grid",
              space=Space.from_dict({"parameters": {"optimizer": {"grid": ["sgd", "adam"]}}}))


def listing(folder):
    """Every file under ``folder`` with its size and modification time."""
    return sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A workspace with a study's parent run (sweep.json) and an sklearn search
    (candidates.csv), made once; each test copies it."""
    root = tmp_path_factory.mktemp("recorded") / "ws"
    workspace = Workspace.at(root)
    tracker = Tracker(workspace, SWEEP)
    parent = tracker.open_parent(None, "token")
    tracker.update_parent({"trials": 2, "workers": 1})
    search = SearchTracker(workspace, SWEEP, "sklearn", "fixed")
    search.open("moved-sklearn", {"cv": 2})
    table = root.parent / "candidates.csv"
    table.write_text("candidate,mean_score\noptimizer=sgd,0.5\n")
    search.log_summary({"best_score": 0.5}, {}, [table])
    search.close("FINISHED")
    return root, parent


def test_a_copied_workspace_writes_its_artifacts_into_the_copy(recorded, tmp_path):
    original, parent = recorded
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    before = listing(original)
    tracker = Tracker(Workspace.at(copy), SWEEP)
    assert tracker.open_parent(parent, "token") == parent
    tracker.update_parent({"trials": 3, "workers": 1})
    summary = tmp_path / "trials.csv"
    summary.write_text("number,value\n0,0.5\n")
    tracker.log_summary({"best_value": 0.5}, [summary])
    run = tracker.start_trial(0, {"optimizer": "sgd"}, seed=1)
    tracker.log_artifacts(run, [summary], "tables")
    own = copy / "artifacts" / "moved"
    assert {"sweep.json", "summary.json", "trials.csv"} <= {
        p.name for p in (own / parent / "artifacts").iterdir()}
    assert (own / run / "artifacts" / "tables" / "trials.csv").is_file()
    assert listing(original) == before  # the original is untouched


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


def test_new_experiments_in_a_database_keep_artifacts_in_the_workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    workspace = Workspace.at("ws", tracking_uri=f"sqlite:///{tmp_path / 'other.db'}")
    tracker = Tracker(workspace, SWEEP)
    parent = tracker.open_parent(None, "token")
    tracker.update_parent({"trials": 1, "workers": 1})
    location = tracker.client.get_experiment(tracker.experiment_id).artifact_location
    assert location == (tmp_path / "ws" / "artifacts" / "moved").as_uri()
    assert (tmp_path / "ws" / "artifacts" / "moved" / parent / "artifacts" / "sweep.json").is_file()
    assert not (tmp_path / "mlruns").exists()


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


def test_a_legacy_workspace_unpacked_elsewhere_writes_into_itself(tmp_path):
    """The previous release's workspace stores absolute locations under the folder it was
    made in; unpacked anywhere else, it still writes and reads its own files."""
    with tarfile.open(LEGACY) as archive:
        archive.extractall(tmp_path, filter="data")
    workspace = Workspace.at(tmp_path / "ws")
    tracker = Tracker(workspace, load_sweep(str(tmp_path / "sweep.py")))
    parent = tracker.client.search_runs([tracker.experiment_id],
                                        filter_string="attributes.run_name = 'legacy'")[0]
    assert parent.info.artifact_uri.startswith("file:///tmp/cifar-search-legacy/")
    tracker.parent_id = parent.info.run_id
    tracker.update_parent({"trials": 4, "workers": 1})
    written = tmp_path / "ws" / "artifacts" / "legacy" / parent.info.run_id / "artifacts"
    assert (written / "sweep.json").is_file()
    assert RunReader.of(workspace, "legacy").artifact(parent.info.run_id, "sweep.json",
                                                      tmp_path) == written / "sweep.json"


def test_the_best_tag_and_name_move_to_a_new_best_and_colours_are_set(tmp_path):
    tracker = Tracker(Workspace.at(tmp_path / "ws"), SWEEP)
    tracker.open_parent(None, "token")
    first, second = (tracker.start_trial(n, {"optimizer": o}, seed=n)
                     for n, o in enumerate(("sgd", "adam")))
    tracker.mark_runs(first, {first: "#000001", second: "#000002"})
    tracker.mark_runs(second, {first: "#000001", second: "#000002"})
    runs = {run.run_id: run for run in tracker.child_runs(tracker.parent_id).values()}
    assert runs[second].name == "trial-0001 (best)" and runs[second].tags["best"] == "true"
    assert runs[first].name == "trial-0000" and "best" not in runs[first].tags
    assert runs[first].tags["mlflow.runColor"] == "#000001"


def test_a_new_store_lists_no_default_experiment(tmp_path):
    tracker = Tracker(Workspace.at(tmp_path / "ws"), SWEEP)
    assert [e.name for e in tracker.client.search_experiments()] == ["moved"]


def test_floats_read_back_from_keras_are_rounded_to_what_was_asked():
    assert readable(0.0010000000474974513) == 0.001 and readable(0.9) == 0.9
    assert readable("adam") == "adam" and readable(3) == 3


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


def test_the_parent_records_the_oracle_that_chooses_not_the_idle_sampler():
    assert sweep_params(SWEEP)["sampler"] == "grid" and "oracle" not in sweep_params(SWEEP)
    tuned = dataclasses.replace(SWEEP, engine="kerastuner", trials=None,
                                options={"kerastuner": {"oracle": "hyperband"}})
    assert sweep_params(tuned)["oracle"] == "hyperband" and "sampler" not in sweep_params(tuned)



def _lines(sql):
    """A CREATE statement's lines, sorted, trailing commas apart: MLflow's migrations write a
    table's constraints in an order that differs from one build to the next."""
    return sorted(line.strip().rstrip(",") for line in (sql or "").splitlines())


def _contents(path):
    """Schema, rows (experiments without their times) and the experiments' times of a
    SQLite file."""
    import sqlite3

    with sqlite3.connect(path) as db:
        schema = sorted((kind, name, _lines(sql)) for kind, name, sql
                        in db.execute("SELECT type, name, sql FROM sqlite_master"))
        rows = {name: sorted(map(repr, db.execute(f'SELECT * FROM "{name}"').fetchall()))
                for (kind, name, _) in schema if kind == "table" and name != "experiments"}
        rows["experiments"] = db.execute(
            "SELECT experiment_id, name, artifact_location, lifecycle_stage, workspace "
            "FROM experiments").fetchall()
        times = db.execute("SELECT creation_time, last_update_time FROM experiments").fetchall()
    db.close()
    return schema, rows, times


def test_a_store_copied_from_the_cached_template_is_what_building_it_gives(tmp_path,
                                                                            monkeypatch):
    """The template is built once, in the cache folder, as MLflow builds a store; a copy has
    its schema and rows, the Default experiment (deleted) at the new workspace's artifact root
    (where a store built there has it: see the next test), times of now."""
    import time

    from cifar_search.tracking import mlflow as tracking

    monkeypatch.setenv("CIFAR_SEARCH_CACHE", str(tmp_path / "cache"))
    Workspace.at(tmp_path / "first").create_mlflow_store()  # builds the template
    template = tmp_path / "cache" / tracking.template_name()
    assert list((tmp_path / "cache").iterdir()) == [template]
    before = int(time.time() * 1000)
    copied = Workspace.at(tmp_path / "copied")
    copied.create_mlflow_store()
    schema, rows, times = _contents(copied.root / "mlflow.db")
    expected_schema, expected_rows, _ = _contents(template)
    assert expected_rows["experiments"] == [
        (0, "Default", f"{tracking.TEMPLATE_ARTIFACT_ROOT}/0", "deleted", "default")]
    assert schema == expected_schema and rows == {**expected_rows, "experiments": [
        (0, "Default", f"{copied.artifacts.as_uri()}/0", "deleted", "default")]}
    assert all(before <= t <= int(time.time() * 1000) for row in times for t in row)


def test_an_unwritable_cache_folder_builds_the_store_in_place(tmp_path, monkeypatch):
    """Built by MLflow's migrations at the workspace's artifact root, as before the cache."""
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("CIFAR_SEARCH_CACHE", str(tmp_path / "file" / "cache"))
    workspace = Workspace.at(tmp_path / "ws")
    workspace.create_mlflow_store()
    _, rows, _ = _contents(workspace.root / "mlflow.db")
    assert rows["experiments"] == [
        (0, "Default", f"{workspace.artifacts.as_uri()}/0", "deleted", "default")]

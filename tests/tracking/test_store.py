"""The MLflow store: a copy of the cached template is what building it gives, and it lists
no default experiment."""

from cifar_search.tracking import store as tracking
from cifar_search.tracking.store import create_mlflow_store
from cifar_search.tracking.writer import Tracker
from cifar_search.workspace import Workspace
from tests.tracking.runs import SWEEP


def test_a_new_store_lists_no_default_experiment(tmp_path):
    tracker = Tracker(Workspace.at(tmp_path / "ws"), SWEEP)
    assert [e.name for e in tracker.client.search_experiments()] == ["moved"]


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

    monkeypatch.setenv("CIFAR_SEARCH_CACHE", str(tmp_path / "cache"))
    create_mlflow_store(Workspace.at(tmp_path / "first"))  # builds the template
    template = tmp_path / "cache" / tracking.template_name()
    assert list((tmp_path / "cache").iterdir()) == [template]
    before = int(time.time() * 1000)
    copied = Workspace.at(tmp_path / "copied")
    create_mlflow_store(copied)
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
    create_mlflow_store(workspace)
    _, rows, _ = _contents(workspace.root / "mlflow.db")
    assert rows["experiments"] == [
        (0, "Default", f"{workspace.artifacts.as_uri()}/0", "deleted", "default")]

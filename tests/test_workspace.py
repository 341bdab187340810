"""The workspace: its stores are created whole, once."""

import sqlite3

from cifar_search.workspace import Workspace


def tables(path):
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("select name from sqlite_master where type='table'")}


def test_stores_are_created_whole_and_never_replaced(tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    workspace.create_stores()
    optuna_tables = tables(workspace.root / "optuna.db")
    mlflow_tables = tables(workspace.root / "mlflow.db")
    assert {"studies", "trials", "alembic_version"} <= optuna_tables
    assert {"experiments", "runs", "metrics", "alembic_version"} <= mlflow_tables
    assert not any(name.startswith("_alembic_tmp") for name in mlflow_tables)
    before = (workspace.root / "mlflow.db").stat().st_ino
    workspace.create_stores()
    assert (workspace.root / "mlflow.db").stat().st_ino == before
    assert sorted(p.name for p in workspace.root.iterdir() if p.name.startswith(".")) == []


def test_a_half_built_store_left_by_a_kill_is_not_in_the_way(tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    workspace.create()
    (workspace.root / ".mlflow.db.999999.partial").write_text("killed mid-migration")
    workspace.create_stores()
    assert "runs" in tables(workspace.root / "mlflow.db")

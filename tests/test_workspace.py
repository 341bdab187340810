"""The workspace: its stores are created whole, once, and its URLs are shown without
passwords."""

import sqlite3

import pytest

from cifar_search.errors import ConfigError
from cifar_search.workspace import Workspace, masked


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


# --------------------------------------------------------------------------------------------
# passwords are masked wherever a URL is shown
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, shown", [
    ("postgresql://u:s3cret@127.0.0.1:1/db", "postgresql://u:***@127.0.0.1:1/db"),
    ("mysql+pymysql://me:p@ss:w@db.example/optuna?x=1", "mysql+pymysql://me:***@db.example/optuna?x=1"),
    ("error: no study 'x' in postgresql://u:s3cret@h/db; start it",
     "error: no study 'x' in postgresql://u:***@h/db; start it"),
    ("http://a:b@one:5000 and https://c:d@two/api", "http://a:***@one:5000 and https://c:***@two/api"),
    ("postgresql://u@h/db", "postgresql://u@h/db"),  # no password: unchanged
    ("sqlite:////tmp/ws/optuna.db", "sqlite:////tmp/ws/optuna.db"),
    ("http://127.0.0.1:5000/a@b", "http://127.0.0.1:5000/a@b"),  # '@' in the path only
])
def test_masked(text, shown):
    assert masked(text) == shown


def test_shown_urls_mask_the_password(tmp_path):
    workspace = Workspace.at(tmp_path / "ws", "postgresql://u:s3cret@h/db",
                             "https://u:s3cret@mlflow.example")
    assert workspace.shown_optuna_url == "postgresql://u:***@h/db"
    assert workspace.shown_mlflow_url == "https://u:***@mlflow.example"
    assert workspace.storage_flag == "--storage" and workspace.tracking_flag == "--tracking-uri"
    assert not workspace.own_tracking and not workspace.local_tracking


def test_which_flag_chose_each_store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    plain = Workspace.at(tmp_path / "ws")
    assert (plain.storage_flag, plain.tracking_flag) == ("--workspace", "--workspace")
    assert plain.own_tracking and plain.local_tracking and plain.shown == str(tmp_path / "ws")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "postgresql://h/mlflow")
    from_env = Workspace.at()
    assert from_env.tracking_flag == "MLFLOW_TRACKING_URI" and from_env.shown == "mlruns"
    assert from_env.local_tracking  # a database: artifacts go in the workspace, not ./mlruns
    assert Workspace.at(tracking_uri="sqlite:///x.db").tracking_flag == "--tracking-uri"


# --------------------------------------------------------------------------------------------
# a store file that is there is taken only if it is a store of its kind
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, content, message", [
    ("optuna.db", b"", "ws/optuna.db is empty (0 bytes), not an Optuna database"),
    ("mlflow.db", b"", "ws/mlflow.db is empty (0 bytes), not an MLflow database"),
    ("mlflow.db", b"not a database\n", "ws/mlflow.db is not a SQLite database"),
])
def test_a_file_that_is_no_store_is_never_taken_as_new(tmp_path, monkeypatch, name, content,
                                                       message):
    monkeypatch.chdir(tmp_path)
    workspace = Workspace.at("ws")
    workspace.create()
    (workspace.root / name).write_bytes(content)
    with pytest.raises(ConfigError, match="^--workspace: ") as caught:
        workspace.create_stores()
    assert message in str(caught.value)
    assert (workspace.root / name).read_bytes() == content


def test_running_says_whether_the_lock_is_held_and_creates_nothing(tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    assert not workspace.running("sweep") and not workspace.root.exists()
    handle = workspace.lock("sweep")
    try:
        assert workspace.running("sweep") and not workspace.running("other")
    finally:
        handle.close()
    assert not workspace.running("sweep")

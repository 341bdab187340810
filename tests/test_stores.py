"""Store checks for several machines (the PostgreSQL driver and the shared checkpoints
folder), and the workspace's own stores: created whole, once, and only over nothing."""

import sqlite3

import pytest
import sqlalchemy

from cifar_search.engines.optuna.study import create_optuna_store
from cifar_search.errors import ConfigError
from cifar_search.stores import check_checkpoints, check_storage
from cifar_search.tracking.store import create_mlflow_store
from cifar_search.workspace import Workspace


def create_stores(workspace):
    """Both of the workspace's stores, as ``run`` creates them."""
    create_optuna_store(workspace)
    create_mlflow_store(workspace)


def test_a_missing_postgres_driver_names_the_extra(monkeypatch, tmp_path):
    def no_driver(*args, **kwargs):
        raise ImportError("no module named psycopg", name="psycopg")

    monkeypatch.setattr(sqlalchemy, "create_engine", no_driver)
    workspace = Workspace.at(tmp_path, storage="postgresql://me:secret@db/optuna")
    with pytest.raises(ConfigError) as error:
        check_storage(workspace)
    assert str(error.value) == (
        "--storage: postgresql://me:***@db/optuna: its database driver (psycopg) is not "
        'installed; pip install "cifar_search[postgres]" (or pip install "psycopg[binary]")')


def test_checkpoints_must_be_a_folder_that_can_be_written(tmp_path):
    check_checkpoints(Workspace.at(tmp_path, checkpoints=str(tmp_path / "new" / "folder")))
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError) as error:
        check_checkpoints(Workspace.at(tmp_path, checkpoints=str(tmp_path / "file" / "x")))
    assert str(error.value) == (f"--checkpoints: {tmp_path}/file/x: {tmp_path}/file is not a "
                                "folder; give a folder every machine can write to")


def test_run_join_refuses_a_study_that_no_machine_started(tmp_path):
    from tests.helpers import cli_inline

    (tmp_path / "sweep.py").write_text(
        'from cifar_search import Budget, Sweep\n'
        'sweep = Sweep(name="joined", space={"parameters": {"dropout_rate": {"grid": [0.1]}}},'
        ' model="dropout", budget=Budget(epochs=1), sampler="grid")\n')
    result = cli_inline("run", "sweep.py", "--join", "--workspace", "ws", cwd=tmp_path,
                        check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: --join: no study 'joined' in sqlite:///{tmp_path}/ws/optuna.db to join; start "
        "it on one machine first (without --join)")
    assert not (tmp_path / "ws").exists()  # nothing created


# --------------------------------------------------------------------------------------------
# the workspace's own stores are created whole
# --------------------------------------------------------------------------------------------


def tables(path):
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("select name from sqlite_master where type='table'")}


def test_stores_are_created_whole_and_never_replaced(tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    create_stores(workspace)
    optuna_tables = tables(workspace.root / "optuna.db")
    mlflow_tables = tables(workspace.root / "mlflow.db")
    assert {"studies", "trials", "alembic_version"} <= optuna_tables
    assert {"experiments", "runs", "metrics", "alembic_version"} <= mlflow_tables
    assert not any(name.startswith("_alembic_tmp") for name in mlflow_tables)
    before = (workspace.root / "mlflow.db").stat().st_ino
    create_stores(workspace)
    assert (workspace.root / "mlflow.db").stat().st_ino == before
    assert sorted(p.name for p in workspace.root.iterdir() if p.name.startswith(".")) == []


def test_a_half_built_store_left_by_a_kill_is_not_in_the_way(tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    workspace.create()
    (workspace.root / ".mlflow.db.999999.partial").write_text("killed mid-migration")
    create_stores(workspace)
    assert "runs" in tables(workspace.root / "mlflow.db")


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
        create_stores(workspace)
    assert message in str(caught.value)
    assert (workspace.root / name).read_bytes() == content

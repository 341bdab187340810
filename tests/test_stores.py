"""Store checks for several machines: the PostgreSQL driver and the shared checkpoints folder."""

import pytest
import sqlalchemy

from cifar_search.errors import ConfigError
from cifar_search.stores import check_checkpoints, check_storage
from cifar_search.workspace import Workspace


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

"""The workspace: its paths, the flags that chose its stores, its lock, and its URLs shown
without passwords."""

import pytest

from cifar_search.errors import ConfigError
from cifar_search.workspace import Workspace, checkpoints_folder, masked

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
    assert masked(workspace.mlflow_url) == "https://u:***@mlflow.example"
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


def test_running_says_whether_the_lock_is_held_and_creates_nothing(tmp_path):
    workspace = Workspace.at(tmp_path / "ws")
    assert not workspace.running("sweep") and not workspace.root.exists()
    handle = workspace.lock("sweep")
    try:
        assert workspace.running("sweep") and not workspace.running("other")
    finally:
        handle.close()
    assert not workspace.running("sweep")


def test_checkpoints_folder_takes_a_path_or_a_file_uri(tmp_path):
    assert checkpoints_folder(str(tmp_path)) == tmp_path
    assert checkpoints_folder(tmp_path.as_uri()) == tmp_path
    with pytest.raises(ConfigError) as error:
        checkpoints_folder("s3://bucket/checkpoints")
    assert str(error.value) == ("--checkpoints: 's3://bucket/checkpoints' is not a folder; give "
                                "a folder every machine mounts, as a path or file:///PATH")

"""A sweep file's own model end to end with the Optuna engine: real worker processes, the
registered model loaded in a fresh process, its study read back, a changed model refused on
resume, a compiled model refused before any study (other engines: test_user_model_engines.py).
"""

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.helpers import assert_quiet, cli, cli_env, cli_inline
from tests.own_model import write

pytestmark = pytest.mark.processes

@pytest.fixture(scope="module")
def own_run(tmp_path_factory, tiny_data):
    folder = tmp_path_factory.mktemp("own")
    write(folder)
    run = cli("run", "sweep.py", "--data", tiny_data, "--workspace", folder / "ws", cwd=folder)
    return folder, tiny_data, run


def test_a_user_model_completes_and_its_registered_model_loads_in_a_fresh_process(own_run):
    folder, _, run = own_run
    assert "2/2 trials finished" in run.stdout
    assert "best model registered: models:/own/1 " in run.stdout
    assert_quiet(run)  # the sweep file imports Keras in the main process
    code = ("import mlflow, numpy as np;"
            f"mlflow.set_tracking_uri('sqlite:///{folder / 'ws' / 'mlflow.db'}');"
            "m = mlflow.pyfunc.load_model('models:/own/1');"
            "p = m.predict(np.random.default_rng(0).random((3, 32, 32, 3), dtype=np.float32));"
            "print(p.shape, bool(np.allclose(p.sum(axis=1), 1, atol=1e-4)))")
    out = subprocess.run([sys.executable, "-c", code], cwd="/", env=cli_env(),
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "(3, 10) True", out.stderr[-2000:]
    assert out.stdout.strip().splitlines() == ["(3, 10) True"]  # predict drew no progress bar


def test_status_best_and_export_read_a_user_models_study(own_run):
    folder, _, _ = own_run
    flags = ("--workspace", folder / "ws")
    status = json.loads(cli_inline("status", "sweep.py", "--json", *flags, cwd=folder).stdout)
    assert status["counts"] == {"complete": 2}
    assert "best: trial" in cli_inline("best", "sweep.py", *flags, cwd=folder).stdout
    exported = cli_inline("export", "sweep.py", "--format", "json", "--output", "-", *flags,
                          cwd=folder).stdout
    assert sorted(t["param.dropout_rate"] for t in json.loads(exported)) == [0.1, 0.3]


def test_a_changed_model_refuses_to_resume(own_run):
    folder, tiny_data, _ = own_run
    write(folder, width="6")  # a module constant: what build builds changes
    result = cli_inline("run", "sweep.py", "--data", tiny_data, "--workspace", folder / "ws",
                        "--trials", "3", cwd=folder, check=False)  # refused before any worker
    write(folder)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: sweep.py: model: model function build changed since the study began (the model "
        f"it builds differs); the existing study 'own' in sqlite:///{folder / 'ws'}/optuna.db "
        "was run with another model; start afresh with --study-name NEW_NAME or another "
        "--workspace")


def test_a_compiled_model_with_a_swept_learning_rate_is_refused_before_any_study(tmp_path,
                                                                                  tiny_data):
    write(tmp_path, model="compiled", learning_rate='{"grid": [0.01, 0.1]}')
    result = cli_inline("run", "sweep.py", "--data", tiny_data, "--workspace", tmp_path / "ws",
                        cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: sweep.py: model: compiled returns a compiled model, which would train with its "
        "own compile and ignore the swept learning_rate; return it uncompiled (the framework "
        "compiles it with each trial's settings), or compile it in Model(build, compile=...) "
        "and sweep none of them")
    database = tmp_path / "ws" / "optuna.db"
    if database.exists():
        with sqlite3.connect(database) as db:
            assert db.execute("select count(*) from studies").fetchone() == (0,)
    assert not (tmp_path / "ws" / "mlflow.db").exists()

"""Bad commands against an existing study: each gets one line naming the flag or file, the
value and what is allowed, no traceback, and leaves the study, its MLflow runs and the
workspace's stores exactly as they were (``docs/robustness.md``)."""

import shutil

import pytest

from tests.conftest import make_image_folder
from tests.helpers import cli_inline, snapshot

pytestmark = pytest.mark.processes

SWEEP = """
from cifar_search import Budget, Data, Objective, Sweep

sweep = Sweep(
    name="robust",
    space={"parameters": {"dropout_rate": {"grid": [0.1, 0.3]}, "filters": 4}},
    model="dropout",
    data=Data(validation=0.25),
    budget=Budget(epochs=1, batch_size=8),
    objective=Objective("val_loss"),
    sampler="grid",
)
"""


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_data):
    """A finished two-trial study, and a second data set of the same shape."""
    folder = tmp_path_factory.mktemp("robust")
    (folder / "sweep.py").write_text(SWEEP)
    cli_inline("run", "sweep.py", "--data", tiny_data, "--workspace", "ws", cwd=folder)
    other = make_image_folder(folder / "other", classes=10, train_per_class=6,
                              test_per_class=2, size=32, fmt="jpg")
    make_image_folder(folder / "one", classes=1)
    (folder / "empty.db").touch()
    return folder, tiny_data, other


def stores(folder):
    """Every file of the workspace as bytes, but the data cache and the lock (which holds the
    pid of the last process that ran the sweep)."""
    root = folder / "ws"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] not in ("data", "locks")}


BAD = [  # (arguments, exit code, the flag or file named, words of the message)
    (["run", "sweep.py", "--data", "{other}"], 1, "data", "other data"),
    (["run", "sweep.py", "--data", "{data}", "--epochs", "3"], 1, "budget",
     "differs from the study's"),
    (["run", "sweep.py", "--data", "{data}", "--study-name", "a b"], 1, "--study-name",
     "is not allowed"),
    (["run", "sweep.py", "--data", ""], 1, "--data", "empty"),
    (["resume", "sweep.py", "--data", "{data}", "--engine", "sklearn"], 1, "sweep.py",
     "cannot resume"),
    (["export", "sweep.py", "--format", "parquet", "--output", "x.csv"], 1, "--output",
     "ends in .csv but --format is parquet"),
    (["export", "sweep.py", "--output", "missing/x.csv"], 1, "--output", "does not exist"),
    (["status", "sweep.py", "--study-name", "nothing-here"], 1, "sweep.py", "no study"),
    (["ui", "--port", "70000"], 2, "--port", "is not a port"),
    (["run", "sweep.py", "--data", "/dev/zero"], 1, "/dev/zero", "not a file or folder"),
    (["run", "sweep.py", "--data", "one"], 1, "one", "needs 2 to 1000 classes"),
    (["run", "sweep.py", "--data", "{data}", "--tracking-uri", "http://127.0.0.1:9"], 1,
     "--tracking-uri", "no tracking server answers"),
    (["run", "sweep.py", "--data", "{data}", "--tracking-uri", "garbage"], 1, "--tracking-uri",
     "is not a tracking URI"),
    (["run", "sweep.py", "--data", "{data}", "--storage",
      "postgresql://u:s3cret@127.0.0.1:1/db"], 1, "--storage", "postgresql://u:***@"),
    (["run", "sweep.py", "--data", "{data}", "--storage", "sqlite:///empty.db"], 1, "--storage",
     "not an Optuna database"),
]


@pytest.mark.parametrize("args, code, named, words", BAD,
                         ids=[" ".join(a[:1] + a[2:])[:40] for a, *_ in BAD])
def test_a_bad_command_is_one_line_and_changes_nothing(finished, args, code, named, words):
    folder, data, other = finished
    before, files = snapshot(folder, workspace="ws"), stores(folder)
    args = [a.format(data=data, other=other) for a in args]
    result = cli_inline(*args, "--workspace", "ws", cwd=folder, check=False)
    assert result.returncode == code, result.stdout + result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ") and named in first and words in first, result.stderr
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr + result.stdout
    if code == 1:
        assert len(result.stderr.splitlines()) == 1, result.stderr
    assert snapshot(folder, workspace="ws") == before
    assert stores(folder) == files


def test_a_finished_study_run_again_writes_nothing(finished):
    folder, data, _ = finished
    files = stores(folder)
    again = cli_inline("run", "sweep.py", "--data", data, "--workspace", "ws", cwd=folder).stdout
    assert "2 complete, 0 left; nothing to do" in again
    assert stores(folder) == files


def test_another_study_name_starts_afresh_beside_the_first(finished, tmp_path):
    folder, _, other = finished
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    result = cli_inline("run", "sweep.py", "--data", other, "--workspace", "ws", "--study-name",
                 "robust-other", cwd=copy)
    assert "new study 'robust-other'" in result.stdout
    status = cli_inline("status", "sweep.py", "--study-name", "robust-other", "--workspace",
                        "ws", cwd=copy)
    assert "2 complete" in status.stdout

"""A sweep recorded by the release before the redesign (commit 14511ce) resumes, checks and
exports with this one.

``tests/data/legacy-14511ce.tar.gz`` holds a workspace that the earlier code made at
``/tmp/cifar-search-legacy`` (MLflow and the study store absolute paths there): a 4-point grid
of 30-epoch trials, killed with ``kill -9`` while trial 2 was at epoch 15 of 30.
"""

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from tests.helpers import ROOT, cli_inline, mlflow_runs

pytestmark = pytest.mark.processes

ARCHIVE = ROOT / "tests" / "data" / "legacy-14511ce.tar.gz"
WHERE = Path("/tmp/cifar-search-legacy")  # where it was recorded


@pytest.fixture
def legacy():
    shutil.rmtree(WHERE, ignore_errors=True)
    WHERE.mkdir(parents=True)
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(WHERE, filter="data")
    yield WHERE
    shutil.rmtree(WHERE, ignore_errors=True)


def test_a_legacy_sweep_resumes_its_interrupted_trial_from_its_checkpoint(legacy):
    output = cli_inline("run", "sweep.py", "--data", "data", "--workspace", "ws", cwd=legacy).stdout
    assert "resuming study 'legacy': 2 complete, 1 interrupted (re-queued), 2 left" in output
    status = json.loads(cli_inline("status", "sweep.py", "--json", "--workspace", "ws",
                                   cwd=legacy).stdout)
    assert status["counts"] == {"complete": 4, "interrupted": 1}
    retry = next(t for t in status["trials"] if t["retry_of"] == 2)
    assert retry["params"]["dropout_rate"] == 0.3
    client, runs = mlflow_runs(legacy / "ws", "legacy")
    history = client.get_metric_history(retry["mlflow_run_id"], "val_loss")
    assert sorted(m.step for m in history) == list(range(1, 31))  # 1-15 replayed, 16-30 trained
    assert "0 problem(s)" in cli_inline("check", "sweep.py", "--workspace", "ws",
                                        cwd=legacy).stdout
    exported = cli_inline("export", "sweep.py", "--format", "json", "--output", "-",
                          "--workspace", "ws", cwd=legacy).stdout
    assert [row["state"] for row in json.loads(exported)] == [
        "complete", "complete", "interrupted", "complete", "complete"]

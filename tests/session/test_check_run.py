"""``run --check``: the sweep's first trial for one epoch, in a workspace of its own that is
removed afterwards; no test evaluation, plots or registered model; nothing kept."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from cifar_search.session import loop
from cifar_search.tracking import summary
from tests.helpers import assert_quiet, cli_inline

SWEEP = """
from cifar_search import Budget, Objective, Sweep

sweep = Sweep(
    name="checked",
    space={"parameters": {"dropout_rate": {"grid": [0.1, 0.3]}, "filters": 4}},
    model="dropout",
    budget=Budget(epochs=5, batch_size=8),
    objective=Objective("val_accuracy"),
    sampler="grid",
    repeats=2,
)
"""


def not_in_a_check(*args, **kwargs):
    raise AssertionError("a check run evaluates, draws or logs no summary")


def test_check_refuses_join(tmp_path):
    (tmp_path / "sweep.py").write_text(SWEEP)
    result = cli_inline("run", "sweep.py", "--check", "--join", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert result.stderr == ("error: --check: runs in a workspace of its own and joins no "
                             "study; drop --join or --check\n")


@pytest.mark.processes
def test_a_check_trains_one_epoch_of_the_first_trial_and_keeps_nothing(tmp_path, tiny_data,
                                                                       monkeypatch):
    (tmp_path / "sweep.py").write_text(SWEEP)
    scratch = Path(tempfile.gettempdir())
    before = set(scratch.glob("cifar-search-check-*"))
    for owner, name in ((loop, "evaluate_best"), (summary, "log_study"),
                        (summary, "draw_ahead")):
        monkeypatch.setattr(owner, name, not_in_a_check)
    result = cli_inline("run", "sweep.py", "--check", "--data", tiny_data, cwd=tmp_path)
    assert_quiet(result)
    lines = result.stdout.splitlines()
    assert lines[1].startswith("trial   0 complete val_accuracy=")
    assert lines[1].endswith(" dropout_rate=0.1 (1 epochs, " + lines[1].split("(1 epochs, ")[1])
    assert lines[-1].startswith("check passed in ")
    assert lines[-1].endswith(" s: sweep.py loads its data, builds its model and trains (trial "
                              "0, 1 epoch(s), up to 300 images); nothing was kept: run it "
                              "without --check for the sweep")
    assert len(lines) == 3  # no test set, no registered model, no best line
    assert not (tmp_path / "mlruns").exists()
    assert set(scratch.glob("cifar-search-check-*")) == before  # the check's workspace is gone

"""The recorder's epoch: logged, reported to the pruner, and never pruned after the last one."""

from types import SimpleNamespace

import pytest

from cifar_search.engines.optuna.recorder import Recorder
from cifar_search.engines.optuna.scheduler import Plan


@pytest.mark.parametrize("last, pruned", [(False, True), (True, False)])
def test_a_trial_is_never_pruned_after_its_last_epoch(last, pruned):
    reported, logged = [], []
    store = SimpleNamespace(report=lambda trial, value, step: reported.append(step) or True)
    tracker = SimpleNamespace(log_epoch=lambda run_id, step, logs: logged.append(step))
    recorder = Recorder(store, tracker, Plan(target=1), "val_loss", lambda n, r: None, print)
    running = SimpleNamespace(trial="t", reports=lambda run: True)
    run = SimpleNamespace(run_id="r", epochs=2)
    assert recorder.epoch(running, run, 2, {"val_loss": 0.5}, last=last) is pruned
    assert reported == logged == [3] and run.epochs == 3  # reported and logged all the same

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


class _Store:
    """The study as the recorder writes it: attributes set and outcomes told, in order."""

    def __init__(self):
        self.events = []

    def set_trial_attrs(self, number, attrs):
        self.events.append(("attrs", dict(attrs)))

    def tell(self, number, outcome, value=None):
        self.events.append(("tell", outcome, value))

    def set_constraints(self, number, values):
        self.events.append(("constraints", dict(values)))


def _recorder(limits):
    from cifar_search.config.constraints import parse_all

    store, ended, said = _Store(), [], []
    tracker = SimpleNamespace(
        end_trial=lambda run_id, state, value=None, info=None, reason=None:
            ended.append((run_id, state, value, reason)),
        kill_run=lambda run_id, reason: None)
    plan = Plan(target=2, swept=("filters",), constraints=tuple(parse_all(limits).values()))
    return Recorder(store, tracker, plan, "val_loss", lambda n, r: None, said.append), store, \
        ended, said


def _running():
    from cifar_search.engines.optuna.scheduler import Running, SeedRun

    running = Running.start(Plan(target=2), "t", 3, "run-3", {"filters": 64}, 7)
    running.next_seed()
    running.runs[0] = SeedRun(0, "run-3", 7)
    return running


def test_a_model_over_the_limit_ends_untrained_as_pruned_and_infeasible():
    from cifar_search.execution.protocol import RunEnd, TrialResult
    from cifar_search.search.states import TrialOutcome

    recorder, store, ended, said = _recorder({"params": "<= 1M"})
    running = _running()
    result = TrialResult(RunEnd.INFEASIBLE, None, 0, measures={"params": 1_234_567.0})
    recorder.infeasible(running, running.runs[0], result)
    attrs = {k: v for event in store.events if event[0] == "attrs" for k, v in event[1].items()}
    assert attrs["measures"] == {"params": 1_234_567.0}  # for constraints_func, before tell
    assert attrs["infeasible"] == "params 1,234,567 > 1,000,000"
    assert "fail_reason" not in attrs  # not a failure
    assert ("constraints", {"params": 234_567.0}) in store.events  # for the sampler
    assert store.events[-1] == ("tell", TrialOutcome.INFEASIBLE, None)  # Optuna: PRUNED
    assert [e[0] for e in store.events].index("tell") > 0
    assert ended == [("run-3", TrialOutcome.INFEASIBLE, None, "params 1,234,567 > 1,000,000")]
    assert said[-1].startswith("trial   3 infeasible filters=64 (0 epochs,")
    assert said[-1].endswith("reason: params 1,234,567 > 1,000,000")


@pytest.mark.parametrize("measures, infeasible", [
    ({"params": 900.0, "val_accuracy": 0.25}, "val_accuracy 0.25 < 0.5"),
    ({"params": 900.0, "val_accuracy": 0.75}, None),
])
def test_a_trained_trial_completes_and_is_judged_on_its_measures(measures, infeasible):
    from cifar_search.execution.protocol import RunEnd, TrialResult
    from cifar_search.search.states import TrialOutcome

    recorder, store, ended, _ = _recorder({"params": "<= 1k", "val_accuracy": ">= 0.5"})
    running = _running()
    recorder.complete(running, TrialResult(RunEnd.COMPLETE, 0.8, 1, measures=measures))
    assert store.events[-1] == ("tell", TrialOutcome.COMPLETE, 0.8)  # its real value
    attrs = {k: v for event in store.events if event[0] == "attrs" for k, v in event[1].items()}
    assert attrs["measures"] == measures and attrs.get("infeasible") == infeasible
    state = TrialOutcome.INFEASIBLE if infeasible else TrialOutcome.COMPLETE
    assert ended == [("run-3", state, 0.8, infeasible)]

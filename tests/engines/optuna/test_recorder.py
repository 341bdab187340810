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


def _two_objectives(limits, repeats=1):
    """A recorder of a two-objective sweep (val_accuracy, params) with ``limits``."""
    from cifar_search.config.constraints import parse_all

    recorder, store, ended, said = _recorder(limits)
    recorder.plan = Plan(target=2, swept=("filters",), repeats=repeats,
                         constraints=tuple(parse_all(limits).values()),
                         objectives=("val_accuracy", "params"), direction="maximize")
    recorder.metric = "val_accuracy"
    store.trial = lambda number: SimpleNamespace(attrs={})
    store.view = lambda: []  # the trials a new trial's seed counts: none before it
    recorder.tracker.start_trial = lambda number, params, seed, *rest: f"run-{number}"
    recorder.tracker.run_link = lambda run_id: None
    return recorder, store, ended, said


def _attrs(store):
    return {k: v for event in store.events if event[0] == "attrs" for k, v in event[1].items()}


def test_a_repeated_trial_of_two_objectives_is_told_each_objective_s_mean_over_its_seeds():
    from cifar_search.engines.optuna.scheduler import Running, SeedRun
    from cifar_search.execution.protocol import RunEnd, TrialResult
    from cifar_search.search.states import TrialOutcome

    recorder, store, ended, said = _two_objectives({"params": "<= 1k"}, repeats=2)
    running = Running.start(recorder.plan, "t", 3, "run-3", {"filters": 8}, 7)
    for repeat, accuracy in ((0, 0.5), (1, 0.7)):
        running.next_seed()
        running.runs[repeat] = SeedRun(repeat, f"seed-{repeat}", 7 + repeat)
        recorder.seed_done(running, repeat, TrialResult(
            RunEnd.COMPLETE, accuracy, 2, measures={"val_accuracy": accuracy, "params": 900.0,
                                                    "train_seconds": 2.0 + repeat}))
    assert store.events[-1] == ("tell", TrialOutcome.COMPLETE, [pytest.approx(0.6), 900.0])
    assert ("constraints", {"params": -100.0}) in store.events
    attrs = _attrs(store)
    assert attrs["measures"] == {"params": 900.0, "train_seconds": 2.5,
                                 "val_accuracy": pytest.approx(0.6)}
    assert attrs["repeat_values"] == [0.5, 0.7] and "infeasible" not in attrs
    assert ended[-1][:2] == ("run-3", TrialOutcome.COMPLETE)
    assert "val_accuracy=0.6" in said[-1] and "params=900" in said[-1]


def test_a_repeated_trial_whose_seed_lacks_an_objective_fails():
    from cifar_search.engines.optuna.scheduler import Running, SeedRun
    from cifar_search.execution.protocol import RunEnd, TrialResult
    from cifar_search.search.states import TrialOutcome

    recorder, store, _, said = _two_objectives({}, repeats=2)
    running = Running.start(recorder.plan, "t", 3, "run-3", {"filters": 8}, 7)
    for repeat, measures in ((0, {"val_accuracy": 0.5, "params": 9.0}), (1, {"params": 9.0})):
        running.next_seed()
        running.runs[repeat] = SeedRun(repeat, f"seed-{repeat}", 7 + repeat)
        recorder.seed_done(running, repeat, TrialResult(RunEnd.COMPLETE, 0.5, 2,
                                                        measures=measures))
    assert store.events[-1] == ("tell", TrialOutcome.FAILED, None)
    assert said[-1].endswith("reason: no val_accuracy was measured on every seed")


@pytest.mark.parametrize("params, infeasible", [(900.0, None), (1500.0, "params 1,500 > 1,000")])
def test_a_configuration_drawn_again_takes_every_objective_and_constraint_of_the_earlier(
        params, infeasible):
    from cifar_search.engines.optuna.scheduler import TakeResult
    from cifar_search.search.states import TrialOutcome

    recorder, store, ended, said = _two_objectives({"params": "<= 1k"})
    measures = {"val_accuracy": 0.6, "params": params}
    recorder.take_result(SimpleNamespace(number=4), {"filters": 8},
                         TakeResult(1, 0.6, {"measures": measures}))
    assert store.events[-1] == ("tell", TrialOutcome.COMPLETE, [0.6, params])
    assert ("constraints", {"params": params - 1000}) in store.events
    assert _attrs(store).get("infeasible") == infeasible
    state = TrialOutcome.INFEASIBLE if infeasible else TrialOutcome.COMPLETE
    assert ended == [("run-4", state, 0.6, infeasible)]
    assert "(duplicate of trial 1, not trained)" in said[-1] and "params=" in said[-1]


@pytest.mark.parametrize("objectives, told", [
    (("val_accuracy", "params"), [0.6, 1500.0]),
    ((), 0.4),
])
def test_a_warm_started_trial_carries_its_values_and_this_sweep_s_constraint_values(
        objectives, told):
    from cifar_search.config.space import Space
    from cifar_search.engines.optuna.recorder import import_trial
    from cifar_search.engines.optuna.warm_start import SourceStudy, SourceTrial

    recorder, store, _, _ = _two_objectives({"params": "<= 1k"})
    recorder.plan = Plan(target=2, constraints=recorder.plan.constraints, objectives=objectives)
    added = []
    store.sweep = SimpleNamespace(space=Space.from_dict(
        {"parameters": {"filters": {"grid": [8, 16]}}}))
    store.add_imported = lambda params, value, attrs, constraints: added.append(
        (params, value, attrs, constraints)) or 9
    recorder.tracker.start_import = lambda params, value, link: "run-imp"
    recorder.tracker.end_import = lambda run_id, number: None
    trial = SourceTrial(2, {"filters": 16}, 0.4, "old-run",
                        {"val_accuracy": 0.6, "params": 1500.0})
    assert import_trial(recorder, SourceStudy("old", "sqlite:///o.db", (trial,)), trial) == 9
    ((params, value, attrs, constraints),) = added
    assert params == {"filters": 16} and value == told
    assert constraints == {"params": 500.0}  # where Optuna's samplers read them
    assert attrs["infeasible"] == "params 1,500 > 1,000" and attrs["measures"]["params"] == 1500

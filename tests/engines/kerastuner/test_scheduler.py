"""The KerasTuner engine's decisions, on records and trial values alone (no processes, no
stores): how many trials, how a trial the oracle hands out starts, which checkpoint a run goes
on from, what a run's end means and what resume says."""

import keras_tuner
import pytest

from cifar_search import Budget, Sweep
from cifar_search.config.space import Space
from cifar_search.config.parts import Oracle
from cifar_search.engines.kerastuner import scheduler
from cifar_search.engines.kerastuner.record import TrialRecord
from cifar_search.engines.kerastuner.scheduler import Plan, Settled, Train, Verdict
from cifar_search.execution.protocol import RunEnd, TrialResult
from cifar_search.search.seeds import trial_seed
from cifar_search.search.states import TrialOutcome

C, F, INT, R = (TrialOutcome.COMPLETE, TrialOutcome.FAILED, TrialOutcome.INTERRUPTED,
              TrialOutcome.RUNNING)
PLAN = Plan(target=4, kind="hyperband", epochs=9, sweep_seed=5)


def record(number, kt_id, outcome, seed=None, **fields):
    return TrialRecord(number, kt_id, outcome, {"dropout_rate": 0.1}, seed or 100 + number,
                       fields.pop("epochs", 3), **fields)


def sweep(**changes):
    space = Space.from_dict({"parameters": {"dropout_rate": {"grid": [0.1, 0.2, 0.3]}}})
    return Sweep(**{"name": "s", "space": space, "model": "dropout", "engine": "kerastuner",
                    "sampler": "grid", **changes})


def oracle(kind_or_oracle):
    return {"kerastuner": {"oracle": kind_or_oracle}}


@pytest.mark.parametrize("max_epochs, factor, iterations", [
    (1, 3, 1), (3, 3, 1), (9, 3, 1), (10, 3, 2), (27, 3, 1), (8, 2, 1), (5, 4, 3)])
def test_hyperband_trial_count_is_kerastuners(max_epochs, factor, iterations):
    """As many trials as KerasTuner's HyperbandOracle creates when every trial completes."""
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    oracle = keras_tuner.oracles.HyperbandOracle(
        objective="loss", max_epochs=max_epochs, factor=factor,
        hyperband_iterations=iterations, hyperparameters=hp, seed=1)
    oracle._set_project_dir("/nonexistent-unused", "p")
    oracle.save = oracle._save_trial = lambda *a: None  # count without writing files
    created = 0
    while True:
        trial = oracle.create_trial("t")
        if trial.status != "RUNNING":
            break
        created += 1
        oracle.update_trial(trial.trial_id, {"loss": trial.hyperparameters.get("x")}, step=1)
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    assert scheduler.hyperband_trials(max_epochs, factor, iterations) == created


@pytest.mark.parametrize("changes, target", [
    ({}, 3), ({"trials": 2}, 2),
    ({"options": oracle("random"), "trials": 7}, 7),
    ({"options": oracle(Oracle("hyperband", {"factor": 3})), "budget": Budget(epochs=9)}, 23),
    ({"options": oracle(Oracle("hyperband", {"max_epochs": 3})), "budget": Budget(epochs=9),
      "trials": 4}, 4),
])
def test_the_target(changes, target):
    assert Plan.of(sweep(**changes)).target == target


def test_hyperbands_max_epochs_defaults_to_the_budget():
    made = sweep(options=oracle("hyperband"), budget=Budget(epochs=7))
    assert scheduler.oracle_options(made) == {"max_epochs": 7}
    assert scheduler.oracle_kind(sweep()) == "grid"


def test_a_new_trial_trains_afresh_from_its_seed():
    start = scheduler.start_of(PLAN, "0003", {"dropout_rate": 0.2, "tuner/epochs": 1,
                                              "tuner/initial_epoch": 0, "tuner/bracket": 2,
                                              "tuner/round": 0}, {"dropout_rate": 0.2}, [])
    assert start == Train("0003", {"dropout_rate": 0.2}, trial_seed(5, 3), 1, bracket=2,
                          round=0)
    same = Plan(target=4, kind="grid", epochs=9, sweep_seed=5, same_seed=True)
    assert scheduler.start_of(same, "0003", {}, {}, []).seed == trial_seed(5, 0)
    assert scheduler.start_of(same, "0003", {}, {}, []).epochs == 9


def test_hyperbands_next_round_continues_the_earlier_trial_with_its_seed():
    records = [record(0, "0000", C, seed=42), record(1, "0001", C)]
    values = {"dropout_rate": 0.1, "tuner/trial_id": "0000", "tuner/epochs": 9,
              "tuner/initial_epoch": 3, "tuner/bracket": 1, "tuner/round": 1}
    start = scheduler.start_of(PLAN, "0004", values, {"dropout_rate": 0.1}, records)
    assert (start.continues, start.seed, start.epochs, start.retry_of) == (0, 42, 9, None)


def test_an_interrupted_trial_continues_its_last_run():
    records = [record(0, "0000", C), record(1, "0001", INT, continues=0, bracket=1, round=1),
               record(2, "0002", C)]
    start = scheduler.start_of(PLAN, "0001", {"tuner/epochs": 99}, {"ignored": 1}, records)
    assert start == Train("0001", {"dropout_rate": 0.1}, 101, 3, retry_of=1, continues=0,
                          bracket=1, round=1)


@pytest.mark.parametrize("outcome", [C, F])
def test_a_trial_whose_run_ended_before_a_crash_is_settled_untrained(outcome):
    records = [record(0, "0000", INT), record(1, "0000", outcome, retry_of=0)]
    assert scheduler.start_of(PLAN, "0000", {}, {}, records) == Settled("0000", outcome)


def test_the_checkpoint_is_the_newest_along_the_chain():
    records = {0: record(0, "0000", C), 1: record(1, "0001", INT, continues=0),
               2: record(2, "0001", INT, retry_of=1), 3: record(3, "0001", R, retry_of=2)}
    chain = scheduler.checkpoint_source
    assert chain(2, records, lambda n: n in (0, 1)) == 1
    assert chain(2, records, lambda n: n == 0) == 0
    assert chain(2, records, lambda n: False) is None
    assert chain(None, records, lambda n: True) is None


@pytest.mark.parametrize("result, expected", [
    (TrialResult(RunEnd.STOPPED, 0.5, 2), Verdict.INTERRUPT),
    (TrialResult(RunEnd.COMPLETE, None, 2), Verdict.NO_VALUE),
    (TrialResult(RunEnd.COMPLETE, float("nan"), 2), Verdict.NO_VALUE),
    (TrialResult(RunEnd.COMPLETE, 0.5, 2), Verdict.COMPLETE),
])
def test_verdict(result, expected):
    assert scheduler.verdict(result) == expected


def test_a_second_worker_death_along_a_chain_fails_the_trial():
    died = record(0, "0000", INT, fail_reason="worker process died (exit code -9)")
    crashed = record(0, "0000", INT, fail_reason="interrupted")
    running = record(1, "0000", R, retry_of=0)
    assert scheduler.fails_after_worker_death(running, {0: died, 1: running})
    assert not scheduler.fails_after_worker_death(running, {0: crashed, 1: running})
    assert not scheduler.fails_after_worker_death(record(0, "0000", R), {})


def test_a_worker_ended_by_the_oom_killer_fails_its_trial_at_once():
    assert scheduler.fails_after_worker_death(record(0, "0000", R), {}, out_of_memory=True)


def test_done_and_nothing_to_do():
    records = [record(0, "0000", C), record(1, "0001", F), record(2, "0002", INT),
               record(3, "0002", C, retry_of=2)]
    plan = Plan(target=3, kind="random", epochs=2)
    assert scheduler.finished(records) == 3
    assert scheduler.is_done(plan, records, oracle_stopped=False)
    assert scheduler.is_done(Plan(target=9, kind="hyperband", epochs=2), records, True)
    assert not scheduler.is_done(Plan(target=9, kind="random", epochs=2), records, False)
    assert scheduler.nothing_to_do(plan, records, finalised=3)
    assert not scheduler.nothing_to_do(plan, records, finalised=None)
    assert not scheduler.nothing_to_do(plan, [*records, record(4, "0004", R)], 3)


def test_resume_line():
    records = [record(0, "0000", C), record(1, "0001", R)]
    assert scheduler.resume_line("s", PLAN, records) == (
        "resuming 's' (kerastuner hyperband): 1 complete, 1 interrupted (continued from "
        "their checkpoints), 3 left")

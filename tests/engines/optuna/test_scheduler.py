"""The Optuna engine's scheduling rules, each tested directly on views of a study (no
processes, no stores): which trial starts, from which seed and checkpoint, what is queued
again, and when a study is done."""

import pytest

from cifar_search import Budget, Pruner, Sweep
from cifar_search.config.space import Space
from cifar_search.engines.optuna import scheduler
from cifar_search.engines.optuna.scheduler import (
    Next,
    Plan,
    Running,
    TakeResult,
    Train,
    TrialView,
    Verdict,
)
from cifar_search.execution.protocol import RunEnd, TrialResult
from cifar_search.search.seeds import repeat_seed, trial_seed
from cifar_search.search.states import Attr, TrialOutcome

C, P, F, INT, R, W = (TrialOutcome.COMPLETE, TrialOutcome.PRUNED, TrialOutcome.FAILED,
                    TrialOutcome.INTERRUPTED, TrialOutcome.RUNNING, TrialOutcome.WAITING)

GRID = ({"rate": 0.1, "filters": 4}, {"rate": 0.2, "filters": 4}, {"rate": 0.3, "filters": 4})


def plan(**changes):
    settings = dict(target=3, grid=GRID, swept=("rate",), sweep_seed=5)
    return Plan(**{**settings, **changes})


def trial(number, outcome, rate=None, value=None, **attrs):
    params = {"rate": rate, "filters": 4} if rate is not None else {}
    if params and outcome != W:
        attrs.setdefault(Attr.PARAMS, params)
    return TrialView(number, outcome, params, value, attrs, {"rate": rate} if params else {})


def sweep(**changes):
    space = Space.from_dict({"parameters": {"dropout_rate": {"grid": [0.1, 0.2, 0.3]},
                                            "filters": 4}})
    return Sweep(**{"name": "s", "space": space, "model": "dropout", "sampler": "grid",
                    **changes})


# -- the plan -------------------------------------------------------------------------------


@pytest.mark.parametrize("trials, target", [(None, 3), (2, 2), (10, 3)])
def test_a_grid_runs_each_point_once_and_at_most_the_trials_asked(trials, target):
    assert Plan.of(sweep(trials=trials)).target == target


def test_a_sampled_sweep_runs_its_trials_and_a_pruner_judges_the_first_seed():
    made = Plan.of(sweep(sampler="random", trials=7, pruner=Pruner("median"), repeats=3,
                         budget=Budget(epochs=2)))
    assert (made.target, made.grid, made.repeats, made.judge_first) == (7, None, 3, True)
    assert made.swept == ("dropout_rate",)


# -- how many, and which --------------------------------------------------------------------


def test_interrupted_trials_do_not_count_and_do_not_hold_their_grid_point():
    trials = [trial(0, C, 0.1, 1.0), trial(1, INT, 0.2), trial(2, P, 0.3)]
    assert scheduler.finished(trials) == 2
    assert scheduler.next_grid_point(plan(), trials) == GRID[1]


def test_failed_trials_do_not_count_but_hold_their_grid_point():
    trials = [trial(0, C, 0.1, 1.0), trial(1, F, 0.2), trial(2, F, 0.3)]
    assert scheduler.finished(trials) == 1
    assert scheduler.next_grid_point(plan(), trials) is None  # a failed point is not tried again
    assert scheduler.is_done(plan(), trials) and scheduler.at_target(plan(), trials)
    assert scheduler.more_to_start(plan(grid=None), trials)  # drawn trials: one more starts


def test_running_and_queued_trials_hold_their_grid_points():
    trials = [trial(0, R, 0.1), trial(1, W, 0.2, params={"rate": 0.2, "filters": 4})]
    assert scheduler.next_grid_point(plan(), trials) == GRID[2]


def test_the_next_grid_point_is_queued_only_when_the_queue_is_empty():
    assert scheduler.grid_point_to_queue(plan(), []) == {"rate": 0.1}  # the swept part only
    assert scheduler.grid_point_to_queue(plan(), [trial(0, W, 0.3)]) is None
    assert scheduler.grid_point_to_queue(plan(grid=None), []) is None


@pytest.mark.parametrize("trials, more", [
    ([], True),
    ([trial(0, C, 0.1, 1.0), trial(1, R, 0.2)], True),
    ([trial(0, C, 0.1, 1.0), trial(1, R, 0.2), trial(2, P, 0.3)], False),  # target reached
    ([trial(0, C, 0.1, 1.0), trial(1, INT, 0.2), trial(2, W, 0.2)], True),   # a retry waits
])
def test_more_trials_start_until_finished_and_running_reach_the_target(trials, more):
    assert scheduler.more_to_start(plan(), trials) is more


def test_a_used_up_grid_starts_nothing_even_below_the_target():
    trials = [trial(n, C, p["rate"], 1.0) for n, p in enumerate(GRID)]
    assert not scheduler.more_to_start(plan(target=5), trials)
    assert scheduler.is_done(plan(target=5), trials)
    assert not scheduler.is_done(plan(target=5, grid=None), trials)


# -- a new trial ----------------------------------------------------------------------------


def test_a_trial_keeps_a_recorded_seed_else_its_own_or_the_sweeps_with_same_seed():
    assert scheduler.seed_of(plan(), 4, {Attr.SEED: 123}) == 123
    assert scheduler.seed_of(plan(), 4, {Attr.SEED: None}) == trial_seed(5, 4)
    assert scheduler.seed_of(plan(same_seed=True), 4, {}) == trial_seed(5, 0)


def test_a_new_trial_after_a_retry_trains_with_its_seed_of_the_uninterrupted_study():
    """Trial 0 interrupted, retried as trial 1 (with trial 0's seed): trial 2 is the
    uninterrupted study's trial 1 and trains with that seed; a retry's own seed is kept."""
    earlier = [scheduler.TrialView(0, TrialOutcome.INTERRUPTED, attrs={Attr.SEED: 5}),
               scheduler.TrialView(1, C, attrs={Attr.RETRY_OF: 0, Attr.SEED: 5}),
               scheduler.TrialView(2, C)]
    assert scheduler.seed_of(plan(), 2, {}, earlier) == trial_seed(5, 1)
    assert scheduler.seed_of(plan(), 3, {}, earlier) == trial_seed(5, 2)
    assert scheduler.seed_of(plan(), 1, {Attr.SEED: 5}, earlier) == 5
    assert scheduler.seed_of(plan(same_seed=True), 3, {}, earlier) == trial_seed(5, 0)


def never_saved(number):
    return None


def test_without_same_seed_every_trial_trains_afresh():
    trials = [trial(0, C, 0.1, 1.0)]
    assert scheduler.start_of(plan(), {}, {"rate": 0.1, "filters": 4}, trials,
                              never_saved) == Train()


def test_same_seed_takes_a_complete_result_naming_the_trial_that_trained_it():
    trials = [trial(0, C, 0.1, 0.5, model_path="m0.keras", value_std=0.1),
              trial(1, C, 0.1, 0.5, duplicate_of=0)]
    start = scheduler.start_of(plan(same_seed=True), {}, {"rate": 0.1, "filters": 4},
                               trials[1:], never_saved)
    assert start == TakeResult(0, 0.5, {})
    start = scheduler.start_of(plan(same_seed=True), {}, {"rate": 0.1, "filters": 4}, trials,
                               never_saved)
    assert start == TakeResult(0, 0.5, {Attr.MODEL_PATH: "m0.keras", Attr.VALUE_STD: 0.1})


def test_same_seed_goes_on_from_the_pruned_trial_that_got_furthest():
    trials = [trial(0, P, 0.1), trial(1, P, 0.1), trial(2, P, 0.1), trial(3, C, 0.2, 1.0)]
    saved = {0: 2, 1: 3, 2: 3}.get  # trial 2 ties trial 1 and is newer
    start = scheduler.start_of(plan(same_seed=True), {}, {"rate": 0.1, "filters": 4}, trials,
                               saved)
    assert start == Train(continues=2)
    assert scheduler.start_of(plan(same_seed=True), {}, {"rate": 0.1, "filters": 4}, trials,
                              never_saved) == Train()  # no checkpoint left: afresh


def test_a_retry_always_trains_even_when_its_configuration_is_complete():
    trials = [trial(0, C, 0.1, 0.5)]
    assert scheduler.start_of(plan(same_seed=True), {Attr.RETRY_OF: 1},
                              {"rate": 0.1, "filters": 4}, trials, never_saved) == Train()


def test_a_run_continues_from_the_newest_checkpoint_along_its_chain():
    trials = {0: trial(0, P, 0.1), 1: trial(1, INT, 0.1, continues=0),
              2: trial(2, INT, 0.1, retry_of=1), 3: trial(3, R, 0.1, retry_of=2)}
    assert scheduler.checkpoint_source(2, trials, {1, 0}.__contains__) == 1
    assert scheduler.checkpoint_source(2, trials, {0}.__contains__) == 0
    assert scheduler.checkpoint_source(2, trials, set().__contains__) is None
    assert scheduler.checkpoint_source(None, trials, {0}.__contains__) is None
    assert trials[3].predecessor == 2 and trials[1].predecessor == 0


# -- interruptions --------------------------------------------------------------------------


def test_an_interrupted_trial_is_queued_again_with_its_seed_and_deaths():
    queued = scheduler.requeue(trial(4, INT, 0.3, seed=77, deaths=1))
    assert queued == ({"rate": 0.3}, {"retry_of": 4, "seed": 77, "deaths": 1})
    assert scheduler.requeue(trial(5, INT)) is None  # died before it had parameters


def test_a_trial_fails_when_its_continuation_kills_a_worker_again():
    assert not scheduler.fails_after_worker_death({})
    assert scheduler.fails_after_worker_death({Attr.DEATHS: 1})


def test_a_worker_ended_by_the_oom_killer_fails_its_trial_at_once():
    assert scheduler.fails_after_worker_death({}, out_of_memory=True)


# -- running trials and their seeds ---------------------------------------------------------


def running(repeats=1, judge_first=False):
    return Running.start(plan(repeats=repeats, judge_first=judge_first), None, 7, "run", {}, 11)


def test_seeds_of_a_repeated_trial_derive_from_its_seed():
    trial_run = running(repeats=3)
    assert [trial_run.next_seed() for _ in range(3)] == [(r, repeat_seed(11, r))
                                                          for r in range(3)]
    single = running()
    assert single.next_seed() == (0, 11) and not single.repeated


def test_with_a_pruner_other_seeds_wait_for_the_first_to_complete():
    judged = running(repeats=2, judge_first=True)
    judged.next_seed()
    assert not judged.may_start_seed
    judged.results[0] = TrialResult(RunEnd.COMPLETE, 1.0, 2)
    assert judged.may_start_seed
    free = running(repeats=2)
    free.next_seed()
    assert free.may_start_seed


def test_only_the_first_seed_of_a_judged_trial_reports_to_the_pruner():
    judged = running(repeats=2, judge_first=True)
    first, second = (scheduler.SeedRun(r, f"seed-{r}", 0) for r in (0, 1))
    assert judged.reports(first) and not judged.reports(second)
    assert not running(repeats=2).reports(first)
    assert running().reports(first)


def test_seed_runs_without_a_result_are_the_ones_left_to_close():
    trial_run = running(repeats=3)
    for repeat in range(3):
        trial_run.runs[repeat] = scheduler.SeedRun(repeat, f"seed-{repeat}", 0)
    trial_run.pending.clear()
    trial_run.results[0] = TrialResult(RunEnd.COMPLETE, 1.0, 2)
    trial_run.closed.add(1)
    assert [r.repeat for r in trial_run.unfinished_seed_runs()] == [2]
    assert not trial_run.all_seeds_done()


def test_an_idle_worker_takes_a_waiting_seed_before_a_new_trial():
    waiting = running(repeats=2)
    waiting.next_seed()
    assert scheduler.next_work(False, [waiting], lambda: True) is waiting
    assert scheduler.next_work(False, [], lambda: True) is Next.NEW_TRIAL
    assert scheduler.next_work(False, [], lambda: False) is None
    assert scheduler.next_work(True, [waiting], lambda: True) is None


# -- results --------------------------------------------------------------------------------


@pytest.mark.parametrize("state, value, repeated, expected", [
    (RunEnd.STOPPED, 1.0, False, Verdict.INTERRUPT),
    (RunEnd.COMPLETE, None, False, Verdict.NO_VALUE),
    (RunEnd.PRUNED, None, True, Verdict.PRUNED),
    (RunEnd.COMPLETE, 1.0, True, Verdict.SEED_DONE),
    (RunEnd.COMPLETE, 1.0, False, Verdict.COMPLETE),
])
def test_a_workers_result_decides_the_trials_end(state, value, repeated, expected):
    assert scheduler.verdict(TrialResult(state, value, 1), repeated) == expected


def test_a_repeated_trial_scores_the_mean_and_keeps_its_best_seeds_model():
    assert scheduler.mean_std([1.0]) == (1.0, 0.0)
    mean, std = scheduler.mean_std([1.0, 2.0, 3.0])
    assert (mean, std) == (2.0, 1.0)
    assert scheduler.best_index([0.3, 0.1, 0.1], "minimize") == 1
    assert scheduler.best_index([0.3, 0.1, 0.5], "maximize") == 2


def test_the_resume_line_counts_finished_trials_retries_and_what_is_left():
    trials = [trial(0, C, 0.1, 1.0), trial(1, F, 0.2), trial(2, INT, 0.3),
              trial(3, W, 0.3, retry_of=2)]
    assert scheduler.resume_line("d", plan(target=5), trials) == (
        "resuming study 'd': 1 complete, 1 failed, 1 interrupted (re-queued), 4 left")


def test_an_infeasible_result_is_its_own_verdict():
    from cifar_search.engines.optuna.scheduler import Verdict, mean_measures, verdict
    from cifar_search.execution.protocol import RunEnd, TrialResult

    untrained = TrialResult(RunEnd.INFEASIBLE, None, 0, measures={"params": 5.0})
    assert verdict(untrained, repeated=False) == verdict(untrained, True) == Verdict.INFEASIBLE
    seeds = [TrialResult(RunEnd.COMPLETE, v, 1, measures={"params": 5.0, "val_loss": v})
             for v in (0.5, 0.7)]
    assert mean_measures(seeds) == pytest.approx({"params": 5.0, "val_loss": 0.6})


# -- pruner 'asha': promotions from the study's trials ------------------------------------

ASHA = Sweep(name="asha", space=Space.from_dict({"parameters": {"dropout_rate": {
    "type": "float", "low": 0.1, "high": 0.5}}}), model="dropout", budget=Budget(epochs=9),
    sampler="tpe", trials=9, pruner=Pruner("asha", {"rungs": [1, 3, 9]}))


def rung_trial(number, outcome, rate, value=None, rung=0, promoted_from=None):
    attrs = {Attr.RUNG: rung, Attr.RUNG_EPOCHS: (1, 3, 9)[rung]}
    if promoted_from is not None:
        attrs[Attr.PROMOTED_FROM] = promoted_from
    return trial(number, outcome, rate, value, **attrs)


def test_an_asha_plan_has_its_ladder_and_others_none():
    assert Plan.of(ASHA).ladder.rungs == (1, 3, 9)
    assert Plan.of(ASHA).direction == "minimize"
    assert plan().ladder is None and scheduler.next_promotion(plan(), []) is None


@pytest.mark.parametrize("trials, promoted", [
    ([rung_trial(0, C, 0.1, 0.5), rung_trial(1, C, 0.2, 0.4), rung_trial(2, R, 0.3)], None),
    ([rung_trial(0, C, 0.1, 0.5), rung_trial(1, C, 0.2, 0.4), rung_trial(2, C, 0.3, 0.6)],
     (1, {"rate": 0.2}, 1)),
    # pruned, failed and interrupted trials do not rank; a queued promotion counts as one
    ([rung_trial(0, C, 0.1, 0.5), rung_trial(1, P, 0.2, 0.1), rung_trial(2, F, 0.3),
      rung_trial(3, INT, 0.3), rung_trial(4, C, 0.3, 0.6)], None),
    ([rung_trial(0, C, 0.1, 0.5), rung_trial(1, C, 0.2, 0.4), rung_trial(2, C, 0.3, 0.6),
      rung_trial(3, W, 0.2, None, 1, 1)], None),
    # an interrupted promotion's retry keeps its origin: not promoted twice
    ([rung_trial(0, C, 0.1, 0.5), rung_trial(1, C, 0.2, 0.4), rung_trial(2, C, 0.3, 0.6),
      rung_trial(3, INT, 0.2, None, 1, 1), rung_trial(4, W, 0.2, None, 1, 1)], None),
])
def test_next_promotion(trials, promoted):
    found = scheduler.next_promotion(Plan.of(ASHA), trials)
    assert (found and (found.origin, found.params, found.rung)) == promoted


def test_a_trial_trains_its_rungs_epochs_and_a_retry_keeps_them():
    asha = Plan.of(ASHA)
    assert scheduler.rung_epochs(asha, {Attr.RUNG: 1}) == 3
    assert scheduler.rung_epochs(asha, {Attr.RUNG: 1, Attr.RUNG_EPOCHS: 2}) == 2
    assert scheduler.rung_epochs(asha, {}) == 1
    assert scheduler.rung_epochs(plan(), {Attr.RUNG: 1}) is None
    interrupted = rung_trial(3, INT, 0.2, None, 1, 1)
    _, attrs = scheduler.requeue(interrupted)
    assert (attrs[Attr.RUNG], attrs[Attr.RUNG_EPOCHS], attrs[Attr.PROMOTED_FROM]) == (1, 3, 1)
    assert Attr.RUNG not in scheduler.requeue(trial(2, INT, 0.2))[1]

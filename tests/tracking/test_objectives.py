"""A multi-objective study seen through one measure, its front and the picked member (pure:
in-memory Optuna studies)."""

import optuna
import pytest

from cifar_search.engines.optuna.study import judge
from cifar_search.errors import ConfigError
from cifar_search.search.states import Attr, StudyAttr
from cifar_search.tracking import objectives
from cifar_search.tracking.tables import best_trial, trials_table


def two_objective_study(curves, finals):
    """Trials with ``curves`` (val_accuracy per epoch, in the trial's ``curve`` attribute as
    the coordinator writes it) and, where given, ``finals`` (accuracy, params) told."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_user_attr(StudyAttr.OBJECTIVES, ["val_accuracy", "params"])
    study.set_user_attr(StudyAttr.METRIC, "val_accuracy")
    for number, (curve, final) in enumerate(zip(curves, finals, strict=True)):
        trial = study.ask()
        trial.set_user_attr(Attr.PARAMS, {"filters": 4 + number})
        trial.set_user_attr(Attr.MLFLOW_RUN_ID, f"run{number}")
        trial.set_user_attr(Attr.CURVE, {str(s): v for s, v in enumerate(curve, start=1)})
        if final is not None:
            study.tell(trial, list(final))
    return study


def test_a_pruner_asked_through_the_primary_view_judges_the_accuracy_curve():
    study = two_objective_study([[0.5, 0.6], [0.6, 0.7], [0.55, 0.65], [0.1]],
                                [(0.6, 100), (0.7, 300), (0.65, 200), None])
    view = objectives.seen_as(study, "maximize", 0)
    assert view.direction == optuna.study.StudyDirection.MAXIMIZE
    running = view.get_trials(deepcopy=False)[3]
    assert running.intermediate_values == {1: 0.1}
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    assert bool(pruner.prune(view, running)) is True
    study._storage.set_trial_user_attr(running._trial_id, Attr.CURVE, {"1": 0.9})
    assert bool(pruner.prune(view, view.get_trials(deepcopy=False)[3])) is False
    assert [t.value for t in view.get_trials(states=(optuna.trial.TrialState.COMPLETE,))] == [
        0.6, 0.7, 0.65]
    assert study.trials[0].values == [0.6, 100]  # the study itself is untouched
    assert objectives.seen_as(optuna.create_study(), "minimize", 0).directions == [
        optuna.study.StudyDirection.MINIMIZE]


def test_the_pruner_is_asked_epoch_by_epoch_and_tpe_still_draws_after_pruned_trials():
    """Optuna's TPE reads pruned trials' intermediate values with one direction: the curve is
    kept apart from them, so a multi-objective TPE study with pruned trials still draws."""
    study = optuna.create_study(
        directions=["maximize", "minimize"],
        sampler=optuna.samplers.TPESampler(n_startup_trials=2, seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
    verdicts = []
    for accuracy in (0.6, 0.7, 0.1, 0.2):
        trial = study.ask()
        trial.suggest_float("dropout_rate", 0.0, 0.5)
        verdicts.append(judge(study, trial._trial_id, accuracy, 1, "maximize", 0))
        if verdicts[-1]:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, [accuracy, 100.0])
    assert verdicts == [False, False, True, True]
    assert study.trials[2].user_attrs[Attr.CURVE] == {"1": 0.1}
    assert study.trials[2].intermediate_values == {}
    study.ask().suggest_float("dropout_rate", 0.0, 0.5)


def test_the_front_the_pick_and_best_of_a_two_objective_study():
    study = two_objective_study([[0.6]] * 4, [(0.6, 100), (0.7, 300), (0.55, 200), (0.7, 300)])
    assert [t.number for t in objectives.front_trials(study)] == [0, 1, 3]
    assert objectives.picked_trial(study).number == 1          # the first objective, ties low
    assert objectives.picked_trial(study, "params").number == 0
    study.set_user_attr(StudyAttr.PICK, "params")
    assert objectives.picked_trial(study).number == 0           # the study's recorded rule
    best = best_trial(study, "val_accuracy")
    assert (best["number"], best["value"], best["values"]) == (
        1, 0.7, {"val_accuracy": 0.7, "params": 300})
    rows = objectives.front_rows(study, ["filters"])
    assert rows[0] == {"number": 0, "values": {"val_accuracy": 0.6, "params": 100},
                       "params": {"filters": 4}, "mlflow_run_id": "run0"}
    assert trials_table(study)["value"].isna().all()  # one value per trial only through a view
    lines = objectives.front_lines(study, ["filters"], "params")
    assert lines[0] == "Pareto front (3 trials) of val_accuracy (maximize), params (minimize):"
    assert lines[1].endswith("filters=4  <- picked (best params on the front)")


@pytest.mark.parametrize("directions, pick, message", [
    (["maximize", "minimize"], "latency_ms",
     "--pick: 'latency_ms' is not allowed; pick is one of the objectives: val_accuracy, params"),
    (["minimize"], "params",
     "--pick: 'params' is not allowed; --pick chooses among a Pareto front, and this study has "
     "one objective"),
])
def test_pick_names_an_objective(directions, pick, message):
    study = optuna.create_study(directions=directions)
    study.set_user_attr(StudyAttr.OBJECTIVES, ["val_accuracy", "params"])
    with pytest.raises(ConfigError) as caught:
        objectives.check_pick(study, pick)
    assert str(caught.value) == message


def _front_study(seeds, dominated=None):
    """A two-objective study whose trials have each seed's (accuracy) scores, a mean accuracy
    and params that put every one of them on the front (more accurate: larger); ``dominated``
    adds a trial beaten on both by the first."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_user_attr(StudyAttr.OBJECTIVES, ["val_accuracy", "params"])
    study.set_user_attr(StudyAttr.PICK, "val_accuracy")
    rows = [(sum(s) / len(s), 100.0 * (i + 1), s) for i, s in enumerate(seeds)]
    if dominated is not None:
        rows.append((*dominated, ()))
    for number, (accuracy, params, scores) in enumerate(rows):
        attrs = {Attr.PARAMS: {"filters": 4 + number}}
        if len(scores) > 1:
            attrs[Attr.REPEAT_MEASURES] = {"val_accuracy": list(scores),
                                           "params": [params] * len(scores)}
        study.add_trial(optuna.trial.create_trial(values=[accuracy, params], user_attrs=attrs))
    return study


def test_the_front_verdict_names_a_clear_winner_on_the_pick_measure_among_the_front():
    study = _front_study([(0.50, 0.51, 0.49), (0.60, 0.61, 0.59), (0.80, 0.81, 0.79)],
                         dominated=(0.2, 1000.0))
    verdict = objectives.front_verdict(study, ["filters"])
    assert verdict.scope == "the Pareto front's 3 members, on val_accuracy"  # not trial 3
    leader = verdict.standings[0]
    assert leader.label == "trial 2 (filters=6)" and leader.p_best == pytest.approx(1, abs=0.01)
    assert leader.scores == (0.80, 0.81, 0.79)  # its seeds, not its mean
    assert not any(s.within_noise for s in verdict.standings[1:])
    assert verdict.lines("val_accuracy")[0] == (
        "verdict (among the Pareto front's 3 members, on val_accuracy): trial 2 (filters=6) "
        "is clearly the best (P(best) 1.00)")


def test_the_front_verdict_says_when_the_picked_member_is_within_noise_of_another():
    study = _front_study([(0.70, 0.60, 0.80), (0.72, 0.62, 0.79)])
    verdict = objectives.front_verdict(study, ["filters"])
    assert verdict.possible and verdict.standings[0].label == "trial 1 (filters=5)"
    assert verdict.standings[1].within_noise is True
    assert "within noise of trial 0 (filters=4)" in verdict.headline()
    on_params = objectives.front_verdict(study, ["filters"], "params")  # no spread: exact
    assert on_params.scope.endswith("on params") and on_params.direction == "minimize"
    assert on_params.standings[0].label == "trial 0 (filters=4)"


def test_without_repeats_the_front_verdict_says_how_to_get_one():
    from cifar_search.tracking.notes import verdict_markdown

    study = _front_study([(0.5,), (0.6,)])
    verdict = objectives.front_verdict(study, ["filters"])
    assert not verdict.possible
    assert verdict.lines("val_accuracy") == [
        "verdict (among the Pareto front's 2 members, on val_accuracy): none possible, each "
        "candidate has one score; for one, train each with several seeds: repeats=3 in the "
        "sweep, or --repeats 3; the front's members are then compared on val_accuracy"]
    assert verdict_markdown(verdict, "val_accuracy")[1].startswith(
        "**Verdict (among the Pareto front's 2 members, on val_accuracy):** none possible")

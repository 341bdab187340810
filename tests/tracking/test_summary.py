"""The parent-run summary of a study, logged through a stand-in tracker: no MLflow, no
training."""

from types import SimpleNamespace

import optuna
import pandas as pd

from cifar_search import Objective
from cifar_search.tracking import summary
from tests.tracking.studies import add_trial

optuna.logging.set_verbosity(optuna.logging.WARNING)


class FakeTracker:
    """Records what :func:`summary.log_study` logs; metric histories from a dict."""

    def __init__(self, histories):
        self.histories = histories
        self.logged = {}

    def metric_history(self, run_id, metric):
        return self.histories.get(run_id, {}).get(metric, [])

    def log_summary(self, data, files):
        self.logged["summary"] = dict(data)
        self.logged["files"] = [path.name for path in files]
        self.logged["trials.csv"] = pd.read_csv(files[0])

    def log_best_model(self, results, model_path, files, mlflow_model=None, best=None):
        self.logged["best_model"] = (results["trial"], model_path.name,
                                     [path.name for path in files])
        self.logged["version"] = best
        self.logged["tested"] = results
        return None

    parent_id, experiment_id = "parent", "7"

    def final_metrics(self, run_id):
        tested = self.logged.get("tested")
        return {"test_accuracy": tested["test_accuracy"]} if tested else {}

    def tags(self, run_id):
        tested = self.logged.get("tested")
        return {"best_model_trial": str(tested["trial"])} if tested else {}

    def describe(self, markdown):
        self.logged["note"] = markdown

    def mark_runs(self, best_run, colours):
        self.logged["best_run"], self.logged["colours"] = best_run, colours

    def save_view(self):
        self.logged["view"] = True


def sweep():
    return SimpleNamespace(objective=Objective("val_loss"),
                           space=SimpleNamespace(swept=lambda: ("activation",)),
                           name="tiny", source="sweeps/tiny.py", engine="optuna")


def study_of_three():
    study = optuna.create_study(direction="minimize")
    add_trial(study, 0, "relu", 0.9)
    add_trial(study, 1, "tanh", 0.7)
    add_trial(study, 2, "elu", None, state="pruned")
    return study


def test_log_study_logs_the_table_plots_and_curves():
    histories = {f"run{n}": {"val_loss": [(1, 1.0), (2, 0.8)], "val_accuracy": [(1, 0.5)]}
                 for n in range(3)}
    tracker = FakeTracker(histories)
    best = summary.log_study(study_of_three(), sweep(), tracker, None)
    assert best["number"] == 1 and best["params"] == {"activation": "tanh", "filters": 4}
    assert tracker.logged["summary"] == {
        "trials_complete": 2, "trials_pruned": 1, "best_value": 0.7, "best_trial": 1,
        "best_params": {"activation": "tanh", "filters": 4}}
    assert tracker.logged["files"] == [  # one swept parameter: no contour
        "trials.csv", "optimization_history.png", "param_importances.png",
        "parallel_coordinate.png", "slice.png", "val_loss_vs_activation.png",
        "intermediate_values.png", "learning_curves_val_loss.png",
        "learning_curves_val_accuracy.png"]
    assert tracker.logged["trials.csv"]["state"].tolist() == ["complete", "complete", "pruned"]
    assert "best_model" not in tracker.logged


def test_log_study_with_test_results_and_no_curves(monkeypatch):
    from cifar_search.tracking import plots

    titles = []
    drawn = plots.confusion_matrix
    monkeypatch.setattr(plots, "confusion_matrix",
                        lambda *args, title=None: titles.append(title) or drawn(*args, title))
    tracker = FakeTracker({})
    test = {"trial": 1, "model_path": "/models/best.keras", "test_loss": 0.7,
            "test_accuracy": 0.6, "classes": ["a", "b"], "confusion_matrix": [[3, 1], [2, 4]]}
    summary.log_study(study_of_three(), sweep(), tracker, test)
    assert "learning_curves_val_loss.png" not in tracker.logged["files"]
    assert tracker.logged["best_model"] == (1, "best.keras", ["confusion_matrix.png"])
    assert titles == ["trial 1: activation=tanh"]
    version = tracker.logged["version"]  # what the registered version will say
    assert (version.name, version.trial, version.run_id, version.value) == ("tiny", 1, "run1",
                                                                           0.7)
    assert (version.objective, version.direction, version.engine) == ("val_loss", "minimize",
                                                                      "optuna")
    assert version.params == {"activation": "tanh", "filters": 4}
    assert (version.test_accuracy, version.test_loss, version.classes) == (0.6, 0.7, ("a", "b"))


def two_param_study():
    """Six complete trials over dropout_rate and activation, each reporting two epochs."""
    study = optuna.create_study(direction="minimize")
    distributions = {"dropout_rate": optuna.distributions.FloatDistribution(0.0, 0.5),
                     "activation": optuna.distributions.CategoricalDistribution(["relu", "tanh"])}
    for number in range(6):
        params = {"dropout_rate": 0.1 * (number % 3), "activation": ["relu", "tanh"][number % 2]}
        value = 1.0 - 0.1 * number
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions=distributions, value=value,
            intermediate_values={1: value + 0.2, 2: value},
            user_attrs={"params": {**params, "filters": 4}, "mlflow_run_id": f"run{number}"}))
    return study


def test_a_two_parameter_study_gets_every_plot():
    two = SimpleNamespace(objective=Objective("val_loss"),
                          space=SimpleNamespace(swept=lambda: ("dropout_rate", "activation")),
                          name="two", source=None)
    tracker = FakeTracker({f"run{n}": {"val_loss": [(1, 1.0), (2, 0.8)]} for n in range(6)})
    summary.log_study(two_param_study(), two, tracker, None)
    assert tracker.logged["files"] == [
        "trials.csv", "optimization_history.png", "param_importances.png",
        "parallel_coordinate.png", "slice.png", "contour.png",
        "val_loss_vs_dropout_rate.png", "val_loss_vs_activation.png",
        "intermediate_values.png", "learning_curves_val_loss.png"]


def test_an_empty_study_logs_its_table_only():
    tracker = FakeTracker({})
    assert summary.log_study(optuna.create_study(), sweep(), tracker, None) is None
    assert tracker.logged["summary"] == {} and tracker.logged["files"] == ["trials.csv"]


def test_a_conditional_parameter_is_plotted_where_complete_trials_have_it():
    study = optuna.create_study(direction="minimize")
    optimizer = optuna.distributions.CategoricalDistribution(["adam", "sgd"])
    momentum = optuna.distributions.FloatDistribution(0.0, 0.99)
    for number, (params, state) in enumerate([
            ({"optimizer": "adam"}, "complete"),
            ({"optimizer": "sgd", "momentum": 0.9}, "complete"),
            ({"optimizer": "adam"}, "complete"),
            ({"optimizer": "sgd", "momentum": 0.5}, "pruned")]):
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions={"optimizer": optimizer, "momentum": momentum}
            if "momentum" in params else {"optimizer": optimizer},
            value=1.0 - number / 10 if state == "complete" else None,
            state=optuna.trial.TrialState.COMPLETE if state == "complete"
            else optuna.trial.TrialState.PRUNED, intermediate_values={1: 1.0},
            user_attrs={"params": params, "mlflow_run_id": f"run{number}"}))
    swept = SimpleNamespace(objective=Objective("val_loss"),
                            space=SimpleNamespace(swept=lambda: ("optimizer", "momentum")),
                            name="conditional", source=None)
    tracker = FakeTracker({})
    summary.log_study(study, swept, tracker, None)
    assert "contour.png" in tracker.logged["files"]
    # only in the pruned trial: no plot of it
    pruned_only = optuna.create_study(direction="minimize")
    for trial in study.trials:
        if trial.number != 1:
            pruned_only.add_trial(trial)
    summary.log_study(pruned_only, swept, tracker, None)
    assert "val_loss_vs_momentum.png" not in tracker.logged["files"]
    assert "contour.png" not in tracker.logged["files"]


def test_the_description_names_the_best_run_and_each_run_gets_a_distinct_colour():
    tracker = FakeTracker({})
    test = {"trial": 1, "model_path": "/models/best.keras", "test_loss": 0.7,
            "test_accuracy": 0.6, "classes": ["a", "b"], "confusion_matrix": [[3, 1], [2, 4]]}
    summary.log_study(study_of_three(), sweep(), tracker, test)
    note = tracker.logged["note"]
    assert note.startswith("Study **tiny** (sweeps/tiny.py): minimize `val_loss`.")
    assert "**Trials:** 3 (2 complete, 1 pruned)" in note
    link = "#/experiments/7/runs/run1?workflowType=machine_learning"
    assert f"**Best:** [trial-0001]({link}) with val_loss 0.7 (activation=tanh)" in note
    assert "**Test accuracy** of trial 1's model: 0.6\n" in note
    assert f"| &nbsp;1&nbsp; | &nbsp;[trial-0001]({link})&nbsp; | &nbsp;0.7&nbsp; | " \
           "&nbsp;tanh&nbsp; |" in note
    assert tracker.logged["best_run"] == "run1"
    colours = tracker.logged["colours"]
    assert set(colours) == {"run0", "run1", "run2"} and len(set(colours.values())) == 3


def test_a_study_of_stopped_trials_draws_no_intermediate_values(caplog):
    """A trial stopped mid-way (failed, with epochs reported) is not drawn by Optuna's plot:
    no empty plot, and no Optuna warning on the user's terminal."""
    study = optuna.create_study()
    study.add_trial(optuna.trial.create_trial(
        state=optuna.trial.TrialState.FAIL, intermediate_values={1: 0.9, 2: 0.8},
        user_attrs={"mlflow_run_id": "run0"}))
    tracker = FakeTracker({"run0": {"val_loss": [(1, 0.9), (2, 0.8)]}})
    optuna.logging.enable_propagation()
    try:
        summary.log_study(study, sweep(), tracker, None)
    finally:
        optuna.logging.disable_propagation()
    assert "intermediate_values.png" not in tracker.logged["files"]
    assert "does not contain trials" not in caplog.text


def test_files_drawn_ahead_are_the_ones_logged_and_their_folder_goes():
    histories = {f"run{n}": {"val_loss": [(1, 1.0), (2, 0.8)]} for n in range(3)}
    now, ahead = FakeTracker(histories), FakeTracker(histories)
    summary.log_study(study_of_three(), sweep(), now, None)
    drawn = summary.draw_ahead(study_of_three(), sweep(), ahead)
    assert all(path.is_file() and path.parent == drawn.folder for path in drawn.files)
    summary.log_study(study_of_three(), sweep(), ahead, None, drawn)
    assert ahead.logged["files"] == now.logged["files"]
    assert ahead.logged["summary"] == now.logged["summary"]
    assert not drawn.folder.exists()
    summary.discard(drawn)  # already gone: nothing to do
    summary.discard(None)


def repeated_study():
    """Three candidates of three seeds each (``repeat_values``): tanh clearly ahead of relu,
    elu within noise of tanh; a same_seed duplicate of tanh that must not count twice."""
    study = optuna.create_study(direction="minimize")
    for number, (activation, seeds) in enumerate(
            [("relu", [0.90, 0.92, 0.91]), ("tanh", [0.70, 0.74, 0.69]),
             ("elu", [0.72, 0.70, 0.75])]):
        add_trial(study, number, activation, sum(seeds) / 3, repeat_values=seeds)
    add_trial(study, 3, "tanh", 0.71, repeat_values=[0.70, 0.74, 0.69], duplicate_of=1)
    return study


def test_the_verdict_is_described_and_drawn_with_repeats():
    tracker = FakeTracker({})
    summary.log_study(repeated_study(), sweep(), tracker, None)
    assert "verdict.png" in tracker.logged["files"]
    note = tracker.logged["note"]
    assert "**Verdict:** trial 1 (activation=tanh) leads (P(best) 0." in note
    assert "within noise of trial 2 (activation=elu)" in note
    assert "| trial 0 (activation=relu) | behind: " in note
    assert "_10000 draws of each candidate's mean from its scores" in note


def test_without_repeats_the_description_says_no_verdict_is_possible_and_nothing_is_drawn():
    tracker = FakeTracker({})
    summary.log_study(study_of_three(), sweep(), tracker, None)
    assert "verdict.png" not in tracker.logged["files"]
    assert ("**Verdict:** none possible, each candidate has one score; for one, train each "
            "with several seeds: repeats=3 in the sweep, or --repeats 3") in tracker.logged["note"]

"""The parent-run summary of a study, logged through a stand-in tracker: no MLflow, no
training."""

from types import SimpleNamespace

import optuna
import pandas as pd

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

    def log_best_model(self, results, model_path, files):
        self.logged["best_model"] = (results["trial"], model_path.name,
                                     [path.name for path in files])


def sweep():
    return SimpleNamespace(objective=SimpleNamespace(metric="val_loss", direction="minimize"),
                           space=SimpleNamespace(swept=lambda: ("activation",)))


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
    assert tracker.logged["files"] == [
        "trials.csv", "optimization_history.png", "val_loss_vs_activation.png",
        "learning_curves_val_loss.png", "learning_curves_val_accuracy.png"]
    assert tracker.logged["trials.csv"]["state"].tolist() == ["complete", "complete", "pruned"]
    assert "best_model" not in tracker.logged


def test_log_study_with_test_results_and_no_curves():
    tracker = FakeTracker({})
    test = {"trial": 1, "model_path": "/models/best.keras", "test_loss": 0.7,
            "test_accuracy": 0.6, "classes": ["a", "b"], "confusion_matrix": [[3, 1], [2, 4]]}
    summary.log_study(study_of_three(), sweep(), tracker, test)
    assert "learning_curves_val_loss.png" not in tracker.logged["files"]
    assert tracker.logged["best_model"] == (1, "best.keras", ["confusion_matrix.png"])


def test_an_empty_study_logs_its_table_only():
    tracker = FakeTracker({})
    assert summary.log_study(optuna.create_study(), sweep(), tracker, None) is None
    assert tracker.logged["summary"] == {} and tracker.logged["files"] == ["trials.csv"]

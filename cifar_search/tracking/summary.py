"""The parent-run summary of a study: the trials CSV, the plots, the learning curves and the
test-set results, built from :mod:`cifar_search.tracking.tables` and logged through the
:class:`~cifar_search.tracking.mlflow.Tracker`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import pandas as pd

from cifar_search.search.states import TrialOutcome
from cifar_search.tracking.tables import History, best_trial, counts, trial_curves, trials_table

if TYPE_CHECKING:
    import optuna

    from cifar_search.config.sweep import Sweep
    from cifar_search.tracking.mlflow import Tracker


def _plots(table: pd.DataFrame, swept: Sequence[str], metric: str, direction: str,
           folder: Path) -> list[Path]:
    """``optimization_history.png`` and ``<metric>_vs_<param>.png`` of the complete trials."""
    from cifar_search.tracking import plots

    done = table[table["state"] == TrialOutcome.COMPLETE]
    if done.empty:
        return []
    files = [plots.optimization_history(done, metric, direction,
                                        folder / "optimization_history.png")]
    for param in swept:
        if param in done.columns:
            files.append(plots.objective_vs_param(done, param, metric,
                                                  folder / f"{metric}_vs_{param}.png"))
    return files


def _curve_plots(study: optuna.Study, sweep: "Sweep", history: History,
                 folder: Path) -> list[Path]:
    """``learning_curves_<metric>.png`` for the objective and for val_accuracy."""
    from cifar_search.tracking import plots

    files = []
    for metric in dict.fromkeys((sweep.objective.metric, "val_accuracy")):
        curves = trial_curves(study, history, metric, sweep.space.swept())
        if curves:
            files.append(plots.learning_curves(curves, metric,
                                               folder / f"learning_curves_{metric}.png",
                                               f"{metric} per epoch, one line per trial"))
    return files


def study_summary(study: optuna.Study) -> dict[str, Any]:
    """``trials_<outcome>`` counts and, once a trial is complete, the best value, trial and
    parameters (the parent run's ``summary.json``)."""
    summary: dict[str, Any] = {f"trials_{k}": v for k, v in counts(study).items()}
    best = best_trial(study)
    if best is not None:
        summary.update(best_value=best["value"], best_trial=best["number"],
                       best_params=best["params"])
    return summary


def log_study(study: optuna.Study, sweep: "Sweep", tracker: "Tracker",
              test: dict[str, Any] | None) -> dict[str, Any] | None:
    """Log the study summary (and test results when given) on the parent run; return the best.

    Args:
        study: the sweep's study.
        sweep: the sweep (its objective and swept parameters name the plots).
        tracker: the study's tracker, its parent run open.
        test: the best model's test-set results (``test_loss``, ``test_accuracy``,
            ``confusion_matrix``, ``classes``, ``model_path``, ``trial``), or None.
    """
    from cifar_search.tracking import plots
    from cifar_search.tracking.mlflow import scratch_dir

    table = trials_table(study)
    with scratch_dir() as scratch:
        folder = Path(scratch)
        table.to_csv(folder / "trials.csv", index=False)
        files = [folder / "trials.csv"] + _plots(
            table, sweep.space.swept(), sweep.objective.metric, sweep.objective.direction, folder)
        files += _curve_plots(study, sweep, tracker.metric_history, folder)
        tracker.log_summary(study_summary(study), files)
        if test is not None:
            image = plots.confusion_matrix(test["confusion_matrix"], test["classes"],
                                           test["test_accuracy"], folder / "confusion_matrix.png")
            tracker.log_best_model(test, Path(test["model_path"]), [image])
    return best_trial(study)

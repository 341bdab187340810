"""A study as tables and plain data: the trials table, the best trial, and the parent-run
summary (CSV, plots, test-set results) logged to MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

#: Trial user attributes shown as columns of the trials table.
ATTR_COLUMNS = ("epochs_trained", "duration_s", "fail_reason", "retry_of", "mlflow_run_id")


def state_name(trial: optuna.trial.FrozenTrial) -> str:
    """``complete``, ``pruned``, ``failed``, ``interrupted``, ``running`` or ``waiting``."""
    if trial.state == TrialState.FAIL and trial.user_attrs.get("interrupted"):
        return "interrupted"
    return {TrialState.FAIL: "failed"}.get(trial.state, trial.state.name.lower())


def trial_params(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """Every parameter of a trial, fixed ones included."""
    return dict(trial.user_attrs.get("params") or trial.params)


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value, each parameter, duration, MLflow run id."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"number": trial.number, "state": state_name(trial),
                               "value": trial.value}
        row.update(trial_params(trial))
        row.update({k: trial.user_attrs.get(k) for k in ATTR_COLUMNS})
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["number", "state", "value", *ATTR_COLUMNS])
    return pd.DataFrame(rows)


def best_trial(study: optuna.Study) -> dict[str, Any] | None:
    """The best complete trial as plain data, or None."""
    try:
        best = study.best_trial
    except ValueError:
        return None
    return {"number": best.number, "value": best.value, "params": trial_params(best),
            "mlflow_run_id": best.user_attrs.get("mlflow_run_id"),
            "model_path": best.user_attrs.get("model_path")}


def counts(study: optuna.Study) -> dict[str, int]:
    """Number of trials in each state."""
    result: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        name = state_name(trial)
        result[name] = result.get(name, 0) + 1
    return result


def _plots(table: pd.DataFrame, swept: tuple[str, ...], metric: str, direction: str,
           folder: Path) -> list[Path]:
    from cifar_search import plots

    done = table[table["state"] == "complete"]
    if done.empty:
        return []
    files = [plots.optimization_history(done, metric, direction,
                                        folder / "optimization_history.png")]
    for param in swept:
        if param in done.columns:
            files.append(plots.objective_vs_param(done, param, metric,
                                                  folder / f"{metric}_vs_{param}.png"))
    return files


def log_study(study: optuna.Study, sweep: Any, tracker: Any,
              test: dict[str, Any] | None) -> dict[str, Any] | None:
    """Log the study summary (and test results when given) on the parent run; return the best."""
    from cifar_search import plots
    from cifar_search.tracking import scratch_dir

    table = trials_table(study)
    best = best_trial(study)
    summary: dict[str, Any] = {f"trials_{k}": v for k, v in counts(study).items()}
    if best is not None:
        summary.update(best_value=best["value"], best_trial=best["number"],
                       best_params=best["params"])
    with scratch_dir() as scratch:
        folder = Path(scratch)
        table.to_csv(folder / "trials.csv", index=False)
        files = [folder / "trials.csv"] + _plots(
            table, sweep.space.swept(), sweep.objective.metric, sweep.objective.direction, folder)
        tracker.log_summary(summary, files)
        if test is not None:
            image = plots.confusion_matrix(test["confusion_matrix"], test["classes"],
                                           test["test_accuracy"], folder / "confusion_matrix.png")
            tracker.log_best_model(test, Path(test["model_path"]), [image])
    return best

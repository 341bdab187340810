"""A study as tables and plain data: the trials table, the best trial, and the parent-run
summary (CSV, plots, test-set results) logged to MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

#: Trial user attributes shown as columns of the trials table.
ATTR_COLUMNS = ("epochs_trained", "duration_s", "fail_reason", "retry_of", "continues",
                "duplicate_of", "mlflow_run_id")

#: Learning curves label this many trials (the best); the others are drawn faint, unlabelled.
LABELLED_CURVES = 12


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
        if "value_std" in trial.user_attrs:  # scored over several seeds
            row["value_std"] = trial.user_attrs["value_std"]
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


def _epochs(client: Any, run_id: str, metric: str) -> dict[int, float]:
    """One run's ``metric`` per epoch (MLflow step), the last value logged for each."""
    history = sorted(client.get_metric_history(run_id, metric), key=lambda m: m.timestamp)
    return {m.step: m.value for m in history}


def _mean_curve(client: Any, run_ids: list[str], metric: str) -> list[tuple[int, float]]:
    """Per epoch, the mean over the runs (seeds) that reached it."""
    runs = [_epochs(client, run_id, metric) for run_id in run_ids]
    curve = []
    for step in sorted({step for run in runs for step in run}):
        values = [run[step] for run in runs if step in run]
        curve.append((step, sum(values) / len(values)))
    return curve


def _curve_label(trial: optuna.trial.FrozenTrial, swept: tuple[str, ...]) -> str:
    """The swept parameters of a trial, e.g. ``activation=relu, dropout_rate=0.3``."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in trial_params(trial).items() if k in swept)


def trial_curves(study: optuna.Study, client: Any, metric: str, swept: tuple[str, ...],
                 labelled: int = LABELLED_CURVES) -> list[tuple[str | None, list, str]]:
    """Per-epoch ``metric`` of every complete and pruned trial, read from MLflow, best first.

    Each curve is ``(label, [(epoch, value), ...], style)`` for
    :func:`cifar_search.tracking.plots.learning_curves`: labelled by the swept parameters
    (``"activation=relu"``), ``"solid"`` for a complete trial and ``"dashed"`` for a pruned one
    (complete ones ranked by value, then pruned ones); beyond the ``labelled`` best,
    ``"faint"`` without a label. A trial run with several seeds (user attribute
    ``repeat_run_ids``) gives the mean over its seeds per epoch. Trials that logged no
    ``metric`` are left out.

    Args:
        study: the study.
        client: an ``mlflow.MlflowClient`` on the sweep's tracking URI.
        metric: e.g. ``"val_accuracy"``.
        swept: the parameters that vary (``sweep.space.swept()``), named in the labels.
        labelled: how many of the best trials get a label and a colour.
    """
    sign = -1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1
    trials = sorted(
        study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)),
        key=lambda t: (t.state != TrialState.COMPLETE,
                       sign * t.value if t.value is not None else 0.0, t.number))
    found = []
    for trial in trials:
        run_ids = (trial.user_attrs.get("repeat_run_ids")
                   or [trial.user_attrs.get("mlflow_run_id")])
        points = _mean_curve(client, [run_id for run_id in run_ids if run_id], metric)
        if points:
            found.append((trial, _curve_label(trial, swept) or f"trial {trial.number}", points))
    labels = [label for _, label, _ in found]
    curves = []
    for rank, (trial, label, points) in enumerate(found):
        if rank >= labelled:
            curves.append((None, points, "faint"))
            continue
        if labels.count(label) > 1:
            label = f"{label} (trial {trial.number})"
        curves.append((label, points, "solid" if trial.state == TrialState.COMPLETE else "dashed"))
    return curves


def _plots(table: pd.DataFrame, swept: tuple[str, ...], metric: str, direction: str,
           folder: Path) -> list[Path]:
    from cifar_search.tracking import plots

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


def _curve_plots(study: optuna.Study, sweep: Any, client: Any, folder: Path) -> list[Path]:
    """``learning_curves_<metric>.png`` for the objective and for val_accuracy."""
    from cifar_search.tracking import plots

    files = []
    for metric in dict.fromkeys((sweep.objective.metric, "val_accuracy")):
        curves = trial_curves(study, client, metric, sweep.space.swept())
        if curves:
            files.append(plots.learning_curves(curves, metric,
                                               folder / f"learning_curves_{metric}.png",
                                               f"{metric} per epoch, one line per trial"))
    return files


def log_study(study: optuna.Study, sweep: Any, tracker: Any,
              test: dict[str, Any] | None) -> dict[str, Any] | None:
    """Log the study summary (and test results when given) on the parent run; return the best."""
    from cifar_search.tracking import plots
    from cifar_search.tracking.mlflow import scratch_dir

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
        files += _curve_plots(study, sweep, tracker.client, folder)
        tracker.log_summary(summary, files)
        if test is not None:
            image = plots.confusion_matrix(test["confusion_matrix"], test["classes"],
                                           test["test_accuracy"], folder / "confusion_matrix.png")
            tracker.log_best_model(test, Path(test["model_path"]), [image])
    return best

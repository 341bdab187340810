"""Reconcile a study's Optuna trials with its MLflow runs, and repair what a crash left.

Every trial that started has exactly one child run and every child run belongs to one trial;
their states agree (complete/pruned: FINISHED, failed: FAILED, interrupted: KILLED). A crash can
leave a run RUNNING after its trial ended, or a run whose trial never learned its id (the
process died between creating the run and recording it); :func:`repair` closes those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from cifar_search.tracking.summary import state_name
from cifar_search.tracking.mlflow import RUN_STATUS, Tracker

MAX_RUNS = 50_000


@dataclass(frozen=True)
class Problem:
    """One disagreement; ``fix`` is the run status that repairs it (None: nothing to do)."""

    message: str
    run_id: str | None = None
    fix: str | None = None


def child_runs(tracker: Tracker, parent_id: str) -> dict[str, Any]:
    """The parent run's children by run id."""
    runs = tracker.client.search_runs(
        [tracker.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'",
        max_results=MAX_RUNS,
    )
    return {run.info.run_id: run for run in runs}


def reconcile(study: optuna.Study, tracker: Tracker, live: bool) -> list[Problem]:
    """Everything on which the study and its MLflow runs disagree.

    Args:
        live: whether a coordinator is running the study now (its RUNNING trials are fine).
    """
    parent_id = study.user_attrs.get("mlflow_parent_run_id")
    if parent_id is None:
        return [Problem("the study has no MLflow parent run")]
    runs = child_runs(tracker, parent_id)
    problems: list[Problem] = []
    claimed: set[str] = set()
    for trial in study.get_trials(deepcopy=False):
        if trial.state == TrialState.WAITING:
            continue
        run_id = trial.user_attrs.get("mlflow_run_id")
        if run_id is None or run_id not in runs:
            problems.append(Problem(f"trial {trial.number} has no MLflow run"))
            continue
        claimed.add(run_id)
        problems.extend(_compare(trial, runs[run_id], live))
    for run_id, run in runs.items():
        if run_id not in claimed and run.data.tags.get("repaired") != "true":
            fix = "KILLED" if run.info.status == "RUNNING" and not live else None
            problems.append(Problem(f"run {run_id} ({run.info.run_name}) belongs to no trial",
                                    run_id, fix))
    return problems


def _compare(trial: optuna.trial.FrozenTrial, run: Any, live: bool) -> list[Problem]:
    state = state_name(trial)
    if state == "running":
        if live:
            return []
        return [Problem(f"trial {trial.number} is RUNNING but no sweep is running "
                        "(run the sweep again to resume it)")]
    expected = RUN_STATUS[state]
    if run.info.status == expected:
        return []
    return [Problem(f"trial {trial.number} is {state} but its run {run.info.run_id} is "
                    f"{run.info.status}", run.info.run_id,
                    expected if run.info.status == "RUNNING" or not live else None)]


def repair(tracker: Tracker, problems: list[Problem]) -> list[str]:
    """Apply the fixes that can be applied; return what was done."""
    done = []
    for problem in problems:
        if problem.fix and problem.run_id:
            tracker.client.set_tag(problem.run_id, "repaired", "true")
            tracker.client.set_terminated(problem.run_id, status=problem.fix)
            done.append(f"set run {problem.run_id} to {problem.fix}: {problem.message}")
    return done

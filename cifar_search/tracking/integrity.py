"""Reconcile a study's Optuna trials with its MLflow runs, and repair what a crash left.

Every trial that started has exactly one child run and every child run belongs to one trial;
their states agree (complete/pruned: FINISHED, failed: FAILED, interrupted: KILLED). A crash can
leave a run RUNNING after its trial ended (its ``state`` tag still ``running``), a run whose
trial never learned its id (the process died between creating the run and recording it), or
the study's parent run RUNNING with no sweep running; :func:`repair` closes those, and a
repaired trial's run takes the trial's outcome as its tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cifar_search.search.states import (
    Attr,
    RunKind,
    RunStatus,
    StudyAttr,
    Tag,
    TrialOutcome,
    outcome_of,
)

if TYPE_CHECKING:
    import optuna

    from cifar_search.tracking.reader import RunReader, RunRecord
    from cifar_search.tracking.writer import Tracker


@dataclass(frozen=True)
class Problem:
    """One disagreement; ``fix`` is the run status that repairs it (None: nothing to do) and
    ``outcome`` the trial's outcome, which the repaired run's ``state`` tag takes (None: the run
    belongs to no trial)."""

    message: str
    run_id: str | None = None
    fix: RunStatus | None = None
    outcome: TrialOutcome | None = None


def reconcile(study: optuna.Study, tracker: RunReader, live: bool,
              lost: Mapping[int, str] | None = None) -> list[Problem]:
    """Everything on which the study and its MLflow runs disagree.

    Args:
        study: the sweep's study.
        tracker: reads the study's child runs (a :class:`RunReader` reads without creating
            anything; a :class:`Tracker` too).
        live: whether a coordinator is running the study now (its RUNNING trials are fine).
        lost: RUNNING trials whose machine is gone, with why (several machines: their
            heartbeat went stale); each is a problem even when the study is live.
    """
    parent_id = study.user_attrs.get(StudyAttr.MLFLOW_PARENT_RUN_ID)
    if parent_id is None:
        return [Problem("the study has no MLflow parent run")]
    return disagreements(study.get_trials(deepcopy=False), tracker.child_runs(parent_id), live,
                         lost)


def parent_left_running(study: optuna.Study, tracker: RunReader) -> list[Problem]:
    """For ``check`` while no sweep runs: the study's parent run left RUNNING (its coordinator
    was killed), see :func:`parent_problem`. (A resumed sweep reopens the run itself.)"""
    parent_id = study.user_attrs.get(StudyAttr.MLFLOW_PARENT_RUN_ID)
    if parent_id is None:
        return []
    return parent_problem(parent_id, tracker.status(parent_id),
                          StudyAttr.FINALISED in study.user_attrs)


def parent_problem(run_id: str, status: RunStatus | None, finalised: bool) -> list[Problem]:
    """The study's parent run left RUNNING while no sweep runs (its coordinator was killed):
    repaired to FINISHED when the study was finalised, else KILLED, as the sweep's own end
    would have closed it.

    Example:
        >>> [(p.message, p.fix) for p in parent_problem("p1", RunStatus.RUNNING, False)]
        [('the parent run p1 is RUNNING but no sweep is running', <RunStatus.KILLED: 'KILLED'>)]
        >>> parent_problem("p1", RunStatus.KILLED, False)
        []
    """
    if status != RunStatus.RUNNING:
        return []
    fix = RunStatus.FINISHED if finalised else RunStatus.KILLED
    return [Problem(f"the parent run {run_id} is RUNNING but no sweep is running", run_id, fix)]


def disagreements(trials: Iterable[Any], runs: Mapping[str, RunRecord],
                  live: bool, lost: Mapping[int, str] | None = None) -> list[Problem]:
    """Where trials (Optuna trials, frozen or live) and their runs (by run id) disagree; a
    RUNNING trial in ``lost`` (its machine is gone) is one problem, whatever its run.

    Example:
        >>> runs = {"r1": RunRecord("r1", "trial-0000", RunStatus.RUNNING, {})}  # doctest: +SKIP
        >>> [(p.message, p.fix) for p in disagreements([], runs, live=False)]  # doctest: +SKIP
        [('run r1 (trial-0000) belongs to no trial', <RunStatus.KILLED: 'KILLED'>)]
    """
    problems: list[Problem] = []
    claimed: set[str] = set()
    lost = lost or {}
    for trial in trials:
        if outcome_of(trial) == TrialOutcome.WAITING or trial.user_attrs.get(Attr.RELEASED):
            continue  # a released trial never started: several machines asked at once
        run_id = trial.user_attrs.get(Attr.MLFLOW_RUN_ID) or _taken_over_run(trial, runs)
        if outcome_of(trial) == TrialOutcome.RUNNING and trial.number in lost:
            claimed.add(run_id or "")
            problems.append(Problem(f"trial {trial.number} is RUNNING but "
                                    f"{lost[trial.number]}; check --repair takes it over"))
            continue
        if run_id is None or run_id not in runs:
            if not (live and outcome_of(trial) == TrialOutcome.RUNNING):  # else: making it
                problems.append(Problem(f"trial {trial.number} has no MLflow run"))
            continue
        claimed.add(run_id)
        problems.extend(_compare(trial, runs[run_id], live))
    for run_id, run in runs.items():
        if run_id not in claimed and run.tags.get(Tag.REPAIRED) != "true":
            fix = RunStatus.KILLED if run.status == RunStatus.RUNNING and not live else None
            problems.append(Problem(f"run {run_id} ({run.name}) belongs to no trial", run_id, fix))
    return problems


def _taken_over_run(trial: Any, runs: Mapping[str, RunRecord]) -> str | None:
    """The run of a trial that another machine took over before its own recorded the run id
    (a finished trial's attributes cannot be written any more): found by its trial number."""
    if outcome_of(trial) != TrialOutcome.INTERRUPTED:
        return None
    number = str(trial.number)
    return next((run_id for run_id, run in runs.items()
                 if run.tags.get(Tag.TRIAL_NUMBER) == number
                 and run.tags.get(Tag.KIND) != RunKind.SEED), None)


def _compare(trial: Any, run: RunRecord, live: bool) -> list[Problem]:
    outcome = outcome_of(trial)
    if outcome == TrialOutcome.RUNNING:
        if live:
            return []
        return [Problem(f"trial {trial.number} is RUNNING but no sweep is running "
                        "(run the sweep again to resume it)")]
    expected = outcome.run_status
    if run.status == expected:
        return []
    fix = expected if run.status == RunStatus.RUNNING or not live else None
    return [Problem(f"trial {trial.number} is {outcome} but its run {run.run_id} is "
                    f"{run.status}", run.run_id, fix, outcome if fix else None)]


def repair(tracker: Tracker, problems: list[Problem]) -> list[str]:
    """Apply the fixes that can be applied; return what was done."""
    done = []
    for problem in problems:
        if problem.fix and problem.run_id:
            tracker.repair_run(problem.run_id, problem.fix, problem.outcome)
            done.append(f"set run {problem.run_id} to {problem.fix}: {problem.message}")
    return done

"""The parent-run summary of a study: the trials CSV, the plots, the learning curves and the
test-set results, built from :mod:`cifar_search.tracking.tables` and logged through the
:class:`~cifar_search.tracking.writer.Tracker`."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cifar_search.search.states import Attr, Tag, TrialOutcome, outcome_of
from cifar_search.tracking.tables import (
    CURVE_ORDER,
    History,
    best_trained,
    best_trial,
    counts,
    trial_curves,
    trial_label,
    study_verdict,
    trial_params,
    trials_table,
)

if TYPE_CHECKING:
    import optuna

    from cifar_search.config.sweep import Sweep
    from cifar_search.tracking.registry import BestVersion
    from cifar_search.tracking.writer import Tracker


def _plots(study: optuna.Study, table: pd.DataFrame, swept: Sequence[str], metric: str,
           folder: Path) -> list[Path]:
    """The study's plots (see :mod:`cifar_search.tracking.plots`), those that apply:
    ``optimization_history.png``, ``param_importances.png`` (a note when there are too few
    parameters or trials), ``parallel_coordinate.png``, ``slice.png``, ``contour.png`` (two
    swept parameters or more), ``<metric>_vs_<param>.png`` per swept parameter once a trial is
    complete, and ``intermediate_values.png`` once a trial reported epochs."""
    import optuna

    from cifar_search.tracking import plots

    files = []
    done = table[table["state"] == TrialOutcome.COMPLETE]
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    in_study = {param for trial in complete for param in trial.params}
    # Optuna plots the parameters it suggested to a complete trial (conditional ones may lack)
    swept = [param for param in swept if param in in_study]
    if not done.empty:
        files.append(plots.optimization_history(study, metric,
                                                folder / "optimization_history.png"))
        files.append(plots.param_importances(study, swept, metric,
                                             folder / "param_importances.png"))
        kinds = ["parallel_coordinate", "slice"] + (["contour"] if len(swept) >= 2 else [])
        for kind in kinds if swept else []:
            files.append(plots.optuna_plot(kind, study, swept, metric, folder / f"{kind}.png"))
        trained = best_trained(study)  # the table's complete trials include it
        best = trained.number if trained is not None else None
        for param in swept:
            others = [other for other in swept if other != param]
            files.append(plots.objective_vs_param(
                done, param, metric, folder / f"{metric}_vs_{param}.png",
                colour_by=others[0] if others else None, best=best,
                colours=run_colours(study, swept, by=param)))
    plotted = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
               optuna.trial.TrialState.RUNNING)  # what Optuna's plot draws: not the stopped
    if any(trial.intermediate_values for trial in study.get_trials(deepcopy=False,
                                                                   states=plotted)):
        files.append(plots.optuna_plot("intermediate_values", study, swept, metric,
                                       folder / "intermediate_values.png"))
    return files


def _curve_plots(study: optuna.Study, sweep: Sweep, history: History,
                 folder: Path) -> list[Path]:
    """``learning_curves_<metric>.png`` for the objective and for val_accuracy."""
    from cifar_search.tracking import plots

    files = []
    swept = sweep.space.swept()
    by_number = run_colours(study, swept)
    colours = {trial_label(t.number, trial_params(t), swept): by_number[t.number]
               for t in study.get_trials(deepcopy=False) if t.number in by_number}
    for metric in dict.fromkeys((sweep.objective.metric, "val_accuracy")):
        curves = trial_curves(study, history, metric, swept)
        if curves:
            files.append(plots.learning_curves(curves, metric,
                                               folder / f"learning_curves_{metric}.png",
                                               f"{metric} per epoch, one line per trial",
                                               legend_title=CURVE_ORDER, colours=colours))
    return files


def run_colours(study: optuna.Study, swept: Sequence[str],
                by: str | None = None) -> dict[int, str]:
    """The colour of each trial that has an MLflow run, by trial number: the runs' colours in
    the UI (``by`` None), or the same ramp in the order of the parameter ``by`` (see
    :func:`cifar_search.tracking.colours.ordered_colours`)."""
    from cifar_search.tracking.colours import ordered_colours

    return ordered_colours([(t.number, trial_params(t)) for t in study.get_trials(deepcopy=False)
                            if t.user_attrs.get(Attr.MLFLOW_RUN_ID)], swept, by)


def study_summary(study: optuna.Study, sweep: Sweep | None = None) -> dict[str, Any]:
    """``trials_<outcome>`` counts and, once a trial is complete, the best value, trial and
    parameters (the parent run's ``summary.json``); with several objectives the best is the
    picked front member and ``pareto_front`` lists the front."""
    from cifar_search.tracking.objectives import front_rows, is_several

    summary: dict[str, Any] = {f"trials_{k}": v for k, v in counts(study).items()}
    best = best_trial(study)
    if best is not None:
        summary.update(best_value=best["value"], best_trial=best["number"],
                       best_params=best["params"])
    if is_several(study):
        summary["pareto_front"] = front_rows(study, sweep.space.swept() if sweep else None)
    return summary


@dataclass(frozen=True)
class Drawing:
    """The summary's files (trials table, plots, learning curves) drawn ahead of
    :func:`log_study`, in a folder of their own that :func:`log_study` removes."""

    folder: Path
    files: list[Path]


#: Held while a summary is drawn: one drawer at a time (matplotlib's pyplot is not
#: thread-safe, and a refresh draws in a thread of its own).
DRAWING = threading.Lock()


def scored(study: optuna.Study, sweep: Sweep) -> tuple[optuna.Study, str]:
    """The study as the summary reads it, and the metric of its values: itself and its
    objective; with several objectives, the study seen through the ``pick`` measure (its
    tables, plots and ranking are that measure's; the front is drawn and listed apart)."""
    from cifar_search.tracking.objectives import seen_as

    objective = sweep.objective
    if not objective.several:
        return study, objective.metric
    return seen_as(study, objective.direction_of(objective.pick),
                   objective.metrics.index(objective.pick)), objective.pick


def _draw(study: optuna.Study, sweep: Sweep, tracker: Tracker,
          folder: Path) -> list[Path]:
    """``trials.csv``, the study's plots, the learning curves and, once a verdict is possible,
    ``verdict.png``, written into ``folder``; with several objectives ``pareto_front.png``
    (one drawer at a time: :data:`DRAWING`)."""
    with DRAWING:
        return _draw_files(study, sweep, tracker, folder)


def _draw_files(study: optuna.Study, sweep: Sweep, tracker: Tracker,
                folder: Path) -> list[Path]:
    """What :func:`_draw` draws."""
    from cifar_search.tracking import plots

    view, metric = scored(study, sweep)
    table = trials_table(view)
    table.to_csv(folder / "trials.csv", index=False)
    files = [folder / "trials.csv"] + _plots(view, table, sweep.space.swept(), metric, folder)
    verdict = study_verdict(study, sweep.space.swept())  # several objectives: the front's
    if verdict.possible:
        files.append(plots.verdict(verdict, metric, folder / "verdict.png"))
    names = sweep.objective.metrics
    if sweep.objective.several and len(names) <= 3 and not table[
            table["state"] == TrialOutcome.COMPLETE].empty:  # Optuna plots 2 or 3 objectives
        files.append(plots.pareto_front(study, names, folder / "pareto_front.png"))
    return files + _curve_plots(view, sweep, tracker.metric_history, folder)


def draw_ahead(study: optuna.Study, sweep: Sweep, tracker: Tracker) -> Drawing:
    """Draw the summary's files now (e.g. while a worker evaluates the best model on the test
    set), for :func:`log_study` to log; the study's trials must all have ended."""
    return _drawing(study, sweep, tracker, "cifar-search-summary-")


def snapshot(study: optuna.Study) -> optuna.Study:
    """An in-memory copy of the study's trials as they are now: a refresh draws from it in a
    thread of its own while the run goes on writing the study."""
    import optuna

    copy = optuna.create_study(directions=study.directions)
    copy.add_trials(study.get_trials(deepcopy=True))
    return copy


def draw_now(study: optuna.Study, sweep: Sweep, tracker: Tracker) -> Drawing:
    """The summary's files of a study in progress (a :func:`snapshot`), for
    :func:`log_refresh`; reads the runs' metric histories, writes nothing to MLflow."""
    return _drawing(study, sweep, tracker, "cifar-search-refresh-")


def _drawing(study: optuna.Study, sweep: Sweep, tracker: Tracker, prefix: str) -> Drawing:
    """The summary's files drawn into a new temporary folder (removed if drawing fails)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return Drawing(folder, _draw(study, sweep, tracker, folder))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def log_refresh(study: optuna.Study, sweep: Sweep, tracker: Tracker, drawn: Drawing) -> None:
    """Log a summary drawn during the run (:func:`draw_now`) on the parent run: counts and
    best so far, trials table, plots, the description with its top 5, the best run marked.
    The files drawn are removed."""
    try:
        tracker.log_summary(study_summary(study), drawn.files)
    finally:
        discard(drawn)
    describe_runs(study, sweep, tracker)


def discard(drawn: Drawing | None) -> None:
    """Remove files drawn ahead that were not logged (the run stopped before
    :func:`log_study`); nothing when there are none or they are gone."""
    if drawn:
        shutil.rmtree(drawn.folder, ignore_errors=True)


def log_study(study: optuna.Study, sweep: Sweep, tracker: Tracker,
              test: dict[str, Any] | None,
              drawn: Drawing | None = None) -> dict[str, Any] | None:
    """Log the study summary (and test results when given) on the parent run; return the best.

    Args:
        study: the sweep's study.
        sweep: the sweep (its objective and swept parameters name the plots).
        tracker: the study's tracker, its parent run open.
        test: the best model's test-set results (``test_loss``, ``test_accuracy``,
            ``confusion_matrix``, ``classes``, ``model_path``, ``trial``), or None.
        drawn: the summary's files drawn ahead by :func:`draw_ahead` (removed here), or None
            to draw them now.
    """
    from cifar_search.tracking import plots
    from cifar_search.tracking.packaging import scratch_dir

    try:
        with scratch_dir() as scratch:
            folder = Path(scratch)
            files = drawn.files if drawn else _draw(study, sweep, tracker, folder)
            tracker.log_summary(study_summary(study, sweep), files)
            if test is not None:
                best = best_trial(study)
                params = best["params"] if best and best["number"] == test["trial"] else {}
                image = plots.confusion_matrix(
                    test["confusion_matrix"], test["classes"], test["test_accuracy"],
                    folder / "confusion_matrix.png",
                    title=trial_label(test["trial"], params, sweep.space.swept()))
                saved = test.get("mlflow_model")
                test["registered"] = tracker.log_best_model(
                    test, Path(test["model_path"]), [image], Path(saved) if saved else None,
                    best_version(study, sweep, test))
                if saved:
                    shutil.rmtree(saved, ignore_errors=True)
    finally:
        discard(drawn)
    describe_runs(study, sweep, tracker)
    return best_trial(study)


def best_version(study: optuna.Study, sweep: Sweep, test: dict[str, Any]) -> BestVersion:
    """What the registered version of the tested trial's model says of it (its study, trial,
    parameters, objective, test results, class names and run)."""
    from cifar_search.tracking.registry import BestVersion

    trial = next(t for t in study.get_trials(deepcopy=False) if t.number == test["trial"])
    objective = sweep.objective  # several objectives: the version is described by its pick
    metric = objective.pick if objective.several else objective.metric
    value = (trial.values[list(objective.metrics).index(metric)] if objective.several
             else trial.value)
    return BestVersion(
        sweep.name, study.study_name, trial.number, metric, str(objective.direction_of(metric)),
        value, trial_params(trial), test["test_accuracy"], test.get("test_loss"),
        sweep.engine, trial.user_attrs.get(Attr.MLFLOW_RUN_ID), tuple(test.get("classes", ())))


def _ranked_complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Complete trials trained in this study (not imported ones), best first."""
    import optuna

    complete = [t for t in study.get_trials(deepcopy=False,
                                            states=(optuna.trial.TrialState.COMPLETE,))
                if outcome_of(t) == TrialOutcome.COMPLETE]
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    return sorted(complete, key=lambda t: (-_value(t) if maximize else _value(t), t.number))


def _value(trial: optuna.trial.FrozenTrial) -> float:
    """A complete trial's objective value."""
    if trial.value is None:
        raise ValueError(f"trial {trial.number} is complete but has no value")
    return trial.value


def describe_runs(study: optuna.Study, sweep: Sweep, tracker: Tracker) -> None:
    """The parent run's and experiment's description, the best trial's run marked, and every
    trial's run coloured in the order of the swept parameters."""
    from cifar_search.tracking.notes import StudyNote, TrialLine, study_note
    from cifar_search.tracking.objectives import front_markdown, front_rows

    swept = sweep.space.swept()
    view, metric = scored(study, sweep)
    ranked = [TrialLine(t.number, _value(t), trial_params(t), t.user_attrs.get(Attr.MLFLOW_RUN_ID))
              for t in _ranked_complete(view)]
    metrics, tags = tracker.final_metrics(tracker.parent_id), tracker.tags(tracker.parent_id)
    tested = tags.get(Tag.BEST_MODEL_TRIAL)
    direction = sweep.objective.direction_of(metric)
    front = front_rows(study, swept) if sweep.objective.several else []
    tracker.describe(study_note(StudyNote(
        sweep.name, str(sweep.source or sweep.name), metric,
        direction, str(tracker.experiment_id), counts(study), ranked, swept,
        metrics.get("test_accuracy"), int(tested) if tested is not None else None,
        study_verdict(study, swept))) + front_markdown(front, sweep.objective.pick))
    runs: dict[int, str] = {t.number: run_id for t in study.get_trials(deepcopy=False)
                            if (run_id := t.user_attrs.get(Attr.MLFLOW_RUN_ID))}
    colours = run_colours(study, swept)
    best_run = ranked[0].run_id if ranked else None
    if sweep.objective.several:  # the picked front member (the first on ties of the front)
        best = best_trained(study)
        best_run = best.user_attrs.get(Attr.MLFLOW_RUN_ID) if best else None
    tracker.mark_runs(best_run,
                      {runs[number]: colour for number, colour in colours.items()})
    if sweep.objective.several:
        from cifar_search.tracking.writer import mark_front

        mark_front(tracker, frozenset(row["mlflow_run_id"] for row in front
                                     if row["mlflow_run_id"]))
    tracker.save_view()

"""The sklearn engine's search: a sweep's space through scikit-learn's GridSearchCV or
RandomizedSearchCV over a scikeras ``KerasClassifier``, cross-validated and recorded in MLflow.

Why it exists: the Carpentries CIFAR-10 lesson runs::

    GridSearchCV(KerasClassifier(build_fn=create_model, epochs=2, batch_size=32),
                 {"optimizer": ["SGD", "RMSprop", "Adam"]}, cv=3)

and its optimizer grid is silently ignored (see :mod:`.estimator`). This engine runs the same
kind of search with candidates that really vary, or, with ``Sweep(as_written=True)``, the
lesson's mistake on purpose; either way each candidate reports the optimizer that really trained.

Who owns what:

* :mod:`.estimator`: a sweep → a KerasClassifier, and the scorers that read what trained.
* :mod:`.params`: the space → GridSearchCV candidates or RandomizedSearchCV distributions.
* :mod:`.results`: ``cv_results_`` → the candidates table, ranks, report lines.
* this module: the checks, the data, the search, and its MLflow runs (written through
  :class:`~cifar_search.tracking.writer.SearchTracker`).

Data: the engine cross-validates on all the training images of the sweep (``data.subset`` of
them, permuted with the sweep seed) in stratified folds, each fold held out in turn, so
``data.validation`` is not used; the test set is not used either. ``refit`` is off: like the
lesson's ``Best: ... using ...``, the result is the cross-validated score of each candidate, and
no final model is trained on all the images.

Not resumable: GridSearchCV returns only when every fit is done, so an interrupted search leaves
its parent run KILLED (FAILED on an error) and a rerun starts a new parent run.

Example:
    >>> sweep = load_sweep("sweeps/optimizer_grid.py")  # doctest: +SKIP
    >>> result = run_search(sweep, Workspace.at())  # doctest: +SKIP
    >>> result.best["candidate"]  # doctest: +SKIP
    'optimizer=adam'
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cifar_search.config.checks import check_space
from cifar_search.config.space import Space
from cifar_search.config.specs import Compute
from cifar_search.config.sweep import Sweep
from cifar_search.engines.sklearn.estimator import SCORING, build_estimator, scorers, seeds
from cifar_search.engines.sklearn.options import SklearnOptions, jobs
from cifar_search.engines.sklearn.params import (
    distributions,
    grid_candidates,
    to_estimator_params,
)
from cifar_search.engines.sklearn.results import (
    candidates_table,
    cell_text,
    report_lines,
    verdict_of,
)
from cifar_search.errors import ConfigError
from cifar_search.execution.threads import thread_env
from cifar_search.search.states import RunStatus, Tag, TrialOutcome
from cifar_search.workspace import Workspace

if TYPE_CHECKING:
    from cifar_search.tracking.writer import SearchTracker

__all__ = [
    "SearchResult",
    "check_folds",
    "check_sweep",
    "latest_table",
    "run_search",
    "variant_of",
]

#: The engine's name in MLflow tags and params.
ENGINE = "sklearn"

#: Training parameters of the Optuna engine that the scikeras model function does not apply.
UNSUPPORTED_PARAMETERS = frozenset({"lr_schedule", "label_smoothing"})

#: The two variants: candidates compiled from their own parameters, or the lesson as written.
VARIANTS = ("fixed", "as_written")

#: Environment of joblib worker processes: one thread each; GPU memory grows as needed, so
#: that several workers can share one GPU.
WORKER_ENV = {**thread_env(1), "TF_FORCE_GPU_ALLOW_GROWTH": "true"}

#: Artifacts of a parent run.
CANDIDATES_CSV = "candidates.csv"
CV_RESULTS_CSV = "cv_results.csv"
SCORES_PNG = "candidate_scores.png"
#: The verdict: each candidate's fit scores and its P(best).
VERDICT_PNG = "verdict.png"
FAILURES_TXT = "failures.txt"

#: Columns of the candidates table logged as metrics of each candidate's child run.
CANDIDATE_METRICS = ("mean_score", "std_score", "objective", "mean_fit_time", "rank",
                     "trained_learning_rate", "failed_fits")


def variant_of(sweep: Sweep) -> str:
    """``as_written`` for the lesson's mistake, else ``fixed``."""
    return "as_written" if SklearnOptions.of(sweep).as_written else "fixed"


# --------------------------------------------------------------------------------------------
# Checks before the search (a bad sweep never leaves a half-made parent run)
# --------------------------------------------------------------------------------------------


def check_sweep(sweep: Sweep) -> Sweep:
    """The sweep with its space parsed, after the checks specific to this engine.

    Raises:
        ConfigError: settings this engine cannot honour, or a conditional random space.
    """
    if isinstance(sweep.space, Mapping):
        sweep = _with_space(sweep, Space.from_dict(sweep.space, source=sweep.source))
    if not isinstance(sweep.space, Space):
        raise ConfigError("space", f"{sweep.space!r} is not loaded; load the sweep with "
                          "load_sweep()", sweep.source)
    if sweep.engine != ENGINE:
        raise ConfigError("engine", f"{sweep.engine!r} is not allowed here; run_search runs "
                          "engine 'sklearn'", sweep.source)
    if sweep.budget.patience is not None:
        raise ConfigError("budget.patience", f"{sweep.budget.patience!r} is not allowed with "
                          "engine 'sklearn'; every candidate trains budget.epochs epochs in each "
                          "fold, with no validation split to stop on: use patience=None",
                          sweep.source)
    for key in sweep.budget.limits_given():
        raise ConfigError(f"budget.{key}", f"{getattr(sweep.budget, key)!r} is not allowed with "
                          "engine 'sklearn'; its search fits every candidate: time, failure and "
                          "stop_after limits are for engines 'optuna' and 'kerastuner'",
                          sweep.source)
    if sweep.compute != Compute():
        raise ConfigError("compute", f"{sweep.compute!r} is not allowed with engine 'sklearn'; "
                          "it trains with the Keras defaults: use Compute() or engine 'optuna'",
                          sweep.source)
    for name in sorted(UNSUPPORTED_PARAMETERS & set(sweep.space.names)):
        raise ConfigError("space", f"{name!r} is not allowed with engine 'sklearn'; its "
                          "candidates train at a constant learning rate on plain "
                          "cross-entropy, as the lesson's did: use engine 'optuna'", sweep.source)
    if sweep.sampler.kind == "grid":
        grid_candidates(sweep.space)
    else:
        distributions(sweep.space, SklearnOptions.of(sweep).as_written)
    return sweep


def _with_space(sweep: Sweep, space: Space) -> Sweep:
    """The sweep with its space parsed, checked against its model family."""
    sweep = dataclasses.replace(sweep, space=space)
    check_space(sweep)
    return sweep


def check_folds(labels: np.ndarray, classes: Sequence[str], cv: int, source: str | None) -> None:
    """Stratified folds need at least ``cv`` images of every class, so that every training
    fold holds every class and every test fold can be scored.

    Raises:
        ConfigError: a class has fewer images.
    """
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=len(classes))
    least = int(np.argmin(counts))
    if counts[least] < cv:
        raise ConfigError("options.sklearn.cv",
                          f"cv={cv} folds need at least {cv} images of every class, but "
                          f"class {classes[least]!r} has {int(counts[least])} of the "
                          f"{len(labels)} images used; lower cv or use more images "
                          "(data.subset)", source)


# --------------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """What :func:`run_search` returns.

    Attributes:
        table: one row per candidate (see :func:`~.results.candidates_table`), in candidate
            order, with the MLflow ``run_id`` of each candidate's child run.
        best: the best candidate's row (rank 1; the first one on ties).
        parent_run_id: the MLflow parent run.
        seconds: wall time of the whole search.
        cv_results: scikit-learn's full ``cv_results_``.
    """

    table: pd.DataFrame
    best: dict[str, Any]
    parent_run_id: str
    seconds: float
    cv_results: pd.DataFrame


@contextlib.contextmanager
def _worker_threads(jobs: int) -> Iterator[None]:
    """With several jobs, start joblib's (loky) workers with one thread each; with one job the
    fits run in this process, untouched. The environment is restored afterwards."""
    if jobs <= 1:
        yield
        return
    import joblib

    env = dict(WORKER_ENV)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # inherited by the workers, read when TensorFlow starts there
    try:
        with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _check_model(sweep: Sweep, input_shape: Sequence[int], num_classes: int) -> None:
    """The sweep's own model, built on each check point before the parent run exists."""
    if sweep.user_model is None:
        return
    from cifar_search.config.user_model import check_points
    from cifar_search.model import user

    user.check(sweep.user_model, check_points(sweep.space), sweep.space.swept(), input_shape,
               num_classes, sweep.source)


def _search(sweep: Sweep, estimator: Any) -> Any:
    """GridSearchCV or RandomizedSearchCV over the candidates (times the repeat seeds), in
    stratified folds shuffled with the sweep seed."""
    from sklearn.model_selection import (
        GridSearchCV,
        ParameterSampler,
        RandomizedSearchCV,
        StratifiedKFold,
    )

    as_written = SklearnOptions.of(sweep).as_written
    folds = StratifiedKFold(n_splits=SklearnOptions.of(sweep).cv, shuffle=True,
                            random_state=sweep.seed)
    common = dict(scoring=scorers(sweep.objective.chosen_by, sweep.objective.metrics),
                  refit=False, cv=folds,
                  n_jobs=jobs(sweep), error_score=np.nan, return_train_score=False)
    if sweep.sampler.kind == "random":
        space = distributions(sweep.space, as_written)
        if sweep.repeats == 1:
            return RandomizedSearchCV(estimator, space, n_iter=sweep.trials,
                                      random_state=sweep.seed, **common)
        points = list(ParameterSampler(space, sweep.trials, random_state=sweep.seed))
    else:
        points = [to_estimator_params(p, as_written)
                  for p in grid_candidates(sweep.space)]
    grid = [{k: [v] for k, v in point.items()} for point in points]
    if sweep.repeats > 1:
        grid = [{**point, "random_state": seeds(sweep)} for point in grid]
    return GridSearchCV(estimator, grid, **common)


def _count(search: Any, sweep: Sweep) -> int:
    """Candidates the search will try (at most ``trials`` for a random search)."""
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    if hasattr(search, "param_grid"):
        return len(ParameterGrid(search.param_grid)) // sweep.repeats
    return len(ParameterSampler(search.param_distributions, search.n_iter))


@contextlib.contextmanager
def _op_determinism_kept() -> Iterator[None]:
    """Leave TensorFlow's op determinism as it was: scikeras turns it on for each seeded fit
    and, when fits nest, leaves it on, which breaks unseeded random ops run later in the
    same process."""
    from tensorflow.python.framework import config

    before = config.is_op_determinism_enabled()
    try:
        yield
    finally:
        if not before and config.is_op_determinism_enabled():
            config.disable_op_determinism()


def _fit(search: Any, x: np.ndarray, y: np.ndarray, jobs: int) -> list[str]:
    """Run the search; return the fit-failure reports scikit-learn warned about."""
    from sklearn.exceptions import FitFailedWarning

    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)  # tf.function retracing notes: one per new model
    try:
        with warnings.catch_warnings(record=True) as caught, _worker_threads(jobs), \
                _op_determinism_kept():
            warnings.simplefilter("always", FitFailedWarning)
            search.fit(x, y)
    finally:
        tf_logger.setLevel(level)
    failures = []
    for w in caught:
        if issubclass(w.category, FitFailedWarning) or "Scoring failed" in str(w.message):
            failures.append(str(w.message))
        else:  # not ours to swallow
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return failures


def _load_images(sweep: Sweep, workspace: Workspace) -> Any:
    """Every training image of the sweep (``data.subset`` of them, permuted with the seed)."""
    from cifar_search.model import data
    from cifar_search.session.data import check_image_size

    cache = data.prepared(sweep.data.source, workspace.decoded_data, sweep.data.labels,
                          workspace.data_cache)
    check_image_size(sweep, data.read_meta(cache))
    return data.load_split(cache, 0.0, sweep.data.subset, sweep.seed)


def run_search(sweep: Sweep, workspace: Workspace,
               say: Callable[[str], Any] = print) -> SearchResult:
    """Cross-validate every candidate of the sweep with scikit-learn and record it in MLflow.

    Sampler ``grid`` runs GridSearchCV over every grid point of the space (the Optuna engine's
    candidates; ``trials`` is ignored, as there); ``random`` runs RandomizedSearchCV with
    ``trials`` draws seeded by the sweep seed. With ``repeats`` K > 1 every candidate is fitted
    with K model seeds on each fold (folds x seeds) and scored by the mean over those fits.
    With ``jobs`` > 1 the fits run in joblib worker processes of one TensorFlow thread each;
    with 1, in this process.

    MLflow gets a parent run ``<sweep>-sklearn`` (or ``<sweep>-sklearn-as-written``) in the
    sweep's experiment with ``cv_results.csv``, ``candidates.csv``,
    ``candidate_scores.png``, ``verdict.png`` and a description with the verdict (is the best
    really better? see :func:`.results.verdict_of`), and a child run per candidate. A failing
    fit scores NaN (its report goes to ``failures.txt``) and its candidate ranks last; an error
    or Ctrl-C ends the parent run FAILED or KILLED and is raised again. GridSearchCV cannot
    resume: each call makes a new parent run. The caller holds the sweep's lock.

    Raises:
        ConfigError: settings the engine cannot honour (checked before anything is recorded).
        DataError: the data cannot be read.
    """
    from cifar_search.tracking.writer import SearchTracker

    started = time.perf_counter()
    sweep = check_sweep(sweep)
    images = _load_images(sweep, workspace)  # bad data is refused before the workspace exists
    workspace.create()
    x, y = images.x_train, images.y_train
    _check_model(sweep, images.input_shape, images.num_classes)
    check_folds(y, images.classes, SklearnOptions.of(sweep).cv, sweep.source)
    search = _search(sweep, build_estimator(sweep, images.input_shape, images.num_classes))
    tracker = SearchTracker(workspace, sweep, ENGINE, variant_of(sweep))
    _open(tracker, search, sweep, len(y), say)
    try:
        failures = _fit(search, x, y, jobs(sweep))
        result = _record(search, sweep, tracker, failures, started)
    except KeyboardInterrupt:
        tracker.close(RunStatus.KILLED, TrialOutcome.INTERRUPTED)
        raise
    except BaseException as error:
        tracker.close(RunStatus.FAILED, f"{type(error).__name__}: {error}")
        raise
    tracker.close(RunStatus.FINISHED)
    if failures:
        say(f"warning: {int(result.table['failed_fits'].sum())} fits failed; their scores are "
            f"NaN (details in {FAILURES_TXT} on the MLflow run)")
    for line in verdict_of(result.table).lines(SCORING[sweep.objective.chosen_by]):
        say(line)
    for line in report_lines(result.table):
        say(line)
    return result


# --------------------------------------------------------------------------------------------
# MLflow: a parent run per search, a child run per candidate
# --------------------------------------------------------------------------------------------


def _open(tracker: SearchTracker, search: Any, sweep: Sweep, images: int,
          say: Callable[[str], Any]) -> None:
    """Create the search's parent run and say what is about to be fitted."""
    kind, count = type(search).__name__, _count(search, sweep)
    options, n_jobs = SklearnOptions.of(sweep), jobs(sweep)
    name = f"{sweep.name}-{ENGINE}" + ("-as-written" if options.as_written else "")
    parent = tracker.open(name, {
        "trials": sweep.trials, "scoring": SCORING[sweep.objective.chosen_by], "cv": options.cv,
        "n_jobs": n_jobs, "repeats": sweep.repeats, "search": kind, "images": images})
    say(f"{kind} ({variant_of(sweep)}): {count} candidates x {options.cv} folds x "
        f"{sweep.repeats} seed(s) = {count * options.cv * sweep.repeats} fits on {images} "
        f"images, {n_jobs} job(s); MLflow run {parent}")


def _log_candidates(tracker: SearchTracker, table: pd.DataFrame) -> list[str]:
    """One ended child run per candidate; return their ids in table order."""
    ids = []
    for row in table.to_dict("records"):
        tags: dict[str, Any] = {
            Tag.CANDIDATE: row["candidate"], Tag.CANDIDATE_NUMBER: row["number"],
            Tag.TRAINED_OPTIMIZER: cell_text(row["trained_optimizer"]),
            Tag.REQUESTED_OPTIMIZER: row["requested_optimizer"]}
        steps = [("fold_score", i, s) for i, s in enumerate(json.loads(row["fit_scores"]))]
        ids.append(tracker.log_candidate(
            row["number"], json.loads(row["params"]), {k: row[k] for k in CANDIDATE_METRICS},
            tags, steps, failed=row["failed_fits"] == row["fits"]))
    return ids


def _summary_files(table: pd.DataFrame, cv_results: pd.DataFrame, failures: list[str],
                   sweep: Sweep, folder: Path) -> list[Path]:
    """The parent run's files: both tables, the scores plot, and the failures if any."""
    from cifar_search.tracking import plots

    table.to_csv(folder / CANDIDATES_CSV, index=False)
    cv_results.to_csv(folder / CV_RESULTS_CSV, index=False)
    scoring, options = SCORING[sweep.objective.chosen_by], SklearnOptions.of(sweep)
    title = (f"{sweep.name}: {scoring}, {options.cv}-fold CV x {sweep.repeats} seed(s)"
             + (" (as written)" if options.as_written else ""))
    files = [folder / CANDIDATES_CSV, folder / CV_RESULTS_CSV,
             plots.candidate_scores(table, folder / SCORES_PNG, title,
                                    ylabel=f"mean {scoring} (± std over fits)")]
    verdict = verdict_of(table)
    if verdict.possible:
        files.append(plots.verdict(verdict, scoring, folder / VERDICT_PNG))
    if failures:
        (folder / FAILURES_TXT).write_text("\n\n".join(failures))
        files.append(folder / FAILURES_TXT)
    return files


def _description(table: pd.DataFrame, sweep: Sweep) -> str:
    """The parent run's description: the search, then the verdict over folds x seeds."""
    from cifar_search.tracking.notes import verdict_markdown

    scoring, options = SCORING[sweep.objective.chosen_by], SklearnOptions.of(sweep)
    lines = [f"Search **{sweep.name}** ({sweep.source or sweep.name}): {len(table)} "
             f"candidates, {scoring}, {options.cv}-fold CV x {sweep.repeats} seed(s)."]
    return "\n".join(lines + verdict_markdown(verdict_of(table), scoring)) + "\n"


def _record(search: Any, sweep: Sweep, tracker: SearchTracker, failures: list[str],
            started: float) -> SearchResult:
    """The fitted search as a candidates table, logged as child runs and parent summary."""
    from cifar_search.tracking.packaging import scratch_dir

    cv_results = pd.DataFrame(search.cv_results_)
    table = candidates_table(search.cv_results_, sweep)
    table["run_id"] = _log_candidates(tracker, table)
    best = {str(label): value for label, value
            in table.sort_values(["rank", "number"]).iloc[0].to_dict().items()}
    seconds = time.perf_counter() - started
    metrics = {
        "best_score": best["mean_score"], "best_std_score": best["std_score"],
        "best_objective": best["objective"], "best_number": best["number"],
        "candidates": len(table), "fits": int(table["fits"].sum()),
        "failed_fits": int(table["failed_fits"].sum()), "duration_s": seconds,
    }
    tags: dict[str, Any] = {Tag.BEST_CANDIDATE: best["candidate"],
                            Tag.BEST_TRAINED_OPTIMIZER: cell_text(best["trained_optimizer"]),
                            Tag.NOTE: _description(table, sweep)}
    with scratch_dir() as scratch:
        tracker.log_summary(metrics, tags,
                            _summary_files(table, cv_results, failures, sweep, Path(scratch)))
    parent_id = tracker.parent_id
    if parent_id is None:  # log_summary has written to it
        raise RuntimeError("the search's parent run is not open")
    return SearchResult(table, best, parent_id, seconds, cv_results)


def latest_table(workspace: Workspace, sweep_name: str, variant: str = "fixed"
                 ) -> pd.DataFrame | None:
    """The candidates table of the newest finished sklearn search of a sweep, or None.

    Args:
        workspace: where the MLflow store is.
        sweep_name: the sweep (its MLflow experiment).
        variant: ``fixed`` (each candidate's own optimizer) or ``as_written`` (the lesson's).

    Example:
        >>> latest_table(Workspace.at(), "optimizer_grid", "as_written")  # doctest: +SKIP
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} is not allowed; variants are "
                         + ", ".join(VARIANTS))
    from cifar_search.tracking.reader import latest_search_table

    return latest_search_table(workspace, sweep_name, ENGINE, variant, CANDIDATES_CSV)

"""The sklearn engine: a sweep's space through scikit-learn's GridSearchCV or RandomizedSearchCV
over a scikeras ``KerasClassifier``, cross-validated and recorded in MLflow.

Why it exists: the Carpentries CIFAR-10 lesson runs::

    GridSearchCV(KerasClassifier(build_fn=create_model, epochs=2, batch_size=32),
                 {"optimizer": ["SGD", "RMSprop", "Adam"]}, cv=3)

with a ``create_model`` that compiles the model with Adam. scikeras never recompiles a model that
its build function compiled (scikeras docs, "Compilation of Model"), so the optimizer grid is
silently ignored: every candidate trains with Adam. Here the model function compiles each
candidate from its own parameters (optimizer, learning rate, momentum, weight decay), so they
really vary. ``Sweep(as_written=True)`` reproduces the lesson's mistake on purpose. Either way,
each candidate reports the optimizer that really trained, read from its fitted models.

Who owns what:

* :func:`build_estimator`: a sweep → a KerasClassifier (no data, no logging, no fitting).
* the candidates: the space → GridSearchCV single-point grids or RandomizedSearchCV
  distributions, as pure functions (:func:`grid_candidates`, :func:`distributions`).
* :func:`run_search`: data, the search, the candidates table, MLflow.

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
import functools
import json
import logging
import math
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from cifar_search.errors import ConfigError
from cifar_search.config.families import OPTIMIZERS, TRAINING_DEFAULTS
from cifar_search.config.space import Choice, FloatRange, Fixed, IntRange, Param, Space
from cifar_search.config.sweep import Compute, Sweep, check_space
from cifar_search.workspace import Workspace

__all__ = [
    "OPTIMIZER_CLASSES",
    "LogInt",
    "SearchResult",
    "build_estimator",
    "candidate_label",
    "candidates_table",
    "check_sweep",
    "distributions",
    "from_estimator_params",
    "grid_candidates",
    "latest_table",
    "ranks",
    "run_search",
    "to_estimator_params",
]

#: Keras optimizer classes; the ``trained_optimizer`` scorer returns an index into this tuple.
OPTIMIZER_CLASSES: tuple[str, ...] = tuple(OPTIMIZERS.values())

#: scikit-learn scoring for each objective metric (higher is better for both).
SCORING = {"val_accuracy": "accuracy", "val_loss": "neg_log_loss"}

#: Training parameters of the Optuna engine that the scikeras model function does not apply.
UNSUPPORTED_PARAMETERS = frozenset({"lr_schedule", "label_smoothing"})

#: The two variants: candidates compiled from their own parameters, or the lesson as written.
VARIANTS = ("fixed", "as_written")

#: Space parameters that are fit arguments of KerasClassifier, not model-function arguments.
FIT_PARAMS = frozenset({"batch_size"})

#: Optimizer settings that the as-written mode routes to KerasClassifier's ``optimizer__``.
OPTIMIZER_SETTINGS = frozenset({"learning_rate", "momentum", "weight_decay"})

#: Thread pools limited to one thread in each joblib worker when several fits run at once.
THREAD_VARS = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")

#: Environment of joblib worker processes: one thread each; GPU memory grows as needed, so
#: that several workers can share one GPU.
WORKER_ENV = {**{name: "1" for name in THREAD_VARS}, "TF_FORCE_GPU_ALLOW_GROWTH": "true"}

#: Artifacts of a parent run.
CANDIDATES_CSV = "candidates.csv"
CV_RESULTS_CSV = "cv_results.csv"
SCORES_PNG = "candidate_scores.png"
FAILURES_TXT = "failures.txt"


# --------------------------------------------------------------------------------------------
# Labels and values
# --------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _format_value(value: Any) -> str:
    value = _plain(value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def candidate_label(params: Mapping[str, Any], swept: Sequence[str]) -> str:
    """The swept parameters of a candidate (or trial) as ``k=v, k=v``, in ``swept`` order.

    Both engines name candidates with it, so that their tables join on the label. A
    conditional parameter that a candidate lacks is left out; floats keep 4 significant
    digits; ``(defaults)`` when nothing is swept.

    Example:
        >>> candidate_label({"optimizer": "sgd", "momentum": 0.9, "units": 8},
        ...                 ["optimizer", "momentum"])
        'optimizer=sgd, momentum=0.9'
    """
    parts = [f"{name}={_format_value(params[name])}" for name in swept if name in params]
    return ", ".join(parts) or "(defaults)"


def _text(value: Any, missing: str = "") -> str:
    """A table cell as text; ``missing`` for None or NaN (pandas stores a missing str as NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return str(value)


def _variant(sweep: Sweep) -> str:
    return "as_written" if sweep.as_written else "fixed"


# --------------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------------


def _make_classifier_class() -> type:
    """KerasClassifier with scikit-learn >= 1.6 tags (made on first use: no TensorFlow at import).

    Why the shim: scikeras 0.13 declares its tags with the old ``_more_tags`` and
    ``_estimator_type``, which scikit-learn 1.9 no longer reads, and ``BaseEstimator`` comes
    before ``ClassifierMixin`` in KerasClassifier's MRO, so ``is_classifier`` is False: an
    integer ``cv`` then gives plain, unstratified KFold, and scorers do not handle it as a
    classifier (no ``classes_``/``pos_label`` handling of ``predict_proba``).
    """
    from scikeras.wrappers import KerasClassifier
    from sklearn.utils import ClassifierTags

    class CifarClassifier(KerasClassifier):
        """scikeras KerasClassifier that scikit-learn >= 1.6 recognises as a classifier."""

        def __sklearn_tags__(self) -> Any:
            tags = super().__sklearn_tags__()
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
            tags.target_tags.required = True
            return tags

    CifarClassifier.__module__ = __name__
    CifarClassifier.__qualname__ = "CifarClassifier"  # pickled by reference into joblib workers
    return CifarClassifier


def __getattr__(name: str) -> Any:
    """Create :class:`CifarClassifier` on first access (also when a joblib worker unpickles an
    estimator), so that importing this module does not import TensorFlow."""
    if name == "CifarClassifier":
        cls = _make_classifier_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _build_model(family: str, input_shape: tuple[int, int, int], num_classes: int,
                 as_written: bool, **params: Any) -> Any:
    """scikeras model function: a compiled model with a softmax output, from a clean session.

    ``params`` are the candidate's ``model__*`` parameters (scikeras also passes ``meta``,
    ``compile_kwargs`` and ``params`` to a function that takes ``**kwargs``; they are unused).
    """
    import keras

    from cifar_search.model import build as models

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes, once per model
    for key in ("meta", "compile_kwargs", "params"):
        params.pop(key, None)
    models.clear_session()  # scikeras has seeded Python, NumPy and TensorFlow already
    logits = models.build_model(family, params, input_shape, num_classes)
    outputs = keras.layers.Softmax(name="probabilities")(logits.output)
    model = keras.Model(logits.input, outputs, name=family)
    # The lesson's create_model compiles with Adam; scikeras then ignores its optimizer grid.
    optimizer = "adam" if as_written else models.make_optimizer(params)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _seeds(sweep: Sweep) -> list[int]:
    """Model seeds of the repeats (KerasClassifier ``random_state``), as the Optuna engine
    derives a trial's repeat seeds from its seed."""
    from cifar_search.engines.optuna.coordinator import repeat_seed

    return [repeat_seed(sweep.seed, repeat) for repeat in range(sweep.repeats)]


def build_estimator(sweep: Sweep, input_shape: Sequence[int], num_classes: int) -> Any:
    """A scikeras KerasClassifier for the sweep's model family and budget.

    The model function builds the family's network with a softmax output (so ``predict_proba``
    and ``neg_log_loss`` are right) and compiles it with sparse categorical cross-entropy and
    accuracy. It compiles with the candidate's own optimizer, learning rate, momentum and
    weight decay (``model__optimizer`` ...), or, when ``sweep.as_written``, with Adam whatever
    the candidate asks, as the lesson's ``create_model`` did. The space's parameters are set by
    the search (see :func:`grid_candidates`); the estimator trains ``budget.epochs`` epochs of
    ``budget.batch_size`` images, seeded with the sweep's first repeat seed.

    Example:
        >>> est = build_estimator(sweep, (32, 32, 3), 10)  # doctest: +SKIP
        >>> est.set_params(model__optimizer="sgd").fit(x, y).model_.optimizer  # doctest: +SKIP
        <keras.src.optimizers.sgd.SGD object at ...>
    """
    cls = globals().get("CifarClassifier") or __getattr__("CifarClassifier")
    model = functools.partial(_build_model, family=sweep.model,
                              input_shape=tuple(int(n) for n in input_shape),
                              num_classes=int(num_classes), as_written=sweep.as_written)
    return cls(model=model, epochs=sweep.budget.epochs, batch_size=sweep.budget.batch_size,
               verbose=0, random_state=_seeds(sweep)[0])


# --------------------------------------------------------------------------------------------
# Candidates: the space as GridSearchCV grids or RandomizedSearchCV distributions (pure)
# --------------------------------------------------------------------------------------------


def _estimator_name(name: str, as_written: bool) -> str:
    """The KerasClassifier parameter that carries space parameter ``name``."""
    if name in FIT_PARAMS:
        return name
    if as_written and name == "optimizer":
        return "optimizer"  # KerasClassifier's own, as the lesson did: ignored once compiled
    if as_written and name in OPTIMIZER_SETTINGS:
        return f"optimizer__{name}"  # scikeras routes these to that optimizer: ignored too
    return f"model__{name}"


def _estimator_value(name: str, value: Any, as_written: bool) -> Any:
    if as_written and name == "optimizer":
        return OPTIMIZERS[value]  # the Keras class name, "SGD", as in the lesson
    return value


def to_estimator_params(params: Mapping[str, Any], as_written: bool = False) -> dict[str, Any]:
    """A candidate's space parameters as KerasClassifier parameters.

    Example:
        >>> to_estimator_params({"optimizer": "sgd", "batch_size": 16, "dropout_rate": 0.2})
        {'model__optimizer': 'sgd', 'batch_size': 16, 'model__dropout_rate': 0.2}
        >>> to_estimator_params({"optimizer": "sgd", "learning_rate": 0.1}, as_written=True)
        {'optimizer': 'SGD', 'optimizer__learning_rate': 0.1}
    """
    return {_estimator_name(k, as_written): _estimator_value(k, v, as_written)
            for k, v in params.items()}


def from_estimator_params(params: Mapping[str, Any], as_written: bool = False) -> dict[str, Any]:
    """The inverse of :func:`to_estimator_params` (``random_state`` is left out)."""
    classes = {cls: name for name, cls in OPTIMIZERS.items()}
    result: dict[str, Any] = {}
    for key, value in params.items():
        if key == "random_state":
            continue
        name = key.split("__", 1)[1] if "__" in key else key
        value = _plain(value)
        result[name] = classes[value] if as_written and key == "optimizer" else value
    return result


def grid_candidates(space: Space) -> list[dict[str, Any]]:
    """Every grid point of the space (conditional parameters only where active): the same
    candidates as the Optuna engine's grid.

    Raises:
        ConfigError: a continuous range, or a grid that is too large (see ``Space.grid``).
    """
    return space.grid()


@dataclass(frozen=True)
class LogInt:
    """Whole numbers in [``low``, ``high``], log-uniform and rounded, as Optuna samples
    ``suggest_int(log=True)``; a scipy-like distribution for ParameterSampler."""

    low: int
    high: int

    def rvs(self, random_state: Any = None) -> int:
        """One draw."""
        from scipy import stats

        value = stats.loguniform(self.low - 0.5, self.high + 0.5).rvs(random_state=random_state)
        return int(min(self.high, max(self.low, round(float(value)))))


def _distribution(param: Param) -> Any:
    """A RandomizedSearchCV distribution of one parameter: a list, or a scipy distribution."""
    from scipy import stats

    if isinstance(param, (Fixed, Choice)):
        return list(param.grid_values())
    if isinstance(param, IntRange):
        return LogInt(param.low, param.high) if param.log else param.grid_values()
    if isinstance(param, FloatRange):
        if param.step is not None:
            return param.grid_values()
        if param.low == param.high:
            return [param.low]
        if param.log:
            return stats.loguniform(param.low, param.high)
        return stats.uniform(param.low, param.high - param.low)
    raise TypeError(f"unknown parameter type {type(param).__name__}")


def distributions(space: Space, as_written: bool = False) -> dict[str, Any]:
    """RandomizedSearchCV distributions of the space, keyed by KerasClassifier parameter.

    Fixed values and choices become lists, integer ranges the list of their values (or
    log-uniform whole numbers), stepped float ranges their values, other float ranges
    ``scipy.stats.uniform`` or ``loguniform``. When every distribution is a list,
    scikit-learn draws distinct candidates.

    Raises:
        ConfigError: the space has conditional (``when``) parameters, which RandomizedSearchCV
            cannot sample.

    Example:
        >>> space = Space.from_dict({"parameters": {"optimizer": {"choices": ["sgd", "adam"]}}})
        >>> distributions(space)
        {'model__optimizer': ['sgd', 'adam']}
    """
    for param in space.params:
        if param.when:
            when = {c.param: c.to_data() for c in param.when}
            raise ConfigError(
                param.name, f"when={when!r} is not allowed with engine 'sklearn' and sampler "
                "'random'; RandomizedSearchCV cannot sample conditional parameters: use "
                "engine 'optuna', or sampler 'grid'", space.source)
    return {_estimator_name(p.name, as_written): _random_values(p, as_written)
            for p in space.params}


def _random_values(param: Param, as_written: bool) -> Any:
    values = _distribution(param)
    if isinstance(values, list):
        return [_estimator_value(param.name, v, as_written) for v in values]
    return values


# --------------------------------------------------------------------------------------------
# Scorers that read what really trained (run where the fit ran, so n_jobs > 1 is fine)
# --------------------------------------------------------------------------------------------


def _fitted_optimizer(estimator: Any) -> Any:
    optimizer = estimator.model_.optimizer
    return getattr(optimizer, "inner_optimizer", optimizer)  # under a loss-scale wrapper


def trained_optimizer_index(estimator: Any, x: Any, y: Any) -> float:
    """Scorer: the index in :data:`OPTIMIZER_CLASSES` of the optimizer the fitted model used
    (-1 for another class)."""
    name = type(_fitted_optimizer(estimator)).__name__
    return float(OPTIMIZER_CLASSES.index(name)) if name in OPTIMIZER_CLASSES else -1.0


def trained_learning_rate(estimator: Any, x: Any, y: Any) -> float:
    """Scorer: the learning rate the fitted model's optimizer used."""
    import keras

    rate = _fitted_optimizer(estimator).learning_rate
    return float(keras.ops.convert_to_numpy(rate))


def _decode_optimizers(indices: Sequence[float]) -> str | None:
    """Class names of the trained optimizers (one, or several joined by ``+``)."""
    names = sorted({OPTIMIZER_CLASSES[int(i)] if i >= 0 else "other" for i in indices
                    if not math.isnan(i)})
    return "+".join(names) if names else None


# --------------------------------------------------------------------------------------------
# Results: cv_results_ → one row per candidate
# --------------------------------------------------------------------------------------------


def ranks(means: Sequence[float]) -> list[int]:
    """Ranks of mean scores, 1 = best, ties sharing the lowest rank and NaN last, as
    scikit-learn ranks ``cv_results_``.

    Example:
        >>> ranks([0.5, 0.7, 0.5, float("nan")])
        [2, 1, 2, 4]
    """
    from scipy.stats import rankdata

    values = np.asarray(means, dtype=float)
    if len(values) == 0:
        return []
    if np.isnan(values).all():
        return [1] * len(values)
    filled = np.where(np.isnan(values), np.nanmin(values) - 1, values)
    return [int(r) for r in rankdata(-filled, method="min")]


def _objective(mean: float, scoring: str) -> float:
    """The sweep's metric: accuracy, or the log loss for ``neg_log_loss``."""
    return -mean if scoring.startswith("neg_") else mean


def candidates_table(cv_results: Mapping[str, Any], sweep: Sweep) -> pd.DataFrame:
    """One row per candidate from ``cv_results_`` (rows of one candidate and several seeds are
    joined): its label, parameters, per-fit scores (fit index = seed index x folds + fold),
    mean, std (over every fit), rank, the optimizer and learning rate that really trained,
    and the mean fit time."""
    scoring = SCORING[sweep.objective.metric]
    order: list[tuple] = []
    groups: dict[tuple, dict[str, Any]] = {}
    for row, estimator_params in enumerate(cv_results["params"]):
        params = from_estimator_params(estimator_params, sweep.as_written)
        key = tuple(sorted((k, repr(v)) for k, v in params.items()))
        if key not in groups:
            order.append(key)
            groups[key] = {"params": params, "rows": []}
        groups[key]["rows"].append(row)
    folds = [name for name in cv_results if name.startswith("split")
             and name.endswith("_test_score")]
    names = list(sweep.space.names)
    rows = []
    for number, key in enumerate(order):
        group = groups[key]
        scores = [float(cv_results[f][r]) for r in group["rows"] for f in folds]
        optimizers = [float(cv_results[f.replace("_score", "_trained_optimizer")][r])
                      for r in group["rows"] for f in folds]
        rates = [float(cv_results[f.replace("_score", "_trained_learning_rate")][r])
                 for r in group["rows"] for f in folds]
        params = {name: group["params"][name] for name in names if name in group["params"]}
        mean = float(np.mean(scores))
        finite_rates = [rate for rate in rates if not math.isnan(rate)]
        rows.append({
            "number": number,
            "candidate": candidate_label(params, sweep.space.swept()),
            "mean_score": mean,
            "std_score": float(np.std(scores)),
            "objective": _objective(mean, scoring),
            "trained_optimizer": _decode_optimizers(optimizers),
            "requested_optimizer": OPTIMIZERS[params.get("optimizer",
                                                         TRAINING_DEFAULTS["optimizer"])],
            "trained_learning_rate": (float(np.mean(finite_rates)) if finite_rates
                                      else math.nan),
            "mean_fit_time": float(np.mean([cv_results["mean_fit_time"][r]
                                            for r in group["rows"]])),
            "fits": len(scores),
            "failed_fits": sum(math.isnan(s) for s in scores),
            "fit_scores": json.dumps(scores),
            **params,
            "params": json.dumps(params, sort_keys=True),
        })
    table = pd.DataFrame(rows)
    table.insert(2, "rank", ranks(table["mean_score"]))
    return table


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
    if sweep.engine != "sklearn":
        raise ConfigError("engine", f"{sweep.engine!r} is not allowed here; run_search runs "
                          "engine 'sklearn'", sweep.source)
    if sweep.budget.patience is not None:
        raise ConfigError("budget.patience", f"{sweep.budget.patience!r} is not allowed with "
                          "engine 'sklearn'; every candidate trains budget.epochs epochs in each "
                          "fold, with no validation split to stop on: use patience=None",
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
        distributions(sweep.space, sweep.as_written)
    return sweep


def _with_space(sweep: Sweep, space: Space) -> Sweep:
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
        raise ConfigError("cv", f"cv={cv} folds need at least {cv} images of every class, but "
                          f"class {classes[least]!r} has {int(counts[least])} of the "
                          f"{len(labels)} images used; lower cv or use more images "
                          "(data.subset)", source)


# --------------------------------------------------------------------------------------------
# MLflow: a parent run per search, a child run per candidate
# --------------------------------------------------------------------------------------------


class _SearchRuns:
    """The MLflow runs of one search, written through the tracker's client with run ids."""

    def __init__(self, workspace: Workspace, sweep: Sweep) -> None:
        from cifar_search.tracking.mlflow import Tracker

        self.tracker = Tracker(workspace, sweep)
        self.client = self.tracker.client
        self.sweep = sweep
        self.parent_id = ""

    def _log(self, run_id: str, metrics: Mapping[str, float] | None = None,
             params: Mapping[str, Any] | None = None, tags: Mapping[str, Any] | None = None,
             steps: Sequence[tuple[str, int, float]] = ()) -> None:
        from mlflow.entities import Metric, Param, RunTag

        from cifar_search.tracking.mlflow import MAX_PARAM_LENGTH

        now = int(time.time() * 1000)
        entries = [Metric(k, float(v), now, 0) for k, v in (metrics or {}).items()]
        entries += [Metric(k, float(v), now, step) for k, step, v in steps]
        self.client.log_batch(
            run_id, metrics=entries,
            params=[Param(k, str(v)[:MAX_PARAM_LENGTH]) for k, v in (params or {}).items()],
            tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()], synchronous=True)

    def open(self, settings: Mapping[str, Any]) -> str:
        """Create the parent run with the search's settings; return its id."""
        sweep, variant = self.sweep, _variant(self.sweep)
        name = f"{sweep.name}-sklearn" + ("-as-written" if sweep.as_written else "")
        tags = {"cifar_search.kind": "study", "cifar_search.engine": "sklearn",
                "cifar_search.variant": variant, "sweep_file": str(sweep.source or "")}
        run = self.client.create_run(self.tracker.experiment_id, run_name=name, tags=tags)
        self.parent_id = run.info.run_id
        params = {
            "engine": "sklearn", "variant": variant, "model": sweep.model,
            "sampler": sweep.sampler.kind, "trials": sweep.trials, "epochs": sweep.budget.epochs,
            "batch_size": sweep.budget.batch_size, "objective": sweep.objective.metric,
            "direction": sweep.objective.direction, "scoring": SCORING[sweep.objective.metric],
            "seed": sweep.seed, "subset": sweep.data.subset, "cv": sweep.cv,
            "n_jobs": sweep.jobs, "repeats": sweep.repeats,
            "space": json.dumps(sweep.space.to_dict(), sort_keys=True), **settings,
        }
        self._log(self.parent_id, params=params)
        self.client.log_text(self.parent_id, sweep.to_json(), "sweep.json")
        return self.parent_id

    def log_candidates(self, table: pd.DataFrame) -> list[str]:
        """One finished child run per candidate; return their ids in table order."""
        ids = []
        for row in table.to_dict("records"):
            params = json.loads(row["params"])
            failed = row["failed_fits"] == row["fits"]
            tags = {"mlflow.parentRunId": self.parent_id, "cifar_search.kind": "candidate",
                    "cifar_search.engine": "sklearn", "cifar_search.variant": _variant(self.sweep),
                    "candidate": row["candidate"], "candidate_number": row["number"],
                    "trained_optimizer": _text(row["trained_optimizer"]),
                    "requested_optimizer": row["requested_optimizer"],
                    "state": "failed" if failed else "complete"}
            run = self.client.create_run(self.tracker.experiment_id,
                                         run_name=f"candidate-{row['number']:04d}", tags=tags)
            scores = json.loads(row["fit_scores"])
            metrics = {k: row[k] for k in ("mean_score", "std_score", "objective",
                                           "mean_fit_time", "rank", "trained_learning_rate",
                                           "failed_fits")}
            self._log(run.info.run_id, metrics=metrics, params=params,
                      steps=[("fold_score", i, s) for i, s in enumerate(scores)])
            self.client.set_terminated(run.info.run_id, "FAILED" if failed else "FINISHED")
            ids.append(run.info.run_id)
        return ids

    def log_summary(self, best: Mapping[str, Any], metrics: Mapping[str, float],
                    files: Sequence[Path]) -> None:
        """Best candidate, totals and files (tables, plot) on the parent run."""
        self._log(self.parent_id, metrics=metrics,
                  tags={"best_candidate": best["candidate"],
                        "best_trained_optimizer": _text(best["trained_optimizer"])})
        for path in files:
            self.client.log_artifact(self.parent_id, str(path))

    def close(self, status: str, reason: str | None = None) -> None:
        """End the parent run: FINISHED, FAILED or KILLED."""
        if reason:
            self._log(self.parent_id, tags={"fail_reason": reason[:5000]})
        self.client.set_terminated(self.parent_id, status=status)


# --------------------------------------------------------------------------------------------
# Running a search
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """What :func:`run_search` returns.

    Attributes:
        table: one row per candidate (see :func:`candidates_table`), in candidate order,
            with the MLflow ``run_id`` of each candidate's child run.
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


def _search(sweep: Sweep, estimator: Any, folds: Any) -> Any:
    """GridSearchCV or RandomizedSearchCV over the candidates (times the repeat seeds)."""
    from sklearn.model_selection import GridSearchCV, ParameterSampler, RandomizedSearchCV

    scoring = {"score": SCORING[sweep.objective.metric],
               "trained_optimizer": trained_optimizer_index,
               "trained_learning_rate": trained_learning_rate}
    common = dict(scoring=scoring, refit=False, cv=folds, n_jobs=sweep.jobs,
                  error_score=np.nan, return_train_score=False)
    seeds = _seeds(sweep)
    if sweep.sampler.kind == "random":
        space = distributions(sweep.space, sweep.as_written)
        if sweep.repeats == 1:
            return RandomizedSearchCV(estimator, space, n_iter=sweep.trials,
                                      random_state=sweep.seed, **common)
        points = list(ParameterSampler(space, sweep.trials, random_state=sweep.seed))
    else:
        points = [to_estimator_params(p, sweep.as_written)
                  for p in grid_candidates(sweep.space)]
    grid = [{k: [v] for k, v in point.items()} for point in points]
    if sweep.repeats > 1:
        grid = [{**point, "random_state": seeds} for point in grid]
    return GridSearchCV(estimator, grid, **common)


def _count(search: Any, sweep: Sweep) -> int:
    """Candidates the search will try (at most ``trials`` for a random search)."""
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    if hasattr(search, "param_grid"):
        return len(ParameterGrid(search.param_grid)) // sweep.repeats
    return len(ParameterSampler(search.param_distributions, search.n_iter))


def _fit(search: Any, x: np.ndarray, y: np.ndarray, jobs: int) -> list[str]:
    """Run the search; return the fit-failure reports scikit-learn warned about."""
    from sklearn.exceptions import FitFailedWarning

    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)  # tf.function retracing notes: one per new model
    try:
        with warnings.catch_warnings(record=True) as caught, _worker_threads(jobs):
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


def _summary_files(table: pd.DataFrame, cv_results: pd.DataFrame, failures: list[str],
                   sweep: Sweep, folder: Path) -> list[Path]:
    from cifar_search.tracking import plots

    table.to_csv(folder / CANDIDATES_CSV, index=False)
    cv_results.to_csv(folder / CV_RESULTS_CSV, index=False)
    scoring = SCORING[sweep.objective.metric]
    title = (f"{sweep.name}: {scoring}, {sweep.cv}-fold CV x {sweep.repeats} seed(s)"
             + (" (as written)" if sweep.as_written else ""))
    files = [folder / CANDIDATES_CSV, folder / CV_RESULTS_CSV,
             plots.candidate_scores(table, folder / SCORES_PNG, title,
                                    ylabel=f"mean {scoring} (± std over fits)")]
    if failures:
        (folder / FAILURES_TXT).write_text("\n\n".join(failures))
        files.append(folder / FAILURES_TXT)
    return files


def _report(table: pd.DataFrame, say: Callable[[str], Any]) -> None:
    """The candidates by rank, then the lesson's ``Best: ... using ...`` line."""
    for row in table.sort_values(["rank", "number"]).to_dict("records"):
        say(f"{row['rank']:>4}  {row['mean_score']:.4f} ± {row['std_score']:.4f}  "
            f"trained {_text(row['trained_optimizer'], '-'):<8}  {row['candidate']}")
    mismatched = table[table["trained_optimizer"].notna()
                       & (table["trained_optimizer"] != table["requested_optimizer"])]
    if len(mismatched):
        say(f"note: {len(mismatched)} of {len(table)} candidates trained with another optimizer "
            "than they asked for (scikeras does not recompile a model its build function "
            "compiled)")


def _load_images(sweep: Sweep, workspace: Workspace) -> Any:
    """Every training image of the sweep (``data.subset`` of them, permuted with the seed)."""
    from cifar_search.model import data

    cache = data.prepare(data.resolve_source(sweep.data.source), workspace.data_cache)
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
    sweep's experiment with ``cv_results.csv``, ``candidates.csv`` and
    ``candidate_scores.png``, and a child run per candidate. A failing fit scores NaN (its
    report goes to ``failures.txt``) and its candidate ranks last; an error or Ctrl-C ends the
    parent run FAILED or KILLED and is raised again. GridSearchCV cannot resume: each call makes
    a new parent run.

    Raises:
        ConfigError: settings the engine cannot honour (checked before anything is recorded).
        DataError: the data cannot be read.
    """
    started = time.perf_counter()
    sweep = check_sweep(sweep)
    workspace.create()
    images = _load_images(sweep, workspace)
    x, y = images.x_train, images.y_train
    check_folds(y, images.classes, sweep.cv, sweep.source)

    from sklearn.model_selection import StratifiedKFold

    estimator = build_estimator(sweep, images.input_shape, images.num_classes)
    folds = StratifiedKFold(n_splits=sweep.cv, shuffle=True, random_state=sweep.seed)
    search = _search(sweep, estimator, folds)
    count = _count(search, sweep)
    runs = _SearchRuns(workspace, sweep)
    kind = type(search).__name__
    parent = runs.open({"search": kind, "images": len(y)})
    say(f"{kind} ({_variant(sweep)}): {count} candidates x {sweep.cv} folds x "
        f"{sweep.repeats} seed(s) = {count * sweep.cv * sweep.repeats} fits on {len(y)} images, "
        f"{sweep.jobs} job(s); MLflow run {parent}")
    try:
        failures = _fit(search, x, y, sweep.jobs)
        result = _record(search, sweep, runs, failures, started)
    except KeyboardInterrupt:
        runs.close("KILLED", "interrupted")
        raise
    except BaseException as error:
        runs.close("FAILED", f"{type(error).__name__}: {error}")
        raise
    runs.close("FINISHED")
    if failures:
        say(f"warning: {int(result.table['failed_fits'].sum())} fits failed; their scores are "
            f"NaN (details in {FAILURES_TXT} on the MLflow run)")
    _report(result.table, say)
    say(f"Best: {result.best['mean_score']:.4f} using {result.best['candidate']}")
    return result


def _record(search: Any, sweep: Sweep, runs: _SearchRuns, failures: list[str],
            started: float) -> SearchResult:
    """The fitted search as a candidates table, logged as child runs and parent summary."""
    cv_results = pd.DataFrame(search.cv_results_)
    table = candidates_table(search.cv_results_, sweep)
    table["run_id"] = runs.log_candidates(table)
    best = table.sort_values(["rank", "number"]).iloc[0].to_dict()
    seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="cifar-search-") as scratch:
        files = _summary_files(table, cv_results, failures, sweep, Path(scratch))
        runs.log_summary(best, {
            "best_score": best["mean_score"], "best_std_score": best["std_score"],
            "best_objective": best["objective"], "best_number": best["number"],
            "candidates": len(table), "fits": int(table["fits"].sum()),
            "failed_fits": int(table["failed_fits"].sum()), "duration_s": seconds,
        }, files)
    return SearchResult(table, best, runs.parent_id, seconds, cv_results)


# --------------------------------------------------------------------------------------------
# Reading results back
# --------------------------------------------------------------------------------------------


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
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from mlflow import MlflowClient

    workspace.create_stores()
    client = MlflowClient(tracking_uri=workspace.mlflow_url)
    experiment = client.get_experiment_by_name(sweep_name)
    if experiment is None:
        return None
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=("tags.`cifar_search.kind` = 'study' and "
                       "tags.`cifar_search.engine` = 'sklearn' and "
                       f"tags.`cifar_search.variant` = '{variant}' and "
                       "attributes.status = 'FINISHED'"),
        order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        return None
    with tempfile.TemporaryDirectory(prefix="cifar-search-") as scratch:
        path = client.download_artifacts(runs[0].info.run_id, CANDIDATES_CSV, scratch)
        return pd.read_csv(path)

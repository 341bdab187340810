"""The estimator: a sweep → a scikeras KerasClassifier (no data, no logging, no fitting), and the
scorers that read what really trained.

Why the model function compiles each candidate itself: the Carpentries CIFAR-10 lesson's
``create_model`` compiles with Adam, and scikeras never recompiles a model that its build
function compiled (scikeras docs, "Compilation of Model"), so the lesson's optimizer grid is
silently ignored. Here the model function compiles each candidate from its own parameters
(optimizer, learning rate, momentum, weight decay), or with Adam when the sweep's
``as_written`` option reproduces the lesson's mistake on purpose. Either way the scorers
:func:`trained_optimizer_index` and :func:`trained_learning_rate` report what the fitted model
really used; they run where the fit ran, so ``n_jobs`` > 1 is fine.

Importing this module does not import TensorFlow: :class:`CifarClassifier` is made on first use.

Example:
    >>> est = build_estimator(sweep, (32, 32, 3), 10)  # doctest: +SKIP
    >>> est.set_params(model__optimizer="sgd").fit(x, y).model_.optimizer  # doctest: +SKIP
    <keras.src.optimizers.sgd.SGD object at ...>
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from cifar_search.config.families import OPTIMIZERS
from cifar_search.config.sweep import Sweep
from cifar_search.config.user_model import Model
from cifar_search.engines.sklearn.options import SklearnOptions
from cifar_search.search.seeds import repeat_seed

__all__ = [
    "OPTIMIZER_CLASSES",
    "SCORING",
    "build_estimator",
    "decode_optimizers",
    "scorers",
    "seeds",
    "trained_learning_rate",
    "trained_optimizer_index",
]

#: Keras optimizer classes; the ``trained_optimizer`` scorer returns an index into this tuple.
OPTIMIZER_CLASSES: tuple[str, ...] = tuple(OPTIMIZERS.values())

#: scikit-learn scoring for each objective metric (higher is better for both).
SCORING = {"val_accuracy": "accuracy", "val_loss": "neg_log_loss"}


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


def _build_user_model(user_model: Model, input_shape: tuple[int, int, int], num_classes: int,
                      as_written: bool, **params: Any) -> Any:
    """scikeras model function of the sweep's own model: its function's model, a softmax
    added when it gives logits, compiled as :func:`_build_model` compiles a family's (or by
    the model's own compile function, or as it came back compiled)."""
    import keras

    from cifar_search.model import build as models
    from cifar_search.model import user

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    for key in ("meta", "compile_kwargs", "params"):
        params.pop(key, None)
    models.clear_session()
    built = user.call_build(user_model, params, input_shape, num_classes)
    model = built
    if not user.gives_probabilities(built):
        outputs = keras.layers.Softmax(name="probabilities")(built.outputs[0])
        model = keras.Model(built.inputs, outputs, name=built.name)
        if built.compiled:
            model.compile_from_config(built.get_compile_config())
    if user_model.compile is not None:
        user_model.compile.resolve()(model, MappingProxyType(dict(params)))
    elif not built.compiled:
        optimizer = "adam" if as_written else models.make_optimizer(params)
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    return model


def seeds(sweep: Sweep) -> list[int]:
    """Model seeds of the repeats (KerasClassifier ``random_state``), derived from the sweep
    seed as the Optuna engine derives a trial's repeat seeds from its seed.

    Example:
        >>> seeds(Sweep(name="s", space={}, model="intro", sampler="grid", seed=5, repeats=2))
        [5, 7924]
    """
    return [repeat_seed(sweep.seed, repeat) for repeat in range(sweep.repeats)]


def build_estimator(sweep: Sweep, input_shape: Sequence[int], num_classes: int) -> Any:
    """A scikeras KerasClassifier for the sweep's model family and budget.

    The model function builds the family's network with a softmax output (so ``predict_proba``
    and ``neg_log_loss`` are right) and compiles it with sparse categorical cross-entropy and
    accuracy. It compiles with the candidate's own optimizer, learning rate, momentum and
    weight decay (``model__optimizer`` ...), or, with the ``as_written`` option, with Adam
    whatever the candidate asks, as the lesson's ``create_model`` did. The space's parameters
    are set by the search (see :mod:`.params`); the estimator trains ``budget.epochs`` epochs of
    ``budget.batch_size`` images, seeded with the sweep's first repeat seed.
    """
    cls = globals().get("CifarClassifier") or __getattr__("CifarClassifier")
    height, width, channels = (int(n) for n in input_shape)
    shape = (height, width, channels)
    as_written = SklearnOptions.of(sweep).as_written
    if isinstance(sweep.model, str):
        model = functools.partial(_build_model, family=sweep.model, input_shape=shape,
                                  num_classes=int(num_classes), as_written=as_written)
    else:  # a top-level function and plain data: joblib pickles it
        model = functools.partial(_build_user_model, sweep.model, input_shape=shape,
                                  num_classes=int(num_classes), as_written=as_written)
    return cls(model=model, epochs=sweep.budget.epochs, batch_size=sweep.budget.batch_size,
               verbose=0, random_state=seeds(sweep)[0])


# -- scorers that read what really trained ---------------------------------------------------


def _fitted_optimizer(estimator: Any) -> Any:
    """The fitted model's optimizer (the inner one under a loss-scale wrapper)."""
    optimizer = estimator.model_.optimizer
    return getattr(optimizer, "inner_optimizer", optimizer)


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


def scorers(metric: str, objectives: Sequence[str] = ()) -> dict[str, Any]:
    """The search's ``scoring``: the objective's scikit-learn score (``score``: the one that
    ranks, as ``refit`` would name it), each other objective's under its name (several
    objectives: scikit-learn's multi-metric scoring), and what trained.

    Example:
        >>> sorted(scorers("val_accuracy", ["val_accuracy", "val_loss"]))
        ['score', 'trained_learning_rate', 'trained_optimizer', 'val_loss']
    """
    others = {name: SCORING[name] for name in objectives if name != metric}
    return {"score": SCORING[metric], **others, "trained_optimizer": trained_optimizer_index,
            "trained_learning_rate": trained_learning_rate}


def decode_optimizers(indices: Sequence[float]) -> str | None:
    """Class names of the trained optimizers (one, or several joined by ``+``) from the
    ``trained_optimizer`` scores; None when every fit failed.

    Example:
        >>> decode_optimizers([0.0, float("nan"), 0.0])
        'SGD'
    """
    names = sorted({OPTIMIZER_CLASSES[int(i)] if i >= 0 else "other" for i in indices
                    if not math.isnan(i)})
    return "+".join(names) if names else None

"""The ``pyfunc`` loader of every best model this package saves: MLflow's Keras flavour,
predicting with ``verbose=0``.

MLflow's Keras wrapper calls ``model.predict(x)`` with Keras's default verbosity, so
``mlflow.pyfunc.load_model(uri).predict(x)`` drew a progress bar on the caller's terminal
(garbled in a notebook or a log). This file is copied into the model's ``code`` folder
(:func:`cifar_search.tracking.packaging.save_keras_model`) and named as its loader module, so
the model loads the same without this package installed: it imports MLflow alone.
"""

from __future__ import annotations

import functools
from typing import Any

from mlflow.keras.load import KerasModelWrapper
from mlflow.keras.load import _load_pyfunc as _load_keras

#: The module's name inside a saved model's ``code`` folder (what MLflow imports).
MODULE = "cifar_search_quiet_predict"


class QuietKerasModel(KerasModelWrapper):
    """MLflow's Keras pyfunc model, its ``predict`` silent (no progress bar)."""

    def get_model_call_method(self) -> Any:
        """The model's ``predict`` with ``verbose=0`` (an exported model's ``serve`` as is)."""
        if self.save_exported_model:
            return self.model.serve
        return functools.partial(self.model.predict, verbose=0)


def _load_pyfunc(path: str) -> QuietKerasModel:
    """MLflow's pyfunc entry point: the Keras flavour's model, predicting silently."""
    loaded = _load_keras(path)
    return QuietKerasModel(loaded.model, loaded.signature, loaded.save_exported_model)

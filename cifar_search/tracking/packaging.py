"""A trained Keras model as an MLflow Model folder, written by the process that holds it.

A worker saves the best trial's model here, with no tracking store in sight; the coordinator
then logs the folder (:meth:`cifar_search.tracking.writer.Tracker.log_best_model`). This
module is all a worker imports of tracking: no client, no store, nothing set at import but
the ``mlflow`` logger's level.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

logging.getLogger("mlflow").setLevel(logging.ERROR)


def requirements() -> list[str]:
    """The packages a saved model needs, pinned to the versions that trained it."""
    from importlib import metadata

    import keras

    pins = [f"keras=={keras.__version__}"]
    for name in ("tensorflow", "tensorflow-cpu"):
        try:
            return pins + [f"{name}=={metadata.version(name)}"]
        except metadata.PackageNotFoundError:
            continue
    return pins


def save_keras_model(model: Any, folder: Path, examples: Any,
                     sweep_file: str | None = None) -> Path:
    """Save a Keras model as an MLflow Model folder (Keras flavour, a signature inferred from
    ``examples``, the first as input example, pinned requirements); nothing is written to a
    store (a worker saves it, the coordinator logs it: see
    :meth:`cifar_search.tracking.writer.Tracker.log_best_model`).

    A model the sweep file builds itself carries that file as code (``sweep_file``): its
    ``pyfunc`` loader (:mod:`cifar_search.tracking.sweep_code`) imports it, registering its
    custom layers, before it loads the model.

    Example:
        >>> save_keras_model(model, Path("best"), x_test[:2])  # doctest: +SKIP
    """
    import mlflow.keras
    from mlflow.models import infer_signature

    folder.mkdir(parents=True)
    signature = infer_signature(examples, model.predict(examples, verbose=0))
    mlflow.keras.save_model(model, str(folder), signature=signature, input_example=examples[:1],
                            pip_requirements=requirements())
    if sweep_file is not None:
        from cifar_search.tracking.sweep_code import add_sweep_code

        add_sweep_code(folder, Path(sweep_file))
    return folder


def scratch_dir() -> tempfile.TemporaryDirectory:
    """A temporary folder for files about to be logged."""
    return tempfile.TemporaryDirectory(prefix="cifar-search-")

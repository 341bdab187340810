"""A trained Keras model as an MLflow Model folder, written by the process that holds it.

A worker saves the best trial's model here, with no tracking store in sight; the coordinator
then logs the folder (:meth:`cifar_search.tracking.writer.Tracker.log_best_model`). This
module is all a worker imports of tracking: no client, no store, nothing set at import but
the ``mlflow`` logger's level.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

logging.getLogger("mlflow").setLevel(logging.ERROR)


def requirements() -> list[str]:
    """The packages a saved model needs, pinned to the versions that trained it: Keras, JAX
    when it trained on JAX, and TensorFlow where it is installed (a model trained on JAX
    without TensorFlow loads where ``KERAS_BACKEND=jax`` is set)."""
    from importlib import metadata

    import keras

    pins = [f"keras=={keras.__version__}"]
    if keras.backend.backend() == "jax":
        pins += [f"{name}=={metadata.version(name)}" for name in ("jax", "jaxlib")]
    for name in ("tensorflow", "tensorflow-cpu"):
        try:
            return pins + [f"{name}=={metadata.version(name)}"]
        except metadata.PackageNotFoundError:
            continue
    return pins


#: The class names of a saved model's outputs, in their order: a file of the MLflow Model
#: folder (a JSON list) and the key of the same list in its ``MLmodel`` metadata.
CLASS_NAMES = "class_names"


def save_keras_model(model: Any, folder: Path, examples: Any,
                     sweep_file: str | None = None,
                     classes: Sequence[str] = ()) -> Path:
    """Save a Keras model as an MLflow Model folder (Keras flavour, a signature inferred from
    ``examples``, the first as input example, pinned requirements); nothing is written to a
    store (a worker saves it, the coordinator logs it: see
    :meth:`cifar_search.tracking.writer.Tracker.log_best_model`).

    The names of the output ``classes`` go with it: ``class_names.json`` in the folder and
    ``metadata["class_names"]`` of its ``MLmodel`` (``pyfunc_model.metadata.metadata``). Its
    ``pyfunc`` predicts silently (:mod:`cifar_search.tracking.quiet_predict`).

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
                            pip_requirements=requirements(),
                            metadata={CLASS_NAMES: list(classes)} if classes else None)
    if classes:
        (folder / f"{CLASS_NAMES}.json").write_text(json.dumps(list(classes)))
    _predict_quietly(folder)
    if sweep_file is not None:
        from cifar_search.tracking.sweep_code import add_sweep_code

        add_sweep_code(folder, Path(sweep_file))
    return folder


def _predict_quietly(folder: Path) -> None:
    """Make :mod:`cifar_search.tracking.quiet_predict`, copied into the model's code folder,
    its pyfunc loader (the model then loads without this package)."""
    from mlflow.models import Model
    from mlflow.pyfunc import FLAVOR_NAME

    from cifar_search.tracking import quiet_predict
    from cifar_search.tracking.sweep_code import CODE_DIR

    (folder / CODE_DIR).mkdir(exist_ok=True)
    shutil.copyfile(quiet_predict.__file__, folder / CODE_DIR / f"{quiet_predict.MODULE}.py")
    described = Model.load(str(folder / "MLmodel"))
    described.flavors[FLAVOR_NAME].update(loader_module=quiet_predict.MODULE, code=CODE_DIR)
    described.save(str(folder / "MLmodel"))


def scratch_dir() -> tempfile.TemporaryDirectory:
    """A temporary folder for files about to be logged."""
    return tempfile.TemporaryDirectory(prefix="cifar-search-")

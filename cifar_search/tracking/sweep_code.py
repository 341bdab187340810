"""The sweep file inside an MLflow Model of a model it built: saved beside the model as code,
and imported by the model's ``pyfunc`` loader before the model loads, so that its custom
layers (``@keras.saving.register_keras_serializable()``) are known in a fresh process.

MLflow's Keras flavour loads a ``.keras`` file with Keras alone; Keras finds a custom class
only once the module that defines it has run. This module is that loader:
``mlflow.pyfunc.load_model(uri)`` calls :func:`_load_pyfunc`, which imports every sweep file
in the model's ``code`` folder and hands over to the Keras flavour's own loader.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

#: The MLflow Model's folder of code (on ``sys.path`` while MLflow loads it).
CODE_DIR = "code"


def add_sweep_code(folder: Path, sweep_file: Path) -> None:
    """Copy ``sweep_file`` into the MLflow Model ``folder`` and make this module its pyfunc
    loader."""
    from mlflow.models import Model
    from mlflow.pyfunc import FLAVOR_NAME

    (folder / CODE_DIR).mkdir(exist_ok=True)
    shutil.copy2(sweep_file, folder / CODE_DIR / sweep_file.name)
    described = Model.load(str(folder / "MLmodel"))
    flavor = described.flavors[FLAVOR_NAME]
    flavor["loader_module"] = __name__
    flavor["code"] = CODE_DIR
    described.save(str(folder / "MLmodel"))


def _load_pyfunc(path: str) -> Any:
    """MLflow's pyfunc entry point: import the sweep files, then load as the Keras flavour
    (predicting silently, as :mod:`.quiet_predict` loads a model without a sweep file)."""
    from cifar_search.config.user_model import import_file
    from cifar_search.tracking import quiet_predict

    for sweep_file in sorted((Path(path) / CODE_DIR).glob("*.py")):
        if sweep_file.stem != quiet_predict.MODULE:
            import_file(sweep_file)
    return quiet_predict._load_pyfunc(path)

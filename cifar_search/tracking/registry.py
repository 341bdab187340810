"""The best model in MLflow: a logged model of the study's parent run and, where the sweep
asks, a version in the Model Registry under the sweep's name.

No TensorFlow here: the model's MLflow Model folder was saved by a worker
(:func:`cifar_search.tracking.packaging.save_keras_model`); this module only logs and
registers that folder, for :meth:`cifar_search.tracking.writer.Tracker.log_best_model`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cifar_search.config.sweep import Sweep
from cifar_search.workspace import Workspace

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModel

#: Where the best model goes: the parent run's ``best_model/`` folder (the Keras file) and an
#: MLflow Model of this name, registered under the sweep's name.
BEST_MODEL = "best_model"


def registers(sweep: Sweep, workspace: Workspace) -> bool:
    """Whether the best model is registered in the Model Registry: the sweep's ``register``,
    by default on for the workspace's own store and off for a tracking server."""
    return sweep.register if sweep.register is not None else workspace.own_tracking


def log_model(client: MlflowClient, experiment_id: str, parent_id: str, study: str,
              folder: Path, trial: int) -> LoggedModel:
    """A saved MLflow Model folder as a logged model of the parent run (the UI's Models
    column) of study ``study``; the logged model."""
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus
    from mlflow.models import Model

    model = client.create_logged_model(
        experiment_id, name=BEST_MODEL, source_run_id=parent_id,
        tags={"trial": str(trial), "study": study})
    described = Model.load(str(folder / "MLmodel"))
    described.model_id, described.run_id = model.model_id, parent_id
    described.artifact_path = model.artifact_location
    described.save(str(folder / "MLmodel"))
    client.log_model_artifacts(model.model_id, str(folder))
    client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    client.log_outputs(parent_id, [LoggedModelOutput(model.model_id, step=0)])
    return model


def register(client: MlflowClient, name: str, model: LoggedModel, parent_id: str) -> str:
    """A new version of the registered model ``name`` (the sweep's); its number."""
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name, description=f"Best models of the sweep {name}")
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = client.create_model_version(name, source=model.artifact_location,
                                          run_id=parent_id, model_id=model.model_id)
    return str(version.version)

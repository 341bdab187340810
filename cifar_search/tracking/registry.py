"""The best model in MLflow: a logged model of the best trial's run (shown on the study's
parent run too) and, where the sweep asks, a version in the Model Registry under the sweep's
name, registered as :func:`mlflow.register_model` does it.

MLflow's ``register_model`` creates the registered model when missing, a version whose
source run is the model's run and whose ``model_id`` is the logged model, then appends
``{"name", "version"}`` to the logged model's ``mlflow.modelVersions`` tag: the logged-model
page reads that tag to list the model's versions (MLflow 3.17 shows its "Register model"
button on every logged model all the same), the run page lists the versions whose run is its
own, the version page links the source model parsed from the source ``models:/<model id>``.
:func:`register` does the same through an explicit client (``register_model`` reads the
process-wide tracking URI and prints to stderr), and adds what a user of the version needs:
a description, tags, the alias ``best``.

No TensorFlow here: the model's MLflow Model folder was saved by a worker
(:func:`cifar_search.tracking.packaging.save_keras_model`); this module only logs and
registers that folder, for :meth:`cifar_search.tracking.writer.Tracker.log_best_model`. The
decisions (description, tags, who holds the alias) are pure functions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cifar_search.config.sweep import Sweep
from cifar_search.search.labels import format_value, params_text
from cifar_search.tracking.naming import trial_run_name
from cifar_search.workspace import Workspace

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModel

#: Where the best model goes: the parent run's ``best_model/`` folder (the Keras file) and an
#: MLflow Model of this name, registered under the sweep's name.
BEST_MODEL = "best_model"

#: The alias of the registered version holding the best model found so far.
BEST_ALIAS = "best"

#: The logged model's tag listing its registered versions (``mlflow.utils.mlflow_tags``).
MODEL_VERSIONS_TAG = "mlflow.modelVersions"


@dataclass(frozen=True)
class BestVersion:
    """What a registered version says of the model it holds.

    Example:
        >>> BestVersion("tiny-grid", "tiny-grid", 2, "val_loss", "minimize", 0.91,
        ...             {"dropout_rate": 0.3}, 0.62).trial_name
        'trial-0002'
    """

    name: str  # the registered model's (the sweep's)
    study: str
    trial: int
    objective: str  # the metric the study optimises
    direction: str  # "minimize" or "maximize"
    value: float | None  # the trial's objective value
    params: Mapping[str, Any]
    test_accuracy: float
    test_loss: float | None = None
    engine: str = "optuna"
    run_id: str | None = None  # the best trial's run: the version's source run
    classes: Sequence[str] = ()  # the names of the model's outputs, in order

    @property
    def trial_name(self) -> str:
        """The trial's run name, ``trial-0002``."""
        return trial_run_name(self.trial)


def registers(sweep: Sweep, workspace: Workspace) -> bool:
    """Whether the best model is registered in the Model Registry: the sweep's ``register``,
    by default on for the workspace's own store and off for a tracking server."""
    return sweep.register if sweep.register is not None else workspace.own_tracking


def description(best: BestVersion) -> str:
    """The version's description (Markdown): the trial, its parameters, objective and test
    accuracy, the class names and how to load it.

    Example:
        >>> print(description(BestVersion("g", "g", 2, "val_loss", "minimize", 0.91,
        ...                               {"dropout_rate": 0.3}, 0.62)).splitlines()[0])
        trial-0002, the best of study g (dropout_rate=0.3).
    """
    params = params_text(best.params) or "default parameters"
    value = "none" if best.value is None else format_value(float(best.value))
    # the first line plain, the trial first: the registered model's table shows it as
    # written, cut after some 30 characters
    lines = [f"{best.trial_name}, the best of study {best.study} ({params}).",
             "", f"**{best.objective}** ({best.direction}): {value}; "
             f"**test accuracy**: {format_value(float(best.test_accuracy))}."]
    if best.classes:
        lines += ["", f"**Classes** (the outputs, in order): {', '.join(best.classes)}."]
    lines += ["", "```python", "import mlflow", "",
              f'model = mlflow.pyfunc.load_model("models:/{best.name}@{BEST_ALIAS}")',
              'classes = model.metadata.metadata["class_names"]',
              "scores = model.predict(images)  # images shaped as the model's signature",
              "names = [classes[i] for i in scores.argmax(axis=1)]", "```"]
    return "\n".join(lines)


def version_tags(best: BestVersion) -> dict[str, str]:
    """The version's tags: where it comes from and how good it is.

    Example:
        >>> version_tags(BestVersion("g", "g", 2, "val_loss", "minimize", 0.91, {}, 0.62))[
        ...     "trial"]
        '2'
    """
    tags = {"study": best.study, "trial": str(best.trial), "trial_run": best.trial_name,
            "objective": best.objective, "direction": best.direction,
            "objective_value": "" if best.value is None else repr(float(best.value)),
            "test_accuracy": repr(float(best.test_accuracy)), "engine": best.engine,
            "params": params_text(best.params)}
    if best.test_loss is not None:
        tags["test_loss"] = repr(float(best.test_loss))
    return {key: value for key, value in tags.items() if value}


def takes_alias(best: BestVersion, holder: Mapping[str, str] | None) -> bool:
    """Whether the new version takes the ``best`` alias from the version holding it (its
    tags; None: no version holds it): always from an earlier version of the same study (the
    study registers only a new best trial), else when its objective value is better on the
    same objective.

    Example:
        >>> new = BestVersion("g", "other", 2, "val_loss", "minimize", 0.9, {}, 0.6)
        >>> takes_alias(new, {"study": "g", "objective": "val_loss",
        ...                   "direction": "minimize", "objective_value": "0.8"})
        False
    """
    if holder is None or holder.get("study") == best.study:
        return True
    same = (holder.get("objective"), holder.get("direction")) == (best.objective,
                                                                  best.direction)
    held = holder.get("objective_value")
    if not same or not held or best.value is None:
        return True
    return best.value > float(held) if best.direction == "maximize" else \
        best.value < float(held)


def model_versions(tag: str | None, name: str, version: str) -> str:
    """The logged model's ``mlflow.modelVersions`` tag with ``name`` ``version`` added, as
    :func:`mlflow.register_model` writes it (a JSON list of ``{"name", "version"}``).

    Example:
        >>> model_versions(None, "g", "1")
        '[{"name": "g", "version": "1"}]'
    """
    listed = json.loads(tag) if tag else []
    entry = {"name": name, "version": version}
    return json.dumps(listed if entry in listed else [*listed, entry])


def log_model(client: MlflowClient, experiment_id: str, parent_id: str, best: BestVersion,
              folder: Path) -> LoggedModel:
    """A saved MLflow Model folder as a logged model of the best trial's run (the parent's
    when it has none), an output of that run and of the study's parent run (the UI's Models
    column); the logged model."""
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus
    from mlflow.models import Model

    source_run = best.run_id or parent_id
    model = client.create_logged_model(
        experiment_id, name=BEST_MODEL, source_run_id=source_run,
        tags={"trial": str(best.trial), "study": best.study})
    described = Model.load(str(folder / "MLmodel"))
    described.model_id, described.run_id = model.model_id, source_run
    described.artifact_path = model.artifact_location
    described.save(str(folder / "MLmodel"))
    client.log_model_artifacts(model.model_id, str(folder))
    client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    for run in dict.fromkeys((parent_id, source_run)):
        client.log_outputs(run, [LoggedModelOutput(model.model_id, step=0)])
    return model


def registered(client: MlflowClient, name: str, run_id: str | None) -> str | None:
    """The version of ``name`` already registered from run ``run_id`` (a resumed study's
    best trial), or None."""
    if run_id is None:
        return None
    found = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    return str(min(int(v.version) for v in found)) if found else None


def register(client: MlflowClient, best: BestVersion, model: LoggedModel) -> str:
    """A new version of the registered model ``best.name`` holding ``model``, as
    :func:`mlflow.register_model` makes it, with its description, tags and (when
    :func:`takes_alias`) the alias ``best``; its number."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    try:
        client.create_registered_model(best.name, description=(
            f"Best models of the sweep {best.name}, one version per new best trial; the alias "
            f'`{BEST_ALIAS}` is the best so far: `mlflow.pyfunc.load_model("models:/'
            f'{best.name}@{BEST_ALIAS}")`.'))
    except MlflowException as error:
        if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise
    # The source ``models:/<model id>`` (as register_model and the UI's own button give it)
    # is what the version page links to as its "Source Model"; an embedded store resolves it
    # to the files through the process-wide tracking URI, so that is ours while it does.
    with _use_tracking_uri(client.tracking_uri):
        version = str(client.create_model_version(
            best.name, source=f"models:/{model.model_id}", run_id=model.source_run_id,
            tags=version_tags(best), description=description(best),
            model_id=model.model_id).version)
    current = client.get_logged_model(model.model_id).tags.get(MODEL_VERSIONS_TAG)
    client.set_logged_model_tags(
        model.model_id, {MODEL_VERSIONS_TAG: model_versions(current, best.name, version)})
    if takes_alias(best, _alias_holder(client, best.name)):
        client.set_registered_model_alias(best.name, BEST_ALIAS, version)
    return version


def _alias_holder(client: MlflowClient, name: str) -> dict[str, str] | None:
    """The tags of the version holding the ``best`` alias (None: none does)."""
    from mlflow.exceptions import MlflowException

    try:
        return dict(client.get_model_version_by_alias(name, BEST_ALIAS).tags)
    except MlflowException:
        return None

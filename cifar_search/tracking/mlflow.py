"""Our MLflow layer: one experiment per sweep, a parent run per study, a child run per trial.

The only module that calls MLflow. Every write goes through an explicit
:class:`mlflow.MlflowClient` with run ids (no global "active run" shared by anything); while a
sweep runs, only the process that runs it writes (the Optuna engine's coordinator, the sklearn
engine's search). Each child run carries the trial's parameters, the optimizer and activations
that really trained, per-epoch loss/accuracy/val_loss/val_accuracy, its state and duration; the
Optuna trial stores the run id (user attribute ``mlflow_run_id``) so the two can always be
joined. The parent run gets the study summary.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # a server's run links

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402

from cifar_search.config.sweep import Sweep  # noqa: E402
from cifar_search.search.states import Attr, RunKind, Tag, TrialOutcome  # noqa: E402
from cifar_search.workspace import Workspace  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd

logging.getLogger("mlflow").setLevel(logging.ERROR)
logging.getLogger("alembic").setLevel(logging.ERROR)

#: MLflow caps a parameter value at this many characters.
MAX_PARAM_LENGTH = 6000


def _now_ms() -> int:
    return int(time.time() * 1000)


def _param_value(value: Any) -> str:
    return str(value)[:MAX_PARAM_LENGTH]


def _tags(tags: Mapping[Any, Any]) -> dict[str, str]:
    """Tags as MLflow takes them: keys and values as text."""
    return {str(k): str(v) for k, v in tags.items()}


def sweep_params(sweep: Sweep) -> dict[str, Any]:
    """The sweep's settings that the parent run of every engine records as params (named so
    that no param shares a name with a metric or tag of any run: the child runs log the metric
    ``objective`` and the tag ``seed``). Where a KerasTuner oracle chooses, it is recorded as
    ``oracle`` instead of the sampler, which does not run."""
    oracle = sweep.option("kerastuner", "oracle")
    chooser = ({"sampler": sweep.sampler.kind} if oracle is None
               else {"oracle": getattr(oracle, "kind", oracle)})
    return {
        "model": sweep.model, **chooser, "epochs": sweep.budget.epochs,
        "batch_size": sweep.budget.batch_size, "objective_metric": sweep.objective.metric,
        "direction": sweep.objective.direction, "sweep_seed": sweep.seed,
        "subset": sweep.data.subset, "space": json.dumps(sweep.space.to_dict(), sort_keys=True),
    }


def readable(value: Any) -> Any:
    """A value read back from Keras as it was asked: floats (float32 inside Keras) to 7
    significant digits, e.g. 0.0010000000474974513 -> 0.001; others unchanged."""
    if isinstance(value, float):
        return float(f"{value:.7g}")
    return value


def source_tags(sweep: Sweep) -> dict[str, str]:
    """The sweep file as the run's source (the UI's Source column)."""
    return {Tag.SOURCE_NAME: str(sweep.source or sweep.name), Tag.SOURCE_TYPE: "LOCAL"}


def registers(sweep: Sweep, workspace: Workspace) -> bool:
    """Whether the best model is registered in the Model Registry: the sweep's ``register``,
    by default on for the workspace's own store and off for a tracking server."""
    return sweep.register if sweep.register is not None else workspace.own_tracking


@dataclass(frozen=True)
class DatasetInfo:
    """The data a study trains on, as MLflow's dataset input of its runs.

    Attributes:
        name: the source's name, e.g. ``cifar10-images`` (``CIFAR-10`` when downloaded).
        source: where it was read from, as given.
        digest: the first characters of the decoded pixels' digest (MLflow keeps 36).
        profile: split sizes and classes, as JSON.
    """

    name: str
    source: str
    digest: str
    profile: str

    @classmethod
    def of(cls, sweep: Sweep, identity: Mapping[str, Any] | None) -> "DatasetInfo | None":
        """From the sweep's data source and the data's identity (see
        :func:`cifar_search.model.data.identity`); None without an identity."""
        from cifar_search.model.data import split_sizes

        if not identity:
            return None
        source = str(sweep.data.source) if sweep.data.source else "keras.datasets.cifar10"
        name = Path(source).name.split(".")[0] if sweep.data.source else "CIFAR-10"
        digest = str(identity["digest"]).removeprefix("sha256:")[:16]
        sizes = split_sizes(int(identity["train"]), sweep.data.validation, sweep.data.subset)
        profile = {**sizes, "test": int(identity["test"]), "classes": len(identity["classes"])}
        return cls(name, source, digest, json.dumps(profile, sort_keys=True))


#: The most child runs a study's parent run is read with.
MAX_RUNS = 50_000

#: Where the best model goes: the parent run's ``best_model/`` folder (the Keras file) and an
#: MLflow Model of this name, registered under the sweep's name.
BEST_MODEL = "best_model"


def trial_run_name(number: int, best: bool = False) -> str:
    """A trial's run name, ``trial-0003`` (``trial-0003 (best)`` for the best trial)."""
    return f"trial-{number:04d}" + (" (best)" if best else "")


@dataclass(frozen=True)
class RunRecord:
    """What a check reads of one run: its id, name, MLflow status and tags."""

    run_id: str
    name: str
    status: str
    tags: Mapping[str, str]


class RunReader:
    """Reads runs from an MLflow store and writes nothing (``export`` reads through one).

    Args:
        tracking_uri: the store, e.g. ``workspace.mlflow_url``; None: a store that does not
            exist yet, read as empty.
        artifacts: the folder of the experiment's run artifacts in the current workspace
            (``<workspace>/artifacts/<sweep>``) when the store is the workspace's own, so that
            a moved or copied workspace reads its own files; None: where MLflow recorded them.

    Example:
        >>> RunReader.of(workspace, "dropout").final_metrics(run_id)  # doctest: +SKIP
        {'val_loss': 0.83, 'val_accuracy': 0.71, ...}
    """

    def __init__(self, tracking_uri: str | None, artifacts: Path | None = None) -> None:
        self.client = MlflowClient(tracking_uri=tracking_uri) if tracking_uri else None
        self.artifacts = artifacts
        self.experiment_id: str | None = None

    @classmethod
    def of(cls, workspace: Workspace, experiment: str) -> "RunReader":
        """The runs of ``experiment`` (a sweep's name) in the workspace's store; creates
        nothing: a store or experiment that does not exist yet reads as empty.

        Raises:
            ConfigError: the store is not an MLflow store, or cannot be reached (see
                :func:`cifar_search.stores.check_tracking`).
        """
        from cifar_search.stores import check_tracking

        exists = check_tracking(workspace)
        reader = cls(workspace.mlflow_url if exists else None, _artifacts(workspace, experiment))
        if reader.client is not None:
            found = reader.client.get_experiment_by_name(experiment)
            reader.experiment_id = found.experiment_id if found is not None else None
        return reader

    def metric_history(self, run_id: str, metric: str) -> list[tuple[int, float]]:
        """A run's ``(step, value)`` points of ``metric``, in the order they were logged."""
        if self.client is None:
            return []
        history = sorted(self.client.get_metric_history(run_id, metric),
                         key=lambda point: point.timestamp)
        return [(point.step, point.value) for point in history]

    def final_metrics(self, run_id: str | None) -> dict[str, float]:
        """The latest value of each metric of a run; empty when there is no run or it is gone."""
        from mlflow.exceptions import MlflowException

        if not run_id or self.client is None:
            return {}
        try:
            return dict(self.client.get_run(run_id).data.metrics)
        except MlflowException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return {}
            raise

    def tags(self, run_id: str | None) -> dict[str, str]:
        """A run's tags; empty when there is no run."""
        if not run_id or self.client is None:
            return {}
        return dict(self.client.get_run(run_id).data.tags)

    def child_runs(self, parent_id: str) -> dict[str, RunRecord]:
        """The runs nested in ``parent_id`` (a study's trials), by run id."""
        if self.client is None or self.experiment_id is None:
            return {}
        runs = self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.`{Tag.PARENT_RUN_ID}` = '{parent_id}'",
            max_results=MAX_RUNS)
        return {run.info.run_id: RunRecord(run.info.run_id, run.info.run_name, run.info.status,
                                           dict(run.data.tags)) for run in runs}

    def run_artifacts(self, run_id: str) -> Path | None:
        """The folder of a run's artifacts in the current workspace; None when MLflow's
        recorded location is used (a store that is not the workspace's own)."""
        return None if self.artifacts is None else self.artifacts / run_id / "artifacts"

    def artifact(self, run_id: str, path: str, folder: str | Path) -> Path:
        """The local file of a run's artifact ``path``: the workspace's own file, or a copy
        downloaded into ``folder``."""
        own = self.run_artifacts(run_id)
        if own is not None:
            return own / path
        if self.client is None:
            raise FileNotFoundError(path)
        return Path(self.client.download_artifacts(run_id, path, str(folder)))


def _artifacts(workspace: Workspace, experiment: str) -> Path | None:
    """Where our runs' artifacts are, whatever absolute location MLflow stored: the current
    workspace's folder when MLflow records in its own mlflow.db (the stored location may be
    the folder's earlier place, or the original's for a copy); else None, MLflow's."""
    return workspace.artifacts / experiment if workspace.own_tracking else None


class Tracker(RunReader):
    """Writes one sweep's runs to MLflow (and reads them, as a :class:`RunReader`).

    Artifacts of the workspace's own store are written to its folder
    ``artifacts/<sweep>/<run id>/artifacts`` (the layout MLflow records), wherever the
    workspace now is: a moved or copied workspace writes to its own files.

    Args:
        workspace: gives the tracking URI and, for local stores, the artifact folder.
        sweep: the sweep; its name is the experiment name.
    """

    def __init__(self, workspace: Workspace, sweep: Sweep,
                 dataset: DatasetInfo | None = None) -> None:
        workspace.create_mlflow_store()
        super().__init__(workspace.mlflow_url, _artifacts(workspace, sweep.name))
        self.sweep = sweep
        self.dataset = dataset
        self.register = registers(sweep, workspace)
        self.experiment_id = self._experiment(workspace)
        self.parent_id: str | None = None

    def _experiment(self, workspace: Workspace) -> str:
        existing = self.client.get_experiment_by_name(self.sweep.name)
        if existing is not None:
            if existing.lifecycle_stage == "deleted":
                self.client.restore_experiment(existing.experiment_id)
            return existing.experiment_id
        location = None
        if workspace.local_tracking:
            location = (workspace.artifacts / self.sweep.name).as_uri()
        return self.client.create_experiment(self.sweep.name, artifact_location=location)

    # -- parent run ------------------------------------------------------------------------

    def open_parent(self, run_id: str | None, token: str) -> str:
        """Reopen the study's parent run, or create it; return its id.

        Args:
            run_id: the parent run the study recorded, if any.
            token: the study's own tag value, so that a parent run made by a process that died
                before the study recorded its id is found again rather than left behind.
        """
        if run_id is None:
            found = self.client.search_runs(
                [self.experiment_id], max_results=1,
                filter_string=f"tags.`{Tag.STUDY_TOKEN}` = '{token}'")
            if not found:
                return self._create_parent(token)
            run_id = found[0].info.run_id
            self.parent_id = run_id
            self._log_parent_params()  # the same values: the dead process may not have got to it
        self.client.update_run(run_id, status="RUNNING")
        self.parent_id = run_id
        return run_id

    def _create_parent(self, token: str) -> str:
        sweep = self.sweep
        tags = {Tag.KIND: RunKind.STUDY, Tag.STUDY_NAME: sweep.name,
                Tag.SWEEP_FILE: str(sweep.source or ""), Tag.STUDY_TOKEN: token,
                **source_tags(sweep)}
        run = self.client.create_run(self.experiment_id, run_name=sweep.name, tags=_tags(tags))
        self.parent_id = run.info.run_id
        self._log_parent_params()
        self._log_dataset(self.parent_id)
        return self.parent_id

    def _log_parent_params(self) -> None:
        sweep = self.sweep
        params = {**sweep_params(sweep), "pruner": sweep.pruner.kind,
                  "patience": sweep.budget.patience, "validation": sweep.data.validation}
        self._log(self.parent_id, params=params)

    def update_parent(self, settings: Mapping[str, Any]) -> None:
        """Record settings that may change between runs (trials, workers) as tags."""
        self._log(self.parent_id, tags={f"setting.{k}": v for k, v in settings.items()})
        self.log_text(self.parent_id, self.sweep.to_json(), "sweep.json")

    def close_parent(self, status: str) -> None:
        """End the parent run with ``FINISHED``, ``KILLED`` or ``FAILED``."""
        self.client.set_terminated(self.parent_id, status=status)

    # -- child runs ------------------------------------------------------------------------

    def start_trial(self, number: int, params: Mapping[str, Any], seed: int,
                    retry_of: int | None = None, continues: int | None = None) -> str:
        """Create the child run of trial ``number``; return its id."""
        from cifar_search.tracking.colours import running_colour

        tags = {Tag.PARENT_RUN_ID: self.parent_id, Tag.TRIAL_NUMBER: number,
                Tag.STUDY_NAME: self.sweep.name, Tag.STATE: TrialOutcome.RUNNING, Tag.SEED: seed,
                Tag.RUN_COLOR: running_colour(number), **source_tags(self.sweep)}
        if retry_of is not None:
            tags[Tag.RETRY_OF] = retry_of
        if continues is not None:
            tags[Tag.CONTINUES] = continues
        run = self.client.create_run(self.experiment_id, run_name=trial_run_name(number),
                                     tags=_tags(tags))
        self._log(run.info.run_id, params=params)
        self._log_dataset(run.info.run_id)
        return run.info.run_id

    def recorded_run(self, number: int, params: Mapping[str, Any], seed: int) -> str:
        """The child run of trial ``number`` for a trial that never stored its id (the process
        died in between): the run it had created, else a new one, so that no trial lacks one."""
        return self.trial_run(number) or self.start_trial(number, params, seed)

    def trial_run(self, number: int) -> str | None:
        """The child run of trial ``number`` found by its tags (None: it has none)."""
        runs = self.client.search_runs(
            [self.experiment_id], max_results=1,
            filter_string=(f"tags.`{Tag.PARENT_RUN_ID}` = '{self.parent_id}' "
                           f"and tags.`{Tag.TRIAL_NUMBER}` = '{number}'"))
        return runs[0].info.run_id if runs else None

    def start_seed(self, trial_run_id: str, number: int, repeat: int, seed: int) -> str:
        """Create the run of one seed of a repeated trial, nested in the trial's run."""
        tags = {Tag.PARENT_RUN_ID: trial_run_id, Tag.TRIAL_NUMBER: number,
                Tag.STUDY_NAME: self.sweep.name, Tag.STATE: TrialOutcome.RUNNING, Tag.SEED: seed,
                Tag.REPEAT: repeat, Tag.KIND: RunKind.SEED, **source_tags(self.sweep)}
        run = self.client.create_run(self.experiment_id,
                                     run_name=f"trial-{number:04d}-seed-{repeat}",
                                     tags=_tags(tags))
        return run.info.run_id

    def log_epoch(self, run_id: str, epoch: int, logs: Mapping[str, float]) -> None:
        """One epoch's metrics, in one batched call (step = epochs completed)."""
        self._log(run_id, steps=[(key, epoch, value) for key, value in logs.items()])

    def end_trial(self, run_id: str, state: TrialOutcome | str, value: float | None = None,
                  info: Mapping[str, Any] | None = None, reason: str | None = None) -> None:
        """Close a child run with its outcome (``complete``, ``pruned``, ``failed`` or
        ``interrupted``), objective, duration and resolved config."""
        outcome = TrialOutcome(state)
        info = dict(info or {})
        metrics = {"objective": value} if value is not None else {}
        for key in (Attr.DURATION_S, Attr.EPOCHS_TRAINED, "startup_seconds", Attr.VALUE_STD,
                    "repeats"):
            if key in info:
                found = info.pop(key)
                if found is not None:
                    metrics[str(key)] = found
        tags: dict[str, Any] = {Tag.STATE: outcome}
        if Attr.DUPLICATE_OF in info:  # same parameters and seed as that trial: not trained again
            tags[Tag.DUPLICATE_OF] = info.pop(Attr.DUPLICATE_OF)
        if reason:
            tags[Tag.FAIL_REASON] = reason
        self._log(run_id, metrics=metrics, tags=tags,
                  params={f"resolved.{k}": readable(v) for k, v in info.items()})
        self.client.set_terminated(run_id, status=outcome.run_status)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """An engine's own tags on a run (e.g. KerasTuner's trial id, bracket and round)."""
        self._log(run_id, tags=tags)

    def kill_run(self, run_id: str, reason: str) -> None:
        """Mark a run left behind by an interruption as killed."""
        interrupted = TrialOutcome.INTERRUPTED
        self._log(run_id, tags={Tag.STATE: interrupted, Tag.FAIL_REASON: reason})
        self.client.set_terminated(run_id, status=interrupted.run_status)

    def repair_run(self, run_id: str, status: str, outcome: str | None = None) -> None:
        """End a run a crash left behind with ``status``, tagged ``repaired`` and, when it
        belongs to a trial, with the trial's ``outcome`` as its ``state``."""
        tags = {Tag.REPAIRED: "true"} | ({Tag.STATE: outcome} if outcome else {})
        self._log(run_id, tags=tags)
        self.client.set_terminated(run_id, status=status)

    # -- summaries -------------------------------------------------------------------------

    def log_summary(self, summary: Mapping[str, Any], files: list[Path]) -> None:
        """Best value/params and summary files (trials CSV, plots) on the parent run."""
        metrics = {k: v for k, v in summary.items() if isinstance(v, (int, float))
                   and not isinstance(v, bool)}
        self._log(self.parent_id, metrics=metrics)
        self.log_text(self.parent_id, json.dumps(dict(summary), indent=2, default=str),
                      "summary.json")
        self.log_artifacts(self.parent_id, files)

    def log_best_model(self, results: Mapping[str, Any], model_path: Path,
                       files: list[Path], mlflow_model: Path | None = None) -> str | None:
        """Test-set results, confusion matrix and the best model on the parent run; the
        model's MLflow Model folder (``mlflow_model``, see :func:`save_keras_model`) as a
        logged model of the parent run, registered under the sweep's name when
        :attr:`register`. Return the registered version (None when not registered)."""
        self._log(self.parent_id, metrics={k: results[k] for k in ("test_loss", "test_accuracy")},
                  tags={Tag.BEST_MODEL_TRIAL: results["trial"]})
        self.log_artifacts(self.parent_id, [model_path], BEST_MODEL)
        self.log_artifacts(self.parent_id, files)
        if mlflow_model is None:
            return None
        model = self._log_model(mlflow_model, results["trial"])
        return self._register(model) if self.register else None

    def _log_model(self, folder: Path, trial: int) -> Any:
        """A saved MLflow Model folder as a logged model of the parent run (the UI's Models
        column); the logged model. No TensorFlow here: the folder was saved by a worker."""
        from mlflow.entities import LoggedModelOutput, LoggedModelStatus
        from mlflow.models import Model

        model = self.client.create_logged_model(
            self.experiment_id, name=BEST_MODEL, source_run_id=self.parent_id,
            tags={"trial": str(trial), "study": self.sweep.name})
        described = Model.load(str(folder / "MLmodel"))
        described.model_id, described.run_id = model.model_id, self.parent_id
        described.artifact_path = model.artifact_location
        described.save(str(folder / "MLmodel"))
        self.client.log_model_artifacts(model.model_id, str(folder))
        self.client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
        self.client.log_outputs(self.parent_id, [LoggedModelOutput(model.model_id, step=0)])
        return model

    def _register(self, model: Any) -> str:
        """A new version of the registered model named after the sweep; its number."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(
                self.sweep.name, description=f"Best models of the sweep {self.sweep.name}")
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        version = self.client.create_model_version(
            self.sweep.name, source=model.artifact_location, run_id=self.parent_id,
            model_id=model.model_id)
        return str(version.version)

    def describe(self, markdown: str) -> None:
        """The study's description, on its parent run and its experiment."""
        self._log(self.parent_id, tags={Tag.NOTE: markdown})
        self.client.set_experiment_tag(self.experiment_id, Tag.NOTE, markdown)

    def save_view(self) -> None:
        """The UI's first view of the experiment's runs (see :mod:`cifar_search.tracking.view`):
        every study's parent run expanded, the objective and swept parameters as columns."""
        from cifar_search.tracking.view import VIEW_TAG, runs_view

        parents = self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.`{Tag.KIND}` = '{RunKind.STUDY}'",
            max_results=MAX_RUNS)
        view = runs_view([run.info.run_id for run in parents], self.sweep.space.swept(),
                         self.sweep.objective.metric)
        self.client.set_experiment_tag(self.experiment_id, VIEW_TAG, view)

    def mark_runs(self, best_run: str | None, colours: Mapping[str, str]) -> None:
        """Tag the best trial's run ``best=true`` and name it so (tag and name leave a run that
        is no longer best), and give each trial's run its colour; writes only what changes.

        Args:
            best_run: the best trial's run id, or None.
            colours: a colour per run id (see :mod:`cifar_search.tracking.colours`).
        """
        for run in self.child_runs(self.parent_id).values():
            number = run.tags.get(Tag.TRIAL_NUMBER)
            if number is None:
                continue
            is_best = run.run_id == best_run
            tags = {}
            if colours.get(run.run_id, run.tags.get(Tag.RUN_COLOR)) != run.tags.get(Tag.RUN_COLOR):
                tags[Tag.RUN_COLOR] = colours[run.run_id]
            if is_best and run.tags.get(Tag.BEST) != "true":
                tags[Tag.BEST] = "true"
            if tags:
                self._log(run.run_id, tags=tags)
            name = trial_run_name(int(number), is_best)
            if run.name != name:
                self.client.update_run(run.run_id, name=name)
            if not is_best and Tag.BEST in run.tags:
                self.client.delete_tag(run.run_id, Tag.BEST)

    def _log_dataset(self, run_id: str) -> None:
        """The study's data as the run's dataset input (the UI's Dataset column)."""
        if self.dataset is None:
            return
        from mlflow.entities import Dataset, DatasetInput, InputTag

        info = self.dataset
        dataset = Dataset(info.name, info.digest, "local", info.source, profile=info.profile)
        self.client.log_inputs(run_id, [DatasetInput(
            dataset, [InputTag("mlflow.data.context", "training")])])

    def log_artifacts(self, run_id: str, paths: Sequence[Path], folder: str | None = None) -> None:
        """Files at the top of a run's artifacts (or in its ``folder``), under their own
        names."""
        own = self.run_artifacts(run_id)
        if own is None:
            for path in paths:
                self.client.log_artifact(run_id, str(path), folder)
            return
        target = own / folder if folder else own
        target.mkdir(parents=True, exist_ok=True)
        for path in paths:
            shutil.copy2(path, target / Path(path).name)

    def log_text(self, run_id: str, text: str, name: str) -> None:
        """``text`` as the artifact file ``name`` of a run."""
        with scratch_dir() as folder:
            path = Path(folder) / name
            path.write_text(text, encoding="utf-8")
            self.log_artifacts(run_id, [path])

    # -- helpers ---------------------------------------------------------------------------

    def _log(self, run_id: str, metrics: Mapping[str, float] | None = None,
             params: Mapping[str, Any] | None = None,
             tags: Mapping[str, Any] | None = None,
             steps: Sequence[tuple[str, int, float]] = ()) -> None:
        """Metrics, params and tags in one batched call; ``steps`` adds stepped metrics as
        ``(key, step, value)``."""
        timestamp = _now_ms()
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), timestamp, 0) for k, v in (metrics or {}).items()]
            + [Metric(k, float(v), timestamp, step) for k, step, v in steps],
            params=[Param(k, _param_value(v)) for k, v in (params or {}).items()],
            tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()],
            synchronous=True,
        )


#: Artifact root of the cached template store; a copy gets its workspace's root instead.
TEMPLATE_ARTIFACT_ROOT = "file:///cifar-search-template/artifacts"


def create_store(url: str, artifact_root: str) -> None:
    """Make an empty SQL tracking store at ``url`` with ``artifact_root`` as its default
    artifact root and no live experiment (every run goes to a sweep's experiment; see
    :meth:`cifar_search.workspace.Workspace.create_mlflow_store`).

    A SQLite file is a copy of this MLflow version's template in the user cache folder
    (:mod:`cifar_search.user_cache`), its "Default" experiment moved to ``artifact_root``:
    building the schema runs MLflow's migrations, seconds. The first store of a version builds
    the template that way, or builds in place where the cache cannot be written.
    """
    target = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    template = _store_template() if target else None
    if template is None:
        _build_store(url, artifact_root)
        return
    shutil.copyfile(template, target)
    _move_default_experiment(Path(target), artifact_root)


def _build_store(url: str, artifact_root: str) -> None:
    """Build the schema by MLflow's migrations; delete its empty "Default" experiment."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(url, artifact_root)
    store.delete_experiment(store.DEFAULT_EXPERIMENT_ID)  # runs go to the sweeps' experiments
    store.engine.dispose()


def template_name() -> str:
    """The template's file name: MLflow's version and a digest of its migration scripts (the
    schema they build)."""
    import hashlib

    import mlflow

    versions = Path(mlflow.__file__).parent / "store" / "db_migrations" / "versions"
    names = sorted(p.name for p in versions.glob("*.py")) if versions.is_dir() else []
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]
    return f"mlflow-store-{mlflow.__version__}-{digest}.db"


def _store_template() -> Path | None:
    """The cached template (built whole, then renamed into place, when missing); None where
    the cache folder cannot be written."""
    from cifar_search.user_cache import cache_folder

    path = cache_folder() / template_name()
    if path.is_file():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        _build_store(f"sqlite:///{partial}", TEMPLATE_ARTIFACT_ROOT)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _move_default_experiment(path: Path, artifact_root: str) -> None:
    """Give the copied store's deleted "Default" experiment the artifact location and times a
    store built at ``artifact_root`` now has."""
    import sqlite3

    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from mlflow.utils.uri import append_to_uri_path, resolve_uri_if_local

    default = SqlAlchemyStore.DEFAULT_EXPERIMENT_ID
    now = int(time.time() * 1000)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE experiments SET artifact_location = ?, creation_time = ?, "
            "last_update_time = ? WHERE experiment_id = ?",
            (append_to_uri_path(resolve_uri_if_local(artifact_root), default), now, now,
             int(default)))
    connection.close()


#: The MLflow UI's page of an experiment's runs in the model-training view (MLflow 3 opens
#: experiments in its GenAI view otherwise); ``{id}`` is the experiment id.
UI_EXPERIMENT = "/#/experiments/{id}/runs?workflowType=machine_learning"
UI_EXPERIMENTS = "/#/experiments?workflowType=machine_learning"

#: Seconds the UI server is given to answer before ``ui`` gives up.
UI_START_SECONDS = 180


def ui_command(workspace: Workspace, port: int) -> tuple[list[str], dict[str, str]]:
    """The lightest server that serves the UI on the workspace's runs: one web worker and no
    job execution (the job runner and its consumers are for MLflow's GenAI jobs), 127.0.0.1
    only; (command, environment)."""
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
               workspace.mlflow_url, "--default-artifact-root", workspace.artifacts.as_uri(),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    return command, {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def ui_url(port: int, experiment_id: str | None = None, view: str | None = None) -> str:
    """Where a user lands: the experiment's runs (model-training view) in the shared view
    ``view`` when given (see :mod:`cifar_search.tracking.view`), or all experiments."""
    path = UI_EXPERIMENT.format(id=experiment_id) if experiment_id else UI_EXPERIMENTS
    shared = f"&viewStateShareKey={view}" if experiment_id and view else ""
    return f"http://127.0.0.1:{port}{path}{shared}"


def wait_for_ui(server: subprocess.Popen, port: int, seconds: float = UI_START_SECONDS) -> bool:
    """Whether the server answers on ``port`` within ``seconds`` (False: it exited first)."""
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return True
        except OSError:
            time.sleep(0.25)
    return False


def serve_ui(workspace: Workspace, port: int, experiment: str | None,
             say: Callable[[str], None]) -> int:
    """Run the MLflow UI on the workspace's runs at 127.0.0.1:``port``; once it answers, say
    the URL of ``experiment``'s runs (all experiments when None or not found). The server's
    output goes to ``logs/ui.log`` in the workspace. Return the server's exit code (0 after
    Ctrl-C).

    Raises:
        ConfigError: the server did not answer (a port in use, say).
    """
    from cifar_search.errors import ConfigError, debugging

    from cifar_search.tracking.view import VIEW_KEY, VIEW_TAG

    reader = RunReader.of(workspace, experiment) if experiment else None
    experiment_id = reader.experiment_id if reader else None
    tags = reader.client.get_experiment(experiment_id).tags if experiment_id else {}
    view = VIEW_KEY if VIEW_TAG in tags else None
    command, env = ui_command(workspace, port)
    log = workspace.root / "logs" / "ui.log"  # the server's own lines (the terminal: --debug)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        quiet = {} if debugging() else {"stdout": output, "stderr": subprocess.STDOUT}
        server = subprocess.Popen(command, env=env, **quiet)
    try:
        if not wait_for_ui(server, port):
            server.terminate()
            server.wait()
            raise ConfigError("--port", f"the MLflow UI did not answer on 127.0.0.1:{port} "
                              f"(is the port taken? its log: {log})")
        say(f"MLflow UI: {ui_url(port, experiment_id, view)} (Ctrl-C to stop)")
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait()
        return 0


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


def save_keras_model(model: Any, folder: Path, examples: Any) -> Path:
    """Save a Keras model as an MLflow Model folder (Keras flavour, a signature inferred from
    ``examples``, the first as input example, pinned requirements); nothing is written to a
    store (a worker saves it, the coordinator logs it: see :meth:`Tracker.log_best_model`).

    Example:
        >>> save_keras_model(model, Path("best"), x_test[:2])  # doctest: +SKIP
    """
    import mlflow.keras
    from mlflow.models import infer_signature

    folder.mkdir(parents=True)
    signature = infer_signature(examples, model.predict(examples, verbose=0))
    mlflow.keras.save_model(model, str(folder), signature=signature, input_example=examples[:1],
                            pip_requirements=requirements())
    return folder


def scratch_dir() -> tempfile.TemporaryDirectory:
    """A temporary folder for files about to be logged."""
    return tempfile.TemporaryDirectory(prefix="cifar-search-")


class SearchTracker:
    """Writes the MLflow runs of a search that runs in one go (the sklearn engine): a parent
    run per search, a finished child run per candidate.

    Not resumable: each search opens a new parent run, ended FINISHED, FAILED or KILLED. It
    writes through a :class:`Tracker` (the same experiment, client and batched log).

    Args:
        workspace: gives the tracking URI and, for local stores, the artifact folder.
        sweep: the sweep; its name is the experiment name.
        engine: the engine's name (tag ``cifar_search.engine``).
        variant: the engine's variant (tag ``cifar_search.variant``), e.g. ``fixed``.

    Example:
        >>> tracker = SearchTracker(workspace, sweep, "sklearn", "fixed")  # doctest: +SKIP
        >>> tracker.open("grid-sklearn", {"cv": 3})  # doctest: +SKIP
        >>> tracker.log_candidate(0, {"optimizer": "sgd"}, {"mean_score": 0.4}, {})  # doctest: +SKIP
        >>> tracker.close("FINISHED")  # doctest: +SKIP
    """

    def __init__(self, workspace: Workspace, sweep: Sweep, engine: str, variant: str) -> None:
        self._tracker = Tracker(workspace, sweep)
        self.client = self._tracker.client
        self.sweep, self.engine, self.variant = sweep, engine, variant

    @property
    def parent_id(self) -> str | None:
        """The search's parent run (None until :meth:`open`)."""
        return self._tracker.parent_id

    def _tags(self, kind: RunKind, tags: Mapping[str, Any]) -> dict[str, str]:
        return _tags({Tag.KIND: kind, Tag.ENGINE: self.engine, Tag.VARIANT: self.variant,
                      **tags})

    def open(self, run_name: str, settings: Mapping[str, Any]) -> str:
        """Create the parent run with the sweep's params and the engine's ``settings``; return
        its id."""
        tags = self._tags(RunKind.STUDY, {Tag.SWEEP_FILE: self.sweep.source or ""})
        run = self.client.create_run(self._tracker.experiment_id, run_name=run_name, tags=tags)
        self._tracker.parent_id = run.info.run_id
        self._tracker._log(run.info.run_id, params={
            "engine": self.engine, "variant": self.variant, **sweep_params(self.sweep),
            **settings})
        self._tracker.log_text(run.info.run_id, self.sweep.to_json(), "sweep.json")
        return run.info.run_id

    def log_candidate(self, number: int, params: Mapping[str, Any],
                      metrics: Mapping[str, float], tags: Mapping[str, Any],
                      steps: Sequence[tuple[str, int, float]] = (), failed: bool = False) -> str:
        """One ended child run of candidate ``number`` (FAILED when ``failed``, else
        FINISHED); ``steps`` are stepped metrics ``(key, step, value)``. Return its id."""
        outcome = TrialOutcome.FAILED if failed else TrialOutcome.COMPLETE
        tags = self._tags(RunKind.CANDIDATE, {Tag.PARENT_RUN_ID: self.parent_id, **tags,
                                              Tag.STATE: outcome})
        run = self.client.create_run(self._tracker.experiment_id,
                                     run_name=f"candidate-{number:04d}", tags=tags)
        self._tracker._log(run.info.run_id, metrics=metrics, params=params, steps=steps)
        self.client.set_terminated(run.info.run_id, outcome.run_status)
        return run.info.run_id

    def log_summary(self, metrics: Mapping[str, float], tags: Mapping[str, Any],
                    files: Sequence[Path]) -> None:
        """The search's totals and best candidate, and its files, on the parent run."""
        self._tracker._log(self.parent_id, metrics=metrics, tags=tags)
        self._tracker.log_artifacts(self.parent_id, files)

    def close(self, status: str, reason: str | None = None) -> None:
        """End the parent run ``FINISHED``, ``FAILED`` or ``KILLED`` (with its reason)."""
        if reason:
            self._tracker._log(self.parent_id, tags={Tag.FAIL_REASON: reason[:5000]})
        self._tracker.close_parent(status)


def latest_search_table(workspace: Workspace, sweep_name: str, engine: str, variant: str,
                        artifact: str) -> pd.DataFrame | None:
    """The CSV ``artifact`` of the newest finished search of ``engine`` (``variant``) of a sweep,
    as a table; None when there is none (nothing is created).

    Example:
        >>> latest_search_table(Workspace.at(), "grid", "sklearn", "fixed",
        ...                     "candidates.csv")  # doctest: +SKIP
    """
    import pandas as pd

    reader = RunReader.of(workspace, sweep_name)
    if reader.client is None or reader.experiment_id is None:
        return None
    runs = reader.client.search_runs(
        [reader.experiment_id],
        filter_string=(f"tags.`{Tag.KIND}` = '{RunKind.STUDY}' and "
                       f"tags.`{Tag.ENGINE}` = '{engine}' and "
                       f"tags.`{Tag.VARIANT}` = '{variant}' and attributes.status = 'FINISHED'"),
        order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        return None
    with scratch_dir() as folder:
        return pd.read_csv(reader.artifact(runs[0].info.run_id, artifact, folder))

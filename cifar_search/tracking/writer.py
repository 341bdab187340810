"""Writing a sweep's MLflow runs: one experiment per sweep, a parent run per study, a child
run per trial.

Every write goes through an explicit :class:`mlflow.MlflowClient` with run ids (no global
"active run" shared by anything); while a sweep runs, only the process that runs it writes
(the Optuna and KerasTuner engines' coordinators, the sklearn engine's search). Each child run
carries the trial's parameters, the optimizer and activations that really trained, per-epoch
loss/accuracy/val_loss/val_accuracy, its state and duration; the Optuna trial stores the run
id (user attribute ``mlflow_run_id``) so the two can always be joined. The parent run gets
the study summary and the best model (:mod:`.registry`).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag

from cifar_search.config.measures import MEASURES
from cifar_search.config.sweep import Oracle, Pruner, Sampler, Sweep
from cifar_search.search.states import Attr, RunKind, RunStatus, Tag, TrialOutcome
from cifar_search.tracking import registry
from cifar_search.tracking.imported import ImportedRuns
from cifar_search.tracking.naming import source_tags, trial_run_name
from cifar_search.tracking.packaging import scratch_dir
from cifar_search.tracking.reader import MAX_RUNS, RunReader, own_artifacts
from cifar_search.tracking.store import create_mlflow_store
from cifar_search.workspace import Workspace

#: Measures a trial's run gets as metrics when its recorder passes them (several objectives);
#: the validation metrics are in the epochs' history already.
LOGGED_MEASURES = tuple(m for m in MEASURES if not m.startswith("val_"))

#: MLflow caps a parameter value at this many characters.
MAX_PARAM_LENGTH = 6000


def _now_ms() -> int:
    return int(time.time() * 1000)


def _param_value(value: Any) -> str:
    return str(value)[:MAX_PARAM_LENGTH]


def _tags(tags: Mapping[Any, Any]) -> dict[str, str]:
    """Tags as MLflow takes them: keys and values as text."""
    return {str(k): str(v) for k, v in tags.items()}


def pruned_at(outcome: TrialOutcome, epochs: float | None, budget: int) -> dict[str, str]:
    """A pruned run's tag ``pruned_at``, the epoch it stopped at against its budget (it ends
    FINISHED as a complete run does: the tag tells them apart beside its state).

    Example:
        >>> pruned_at(TrialOutcome.PRUNED, 3, 10), pruned_at(TrialOutcome.COMPLETE, 10, 10)
        ({'pruned_at': 'epoch 3 of 10'}, {})
    """
    if outcome != TrialOutcome.PRUNED or not epochs:
        return {}
    return {Tag.PRUNED_AT.value: f"epoch {int(epochs)} of {budget}"}


def _kind(part: Sampler | Pruner | Oracle | str) -> str:
    """A sampler's, pruner's or oracle's kind (a sweep turns a kind name into its part)."""
    return part if isinstance(part, str) else part.kind


def sweep_params(sweep: Sweep) -> dict[str, Any]:
    """The sweep's settings that the parent run of every engine records as params (named so
    that no param shares a name with a metric or tag of any run: the child runs log the metric
    ``objective`` and the tag ``seed``). Where a KerasTuner oracle chooses, it is recorded as
    ``oracle`` instead of the sampler, which does not run."""
    oracle = sweep.option("kerastuner", "oracle")
    chooser = ({"sampler": _kind(sweep.sampler)} if oracle is None
               else {"oracle": _kind(oracle)})
    return {
        "model": sweep.model_name, **chooser, "epochs": sweep.budget.epochs,
        "batch_size": sweep.budget.batch_size,
        "objective_metric": ",".join(sweep.objective.metrics),  # several: each, in order
        "direction": ",".join(sweep.objective.directions), "sweep_seed": sweep.seed,
        "subset": sweep.data.subset, "space": json.dumps(sweep.space.to_dict(), sort_keys=True),
    }


def summary_record(summary: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """The parent run's metrics and tags of a study summary: the best value as its metric;
    the best trial's number and the trials per outcome as tags, being no measurements to
    chart.

    Example:
        >>> summary_record({"trials_complete": 2, "trials_pruned": 1, "best_value": 0.5,
        ...                 "best_trial": 1, "best_params": {}})
        ({'best_value': 0.5}, {'trials': '2 complete, 1 pruned', 'best_trial': 1})
    """
    counts = {k.removeprefix("trials_"): v for k, v in summary.items() if k.startswith("trials_")}
    tags: dict[str, Any] = {
        "trials": ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))}
    if "best_trial" in summary:
        tags["best_trial"] = summary["best_trial"]
    return {k: v for k, v in summary.items() if k == "best_value"}, tags


def readable(value: Any) -> Any:
    """A value read back from Keras as it was asked: floats (float32 inside Keras) to 7
    significant digits, e.g. 0.0010000000474974513 -> 0.001; others unchanged."""
    if isinstance(value, float):
        return float(f"{value:.7g}")
    return value


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
    def of(cls, sweep: Sweep, identity: Mapping[str, Any] | None) -> DatasetInfo | None:
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

    def input(self) -> DatasetInput:
        """As an MLflow dataset input of a training run."""
        dataset = Dataset(self.name, self.digest, "local", self.source, profile=self.profile)
        return DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])


class Tracker(ImportedRuns, RunReader):
    """Writes one sweep's runs to MLflow (and reads them, as a :class:`RunReader`).

    Artifacts of the workspace's own store are written to its folder
    ``artifacts/<sweep>/<run id>/artifacts`` (the layout MLflow records), wherever the
    workspace now is: a moved or copied workspace writes to its own files.

    Args:
        workspace: gives the tracking URI and, for local stores, the artifact folder; its own
            ``mlflow.db`` is created (whole) when missing.
        sweep: the sweep; its name is the experiment name.
        dataset: the data the study trains on, as its runs' dataset input; None: none.
    """

    client: MlflowClient  # a writer's store always exists: it is created first
    experiment_id: str  # the sweep's experiment, created when missing

    def __init__(self, workspace: Workspace, sweep: Sweep,
                 dataset: DatasetInfo | None = None) -> None:
        create_mlflow_store(workspace)
        super().__init__(workspace.mlflow_url, own_artifacts(workspace, sweep.name))
        self.sweep = sweep
        self.dataset = dataset
        self.register = registry.registers(sweep, workspace)
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
        self.client.update_run(run_id, status=RunStatus.RUNNING)
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
        self._log_dataset(run.info.run_id)
        return run.info.run_id

    def _log_parent_params(self) -> None:
        sweep = self.sweep
        params = {**sweep_params(sweep), "pruner": _kind(sweep.pruner),
                  "patience": sweep.budget.patience, "validation": sweep.data.validation}
        self._log(self._parent(), params=params)

    def update_parent(self, settings: Mapping[str, Any]) -> None:
        """Record settings that may change between runs (trials, workers) as tags."""
        self._log(self._parent(), tags={f"setting.{k}": v for k, v in settings.items()})
        self.log_text(self._parent(), self.sweep.to_json(), "sweep.json")

    def close_parent(self, status: RunStatus) -> None:
        """End the parent run with ``FINISHED``, ``KILLED`` or ``FAILED``."""
        self.client.set_terminated(self._parent(), status=status)

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
        died in between): the run it had created, given the params and dataset it may lack
        (only those, so that nothing recorded is rewritten), else a new one."""
        found = self.trial_run(number)
        if found is None:
            return self.start_trial(number, params, seed)
        run = self.client.get_run(found)
        self._log(found, params={k: v for k, v in params.items() if k not in run.data.params})
        if run.inputs is None or not run.inputs.dataset_inputs:
            self._log_dataset(found)
        return found

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
        """Close a child run with its outcome (``complete``, ``pruned``, ``infeasible``,
        ``failed`` or ``interrupted``), objective, duration and resolved config."""
        outcome = TrialOutcome(state)
        info = dict(info or {})
        metrics = {"objective": value} if value is not None else {}
        for key in (Attr.DURATION_S, Attr.EPOCHS_TRAINED, "startup_seconds", Attr.VALUE_STD,
                    "repeats", *LOGGED_MEASURES):
            if key in info:
                found = info.pop(key)
                if found is not None:
                    metrics[str(key)] = found
        tags: dict[str, Any] = {Tag.STATE: outcome, **pruned_at(
            outcome, metrics.get(Attr.EPOCHS_TRAINED), self.sweep.budget.epochs)}
        if Attr.DUPLICATE_OF in info:  # same parameters and seed as that trial: not trained again
            tags[Tag.DUPLICATE_OF] = info.pop(Attr.DUPLICATE_OF)
        if reason:  # an infeasible trial's: the constraint it broke
            tags[Tag.INFEASIBLE if outcome == TrialOutcome.INFEASIBLE else Tag.FAIL_REASON] = reason
        self._log(run_id, metrics=metrics, tags=tags,
                  params={f"resolved.{k}": readable(v) for k, v in info.items()})
        self.client.set_terminated(run_id, status=outcome.run_status)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """An engine's own tags on a run (e.g. KerasTuner's trial id, bracket and round)."""
        self._log(run_id, tags=tags)

    def kill_run(self, run_id: str, reason: str) -> None:
        """Mark a run left behind by an interruption as killed."""
        self.end_trial(run_id, TrialOutcome.INTERRUPTED, reason=reason)

    def repair_run(self, run_id: str, status: RunStatus,
                   outcome: TrialOutcome | None = None) -> None:
        """End a run a crash left behind with ``status``, tagged ``repaired`` and, when it
        belongs to a trial, with the trial's ``outcome`` as its ``state``."""
        tags: dict[str, str] = {Tag.REPAIRED: "true", **({Tag.STATE: outcome} if outcome else {})}
        self._log(run_id, tags=tags)
        self.client.set_terminated(run_id, status=status)

    # -- summaries -------------------------------------------------------------------------

    def log_summary(self, summary: Mapping[str, Any], files: list[Path]) -> None:
        """Best value/params and summary files (trials CSV, plots) on the parent run."""
        parent, (metrics, tags) = self._parent(), summary_record(summary)
        self._log(parent, metrics=metrics, tags=tags)
        self.log_text(parent, json.dumps(dict(summary), indent=2, default=str), "summary.json")
        self.log_artifacts(parent, files)

    def log_best_model(self, results: Mapping[str, Any], model_path: Path,
                       files: list[Path], mlflow_model: Path | None = None,
                       best: registry.BestVersion | None = None) -> str | None:
        """Test-set results, confusion matrix and the best model on the parent run; the
        model's MLflow Model folder (``mlflow_model``, see :func:`save_keras_model`) as a
        logged model of the best trial's run (``best``), registered under the sweep's name
        when :attr:`register`. Return the registered version (None when not registered); a
        trial registered already (a resumed study) keeps its version, none is added."""
        parent = self._parent()
        known = registry.registered(self.client, best.name, best.run_id) \
            if self.register and best is not None else None
        model = None
        if mlflow_model is not None and best is not None and known is None:
            model = registry.log_model(self.client, self.experiment_id, parent, best,
                                       mlflow_model)
        # the test results are the logged model's metrics too (its page's Metrics)
        self._log(parent, metrics={k: results[k] for k in ("test_loss", "test_accuracy")},
                  tags={Tag.BEST_MODEL_TRIAL: results["trial"]},
                  model_id=model.model_id if model else None)
        self.log_artifacts(parent, [model_path], registry.BEST_MODEL)
        self.log_artifacts(parent, files)
        if model is None or best is None or not self.register:
            return known
        return registry.register(self.client, best, model)

    def describe(self, markdown: str) -> None:
        """The study's description, on its parent run and its experiment."""
        self._log(self._parent(), tags={Tag.NOTE: markdown})
        self.client.set_experiment_tag(self.experiment_id, Tag.NOTE, markdown)

    def save_view(self) -> None:
        """The UI's first view of the experiment's runs (:func:`.view.save_view`)."""
        from cifar_search.tracking.view import save_view

        save_view(self.client, self.experiment_id, self.sweep.space.swept(),
                  self.sweep.objective.metric, MAX_RUNS)

    def mark_runs(self, best_run: str | None, colours: Mapping[str, str]) -> None:
        """Tag the best trial's run (``best_run``, or None) ``best=true`` and name it so (tag
        and name leave a run no longer best), and give each trial's run its colour (by run id,
        see :mod:`cifar_search.tracking.colours`); writes only what changes."""
        for run in self.child_runs(self._parent()).values():
            number = run.tags.get(Tag.TRIAL_NUMBER)
            if number is None:
                continue
            is_best = run.run_id == best_run
            tags: dict[str, str] = {}
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
        if self.dataset is not None:
            self.client.log_inputs(run_id, [self.dataset.input()])

    def log_artifacts(self, run_id: str, paths: Sequence[Path], folder: str | None = None) -> None:
        """Files at the top of a run's artifacts (or in its ``folder``), under their names."""
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

    def _parent(self) -> str:
        """The open parent run's id."""
        if self.parent_id is None:
            raise RuntimeError("no parent run is open; open it first")
        return self.parent_id

    def _log(self, run_id: str, metrics: Mapping[str, float] | None = None,
             params: Mapping[str, Any] | None = None,
             tags: Mapping[str, Any] | None = None,
             steps: Sequence[tuple[str, int, float]] = (),
             model_id: str | None = None) -> None:
        """Metrics, params and tags in one batched call; ``steps`` adds stepped metrics as
        ``(key, step, value)``; ``model_id``: ``metrics`` are that logged model's too."""
        timestamp = _now_ms()
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), timestamp, 0, model_id=model_id)
                     for k, v in (metrics or {}).items()]
            + [Metric(k, float(v), timestamp, step) for k, step, v in steps],
            params=[Param(k, _param_value(v)) for k, v in (params or {}).items()],
            tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()],
            synchronous=True,
        )


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
        >>> tracker.log_candidate(0, {"optimizer": "sgd"}, {"mean_score": 0.4},
        ...                       {})  # doctest: +SKIP
        >>> tracker.close(RunStatus.FINISHED)  # doctest: +SKIP
    """

    def __init__(self, workspace: Workspace, sweep: Sweep, engine: str, variant: str) -> None:
        self._tracker = Tracker(workspace, sweep)
        self.client = self._tracker.client
        self.sweep, self.engine, self.variant = sweep, engine, variant

    @property
    def parent_id(self) -> str | None:
        """The search's parent run (None until :meth:`open`)."""
        return self._tracker.parent_id

    def _parent(self) -> str:
        """The open parent run's id."""
        return self._tracker._parent()

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
        self._tracker._log(self._parent(), metrics=metrics, tags=tags)
        self._tracker.log_artifacts(self._parent(), files)

    def close(self, status: RunStatus, reason: str | None = None) -> None:
        """End the parent run ``FINISHED``, ``FAILED`` or ``KILLED`` (with its reason)."""
        if reason:
            self._tracker._log(self._parent(), tags={Tag.FAIL_REASON: reason[:5000]})
        self._tracker.close_parent(status)


def mark_front(tracker: Tracker, front: frozenset[str]) -> None:
    """Tag the runs of the Pareto front's members ``pareto_front=true`` (several objectives),
    and untag a run that left the front; writes only what changes."""
    for run in tracker.child_runs(tracker.parent_id or "").values():
        if run.run_id in front and run.tags.get(Tag.PARETO_FRONT) != "true":
            tracker.set_tags(run.run_id, {Tag.PARETO_FRONT: "true"})
        elif run.run_id not in front and Tag.PARETO_FRONT in run.tags:
            tracker.client.delete_tag(run.run_id, Tag.PARETO_FRONT)

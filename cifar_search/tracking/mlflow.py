"""Our MLflow layer: one experiment per sweep, a parent run per study, a child run per trial.

Only the coordinator process writes here, through an explicit :class:`mlflow.MlflowClient` with
run ids (no global "active run" shared by anything). Each child run carries the trial's
parameters, the optimizer and activations that really trained, per-epoch loss/accuracy/val_loss/
val_accuracy, its state and duration; the Optuna trial stores the run id (user attribute
``mlflow_run_id``) so the two can always be joined. The parent run gets the study summary.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag  # noqa: E402

from cifar_search.config.sweep import Sweep  # noqa: E402
from cifar_search.workspace import Workspace  # noqa: E402

logging.getLogger("mlflow").setLevel(logging.ERROR)
logging.getLogger("alembic").setLevel(logging.ERROR)

#: MLflow run status for each trial state.
RUN_STATUS = {"complete": "FINISHED", "pruned": "FINISHED", "failed": "FAILED",
              "interrupted": "KILLED"}

#: MLflow caps a parameter value at this many characters.
MAX_PARAM_LENGTH = 6000


def _now_ms() -> int:
    return int(time.time() * 1000)


def _param_value(value: Any) -> str:
    return str(value)[:MAX_PARAM_LENGTH]


class Tracker:
    """Writes one sweep's runs to MLflow.

    Args:
        workspace: gives the tracking URI and, for local stores, the artifact folder.
        sweep: the sweep; its name is the experiment name.
    """

    def __init__(self, workspace: Workspace, sweep: Sweep) -> None:
        workspace.create_stores()
        self.client = MlflowClient(tracking_uri=workspace.mlflow_url)
        self.sweep = sweep
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
                filter_string=f"tags.`cifar_search.study_token` = '{token}'")
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
        tags = {"cifar_search.kind": "study", "optuna.study_name": sweep.name,
                "sweep_file": str(sweep.source or ""), "cifar_search.study_token": token}
        run = self.client.create_run(self.experiment_id, run_name=sweep.name, tags=tags)
        self.parent_id = run.info.run_id
        self._log_parent_params()
        return self.parent_id

    def _log_parent_params(self) -> None:
        sweep = self.sweep
        params = {
            "model": sweep.model, "sampler": sweep.sampler.kind, "pruner": sweep.pruner.kind,
            "epochs": sweep.budget.epochs, "batch_size": sweep.budget.batch_size,
            "patience": sweep.budget.patience, "objective": sweep.objective.metric,
            "direction": sweep.objective.direction, "seed": sweep.seed,
            "validation": sweep.data.validation, "subset": sweep.data.subset,
            "space": json.dumps(sweep.space.to_dict(), sort_keys=True),
        }
        self._log(self.parent_id, params=params)

    def update_parent(self, settings: Mapping[str, Any]) -> None:
        """Record settings that may change between runs (trials, workers) as tags."""
        self._log(self.parent_id, tags={f"setting.{k}": v for k, v in settings.items()})
        self.client.log_text(self.parent_id, self.sweep.to_json(), "sweep.json")

    def close_parent(self, status: str) -> None:
        """End the parent run with ``FINISHED``, ``KILLED`` or ``FAILED``."""
        self.client.set_terminated(self.parent_id, status=status)

    # -- child runs ------------------------------------------------------------------------

    def start_trial(self, number: int, params: Mapping[str, Any], seed: int,
                    retry_of: int | None = None, continues: int | None = None) -> str:
        """Create the child run of trial ``number``; return its id."""
        tags = {"mlflow.parentRunId": self.parent_id, "optuna.trial_number": number,
                "optuna.study_name": self.sweep.name, "state": "running", "seed": seed}
        if retry_of is not None:
            tags["retry_of"] = retry_of
        if continues is not None:
            tags["continues"] = continues
        run = self.client.create_run(self.experiment_id, run_name=f"trial-{number:04d}",
                                     tags={k: str(v) for k, v in tags.items()})
        self._log(run.info.run_id, params=params)
        return run.info.run_id

    def recorded_run(self, number: int, params: Mapping[str, Any], seed: int) -> str:
        """The child run of trial ``number`` for a trial that never stored its id (the process
        died in between): the run it had created, else a new one, so that no trial lacks one."""
        runs = self.client.search_runs(
            [self.experiment_id], max_results=1,
            filter_string=(f"tags.`mlflow.parentRunId` = '{self.parent_id}' "
                           f"and tags.`optuna.trial_number` = '{number}'"))
        return runs[0].info.run_id if runs else self.start_trial(number, params, seed)

    def start_seed(self, trial_run_id: str, number: int, repeat: int, seed: int) -> str:
        """Create the run of one seed of a repeated trial, nested in the trial's run."""
        tags = {"mlflow.parentRunId": trial_run_id, "optuna.trial_number": number,
                "optuna.study_name": self.sweep.name, "state": "running", "seed": seed,
                "repeat": repeat, "cifar_search.kind": "seed"}
        run = self.client.create_run(self.experiment_id,
                                     run_name=f"trial-{number:04d}-seed-{repeat}",
                                     tags={k: str(v) for k, v in tags.items()})
        return run.info.run_id

    def log_epoch(self, run_id: str, epoch: int, logs: Mapping[str, float]) -> None:
        """One epoch's metrics, in one batched call (step = epochs completed)."""
        timestamp = _now_ms()
        metrics = [Metric(key, float(value), timestamp, epoch) for key, value in logs.items()]
        self.client.log_batch(run_id, metrics=metrics, synchronous=True)

    def end_trial(self, run_id: str, state: str, value: float | None = None,
                  info: Mapping[str, Any] | None = None, reason: str | None = None) -> None:
        """Close a child run with its state, objective, duration and resolved config."""
        info = dict(info or {})
        metrics = {"objective": value} if value is not None else {}
        for key in ("duration_s", "epochs_trained", "startup_seconds", "value_std", "repeats"):
            if key in info:
                value = info.pop(key)
                if value is not None:
                    metrics[key] = value
        tags = {"state": state}
        if "duplicate_of" in info:  # same parameters and seed as that trial: not trained again
            tags["duplicate_of"] = info.pop("duplicate_of")
        if reason:
            tags["fail_reason"] = reason
        self._log(run_id, metrics=metrics, tags=tags,
                  params={f"resolved.{k}": v for k, v in info.items()})
        self.client.set_terminated(run_id, status=RUN_STATUS[state])

    def kill_run(self, run_id: str, reason: str) -> None:
        """Mark a run left behind by an interruption as killed."""
        self._log(run_id, tags={"state": "interrupted", "fail_reason": reason})
        self.client.set_terminated(run_id, status="KILLED")

    # -- summaries -------------------------------------------------------------------------

    def log_summary(self, summary: Mapping[str, Any], files: list[Path]) -> None:
        """Best value/params and summary files (trials CSV, plots) on the parent run."""
        metrics = {k: v for k, v in summary.items() if isinstance(v, (int, float))
                   and not isinstance(v, bool)}
        self._log(self.parent_id, metrics=metrics)
        self.client.log_dict(self.parent_id, dict(summary), "summary.json")
        for path in files:
            self.client.log_artifact(self.parent_id, str(path))

    def log_best_model(self, results: Mapping[str, Any], model_path: Path,
                       files: list[Path]) -> None:
        """Test-set results, confusion matrix and the best model on the parent run."""
        self._log(self.parent_id, metrics={k: results[k] for k in ("test_loss", "test_accuracy")},
                  tags={"best_model_trial": results["trial"]})
        self.client.log_artifact(self.parent_id, str(model_path), "best_model")
        for path in files:
            self.client.log_artifact(self.parent_id, str(path))

    # -- helpers ---------------------------------------------------------------------------

    def _log(self, run_id: str, metrics: Mapping[str, float] | None = None,
             params: Mapping[str, Any] | None = None,
             tags: Mapping[str, Any] | None = None) -> None:
        """Metrics, params and tags in one batched call."""
        timestamp = _now_ms()
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), timestamp, 0) for k, v in (metrics or {}).items()],
            params=[Param(k, _param_value(v)) for k, v in (params or {}).items()],
            tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()],
            synchronous=True,
        )


def scratch_dir() -> tempfile.TemporaryDirectory:
    """A temporary folder for files about to be logged."""
    return tempfile.TemporaryDirectory(prefix="cifar-search-")

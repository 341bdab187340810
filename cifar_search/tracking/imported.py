"""The MLflow runs of trials imported from an earlier study (a warm start): trained there, not
here, each a child run of the study's parent with its objective, parameters and a link to
where it was trained. :class:`ImportedRuns` is a part of the writer
(:class:`cifar_search.tracking.writer.Tracker`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cifar_search.search.states import Tag, TrialOutcome
from cifar_search.tracking.naming import source_tags, trial_run_name

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from cifar_search.config.sweep import Sweep

__all__ = ["ImportedRuns"]


class ImportedRuns:
    """Writes the child runs of imported trials (the writer supplies its client and runs)."""

    client: MlflowClient
    experiment_id: str
    parent_id: str | None
    sweep: Sweep

    if TYPE_CHECKING:
        def _log(self, run_id: str, metrics: Mapping[str, float] | None = None,
                 params: Mapping[str, Any] | None = None,
                 tags: Mapping[str, Any] | None = None) -> None: ...

    def start_import(self, params: Mapping[str, Any], value: float,
                     source: Mapping[str, Any]) -> str:
        """Create the child run of a trial imported from an earlier study (a warm start),
        RUNNING until :meth:`end_import` numbers it; return its id.

        Args:
            params: the trial's parameters.
            value: its objective, logged as ``objective``.
            source: ``{"study", "trial", "mlflow_run_id"}``: where it was trained.
        """
        origin = f"study `{source['study']}`, trial {source['trial']}"
        if source.get("mlflow_run_id"):
            origin += f" (run `{source['mlflow_run_id']}`)"
        tags = {Tag.PARENT_RUN_ID: self.parent_id, Tag.STUDY_NAME: self.sweep.name,
                Tag.STATE: TrialOutcome.IMPORTED, Tag.IMPORTED_FROM_STUDY: source["study"],
                Tag.IMPORTED_FROM_TRIAL: source["trial"],
                Tag.NOTE: f"Imported from {origin}: trained there, not here. It informs the "
                          "sampler; the best model is chosen among the trials trained here.",
                **source_tags(self.sweep)}
        if source.get("mlflow_run_id"):
            tags[Tag.IMPORTED_FROM_RUN] = source["mlflow_run_id"]
        run = self.client.create_run(self.experiment_id, run_name="imported",
                                     tags={str(k): str(v) for k, v in tags.items()})
        self._log(run.info.run_id, metrics={"objective": value}, params=params)
        return run.info.run_id

    def end_import(self, run_id: str, number: int) -> None:
        """Give an imported trial's run its trial number and name, and end it."""
        self._log(run_id, tags={Tag.TRIAL_NUMBER: number})
        self.client.update_run(run_id, name=trial_run_name(number))
        self.client.set_terminated(run_id, status=TrialOutcome.IMPORTED.run_status)

"""Reading a sweep's MLflow runs: metrics, tags, child runs and artifacts; writes nothing.

Every read goes through an explicit :class:`mlflow.MlflowClient` on the workspace's tracking
URI (no global "active run"). :class:`cifar_search.tracking.writer.Tracker` writes through the
same client, as a :class:`RunReader`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

# Read by MLflow's client when it is used, and passed on to the processes this one starts
# (the UI server, the workers): no progress bar over the terminal's lines while artifacts
# are copied, no warning where git is not installed, no run link printed when a run ends.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # a server's run links

from mlflow import MlflowClient

from cifar_search.search.states import RunKind, RunStatus, Tag
from cifar_search.tracking.packaging import scratch_dir
from cifar_search.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities import Run

logging.getLogger("mlflow").setLevel(logging.ERROR)

#: The most child runs a study's parent run is read with.
MAX_RUNS = 50_000


@dataclass(frozen=True)
class RunRecord:
    """What a check reads of one run: its id, name, MLflow status and tags."""

    run_id: str
    name: str
    status: RunStatus
    tags: Mapping[str, str]


def own_artifacts(workspace: Workspace, experiment: str) -> Path | None:
    """Where our runs' artifacts are, whatever absolute location MLflow stored: the current
    workspace's folder when MLflow records in its own mlflow.db (the stored location may be
    the folder's earlier place, or the original's for a copy); else None, MLflow's."""
    return workspace.artifacts / experiment if workspace.own_tracking else None


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
    def of(cls, workspace: Workspace, experiment: str) -> RunReader:
        """The runs of ``experiment`` (a sweep's name) in the workspace's store; creates
        nothing: a store or experiment that does not exist yet reads as empty.

        Raises:
            ConfigError: the store is not an MLflow store, or cannot be reached (see
                :func:`cifar_search.stores.check_tracking`).
        """
        from cifar_search.stores import check_tracking

        exists = check_tracking(workspace)
        reader = cls(workspace.mlflow_url if exists else None,
                     own_artifacts(workspace, experiment))
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

    def run_link(self, run_id: str) -> str | None:
        """The run's page on the tracking server (model-training view); None for a database
        store, which has no server of its own."""
        from cifar_search.tracking.naming import run_url

        server = self.client.tracking_uri if self.client is not None else ""
        if not server.startswith(("http://", "https://")):
            return None
        return run_url(server, str(self.experiment_id), run_id)

    def final_metrics(self, run_id: str | None) -> dict[str, float]:
        """The latest value of each metric of a run; empty when there is no run or it is gone."""
        run = self._run(run_id) if run_id else None
        return dict(run.data.metrics) if run is not None else {}

    def tags(self, run_id: str | None) -> dict[str, str]:
        """A run's tags; empty when there is no run."""
        if not run_id or self.client is None:
            return {}
        return dict(self.client.get_run(run_id).data.tags)

    def status(self, run_id: str) -> RunStatus | None:
        """A run's MLflow status; None when there is no such run."""
        run = self._run(run_id)
        return RunStatus(run.info.status) if run is not None else None

    def _run(self, run_id: str) -> Run | None:
        """The run ``run_id``; None without a store, or when it is gone."""
        from mlflow.exceptions import MlflowException

        if self.client is None:
            return None
        try:
            return self.client.get_run(run_id)
        except MlflowException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise

    def child_runs(self, parent_id: str) -> dict[str, RunRecord]:
        """The runs nested in ``parent_id`` (a study's trials), by run id."""
        if self.client is None or self.experiment_id is None:
            return {}
        runs = self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.`{Tag.PARENT_RUN_ID}` = '{parent_id}'",
            max_results=MAX_RUNS)
        return {run.info.run_id: RunRecord(run.info.run_id, run.info.run_name,
                                           RunStatus(run.info.status), dict(run.data.tags))
                for run in runs}

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
                       f"tags.`{Tag.VARIANT}` = '{variant}' and "
                       f"attributes.status = '{RunStatus.FINISHED}'"),
        order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        return None
    with scratch_dir() as folder:
        return pd.read_csv(reader.artifact(runs[0].info.run_id, artifact, folder))

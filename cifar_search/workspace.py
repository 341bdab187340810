"""Where a sweep's state lives on disk: one workspace folder (``mlruns/`` by default).

    mlruns/
      optuna.db            Optuna studies (SQLite), unless --storage names another
      mlflow.db            MLflow runs (SQLite), unless --tracking-uri names another
      artifacts/<sweep>/   MLflow artifacts: plots, tables, models
      data/<source-key>/   decoded images as .npy, shared by every worker and sweep
      trials/<sweep>/NNNNN model and files of each trial
      locks/<sweep>.lock   held by the process that runs the sweep
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable

from cifar_search.errors import SweepBusyError

#: The workspace when --workspace is not given, relative to the working directory.
DEFAULT_WORKSPACE = "mlruns"


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def _create_whole(path: Path, initialise: Callable[[str], None]) -> None:
    """Create a SQLite store whole or not at all: its schema is built in a temporary file that
    is then linked into place, so that a kill during the first schema migration cannot leave a
    half-built database behind (and a concurrent creator's database is never replaced)."""
    if path.exists():
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        initialise(_sqlite_url(partial))
        os.link(partial, path)
    except FileExistsError:
        pass
    finally:
        partial.unlink(missing_ok=True)


def _init_optuna(url: str) -> None:
    from cifar_search.engines.optuna.study import create_storage  # the one Optuna adapter

    create_storage(url)


def _init_mlflow(url: str) -> None:
    from cifar_search.tracking.mlflow import create_store  # the one MLflow adapter

    create_store(url)


@dataclass(frozen=True)
class Workspace:
    """Paths and store URLs of one workspace folder.

    Example:
        >>> Workspace.at("mlruns").optuna_url.endswith("mlruns/optuna.db")
        True
    """

    root: Path
    storage: str | None = None
    tracking_uri: str | None = None
    named: str | None = None  # the folder as the user gave it (None: the default)

    @classmethod
    def at(cls, root: str | Path | None = None, storage: str | None = None,
           tracking_uri: str | None = None) -> "Workspace":
        """The workspace at ``root`` (default ``mlruns``), with optional store overrides."""
        tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or None
        return cls(Path(root or DEFAULT_WORKSPACE).resolve(), storage, tracking_uri,
                   str(root) if root else None)

    @property
    def flags(self) -> str:
        """The command-line flag that names this workspace again (empty for the default)."""
        return f" --workspace {self.named}" if self.named else ""

    @property
    def optuna_url(self) -> str:
        """The Optuna storage URL."""
        return self.storage or _sqlite_url(self.root / "optuna.db")

    @property
    def mlflow_url(self) -> str:
        """The MLflow tracking URI."""
        return self.tracking_uri or _sqlite_url(self.root / "mlflow.db")

    @property
    def local_tracking(self) -> bool:
        """Whether MLflow writes to a local database (artifacts then go in the workspace)."""
        return self.mlflow_url.startswith(("sqlite:", "file:")) or "://" not in self.mlflow_url

    @property
    def artifacts(self) -> Path:
        """The artifact root of locally tracked experiments."""
        return self.root / "artifacts"

    @property
    def data_cache(self) -> Path:
        """Decoded datasets."""
        return self.root / "data"

    def trial_dir(self, sweep: str, number: int) -> Path:
        """Files of one trial."""
        return self.root / "trials" / sweep / f"{number:05d}"

    def create(self) -> None:
        """Make the folders (idempotent)."""
        for path in (self.root, self.artifacts, self.data_cache, self.root / "locks"):
            path.mkdir(parents=True, exist_ok=True)

    def create_stores(self) -> None:
        """Create the workspace's own SQLite stores, each in one step (idempotent)."""
        self.create()
        if self.storage is None:
            _create_whole(self.root / "optuna.db", _init_optuna)
        if self.tracking_uri is None:
            _create_whole(self.root / "mlflow.db", _init_mlflow)

    def lock(self, sweep: str) -> IO[str]:
        """Take the sweep's lock, so that one process at a time runs it; keep the handle open.

        Raises:
            SweepBusyError: another live process holds it.
        """
        self.create()
        handle = open(self.root / "locks" / f"{sweep}.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise SweepBusyError(f"{self.root}: sweep {sweep!r} is already running (pid "
                                 f"{owner}); wait for it or stop it first") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        return handle

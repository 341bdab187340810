"""Where a sweep's state lives on disk: one workspace folder (``mlruns/`` by default).

    mlruns/
      optuna.db            Optuna studies (SQLite), unless --storage names another
      mlflow.db            MLflow runs (SQLite), unless --tracking-uri names another
      artifacts/<sweep>/   MLflow artifacts: plots, tables, models
      data/<source-key>/   decoded images only where the user cache cannot be written (or
                           left by older versions): they are kept in the user cache's
                           data/<source-key>/, shared by every workspace, or in
                           --checkpoints DIR/.data when given, shared by the machines
      trials/<sweep>/NNNNN model and files of each trial (in --checkpoints DIR when given)
      locks/<sweep>.lock   held by the process that runs the sweep

Paths only: each store is created by its own adapter, whole and after a check of what is
there (:func:`cifar_search.engines.optuna.study.create_optuna_store`,
:func:`cifar_search.tracking.store.create_mlflow_store`).
"""

from __future__ import annotations

import fcntl
import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cifar_search.errors import ConfigError, SweepBusyError, shown
from cifar_search.user_cache import data_folder

#: The workspace when --workspace is not given, relative to the working directory.
DEFAULT_WORKSPACE = "mlruns"
#: The decoded-data folder in a ``--checkpoints`` folder (a sweep name never starts with ".").
SHARED_DATA = ".data"

#: The workspace's own stores (SQLite files), when --storage / --tracking-uri name no other.
OPTUNA_DB, MLFLOW_DB = "optuna.db", "mlflow.db"

#: ``scheme://user:password@``: the password runs to the last ``@`` before the host's ``/``.
_CREDENTIALS = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:@/\s]*:)[^\s/]*@")


def masked(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``, so that a URL or a
    message quoting one can be printed or logged.

    Example:
        >>> masked("cannot connect to postgresql://me:s3cret@db:5432/optuna")
        'cannot connect to postgresql://me:***@db:5432/optuna'
    """
    return _CREDENTIALS.sub(r"\g<head>***@", text)


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of the SQLite file at ``path`` (made absolute)."""
    return f"sqlite:///{path.resolve()}"


def checkpoints_folder(value: str) -> Path:
    """The folder ``--checkpoints`` names: a path or a ``file://`` URI.

    Raises:
        ConfigError: another kind of URI.

    Example:
        >>> checkpoints_folder("file:///srv/shared/checkpoints")
        PosixPath('/srv/shared/checkpoints')
    """
    scheme, found, _ = value.partition("://")
    if not found:
        return Path(value).expanduser().resolve()
    if scheme.lower() != "file":
        raise ConfigError("--checkpoints", f"{shown(value)} is not a folder; give a folder "
                          "every machine mounts, as a path or file:///PATH")
    return Path(urllib.parse.unquote(urllib.parse.urlsplit(value).path)).resolve()


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
    tracking_from_env: bool = False  # tracking_uri came from $MLFLOW_TRACKING_URI
    checkpoints: Path | None = None  # trial folders shared by several machines (--checkpoints)
    scratch: bool = False  # a check run's (run --check), removed after it: nothing summarised

    @classmethod
    def at(cls, root: str | Path | None = None, storage: str | None = None,
           tracking_uri: str | None = None, checkpoints: str | None = None) -> Workspace:
        """The workspace at ``root`` (default ``mlruns``), with optional store overrides and a
        shared folder for the trials' checkpoints and models (a path or ``file://`` URI)."""
        from_env = not tracking_uri and bool(os.environ.get("MLFLOW_TRACKING_URI"))
        tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or None
        shared = checkpoints_folder(checkpoints) if checkpoints else None
        return cls(Path(root or DEFAULT_WORKSPACE).resolve(), storage, tracking_uri,
                   str(root) if root else None, from_env, shared)

    @property
    def flags(self) -> str:
        """The command-line flag that names this workspace again (empty for the default)."""
        return f" --workspace {self.named}" if self.named else ""

    @property
    def optuna_url(self) -> str:
        """The Optuna storage URL."""
        return self.storage or sqlite_url(self.root / OPTUNA_DB)

    @property
    def mlflow_url(self) -> str:
        """The MLflow tracking URI."""
        return self.tracking_uri or sqlite_url(self.root / MLFLOW_DB)

    @property
    def shared(self) -> bool:
        """Whether the Optuna storage is a database server that several machines may share
        (anything but SQLite): liveness is then by heartbeat rather than by this lock."""
        return not self.optuna_url.startswith("sqlite:")

    @property
    def shown_optuna_url(self) -> str:
        """The Optuna storage URL as printed or logged: its password masked."""
        return masked(self.optuna_url)

    @property
    def shown(self) -> str:
        """The workspace folder as the user named it (``mlruns`` by default)."""
        return self.named or DEFAULT_WORKSPACE

    @property
    def storage_flag(self) -> str:
        """What set the Optuna storage: ``--storage``, else ``--workspace`` (its optuna.db)."""
        return "--storage" if self.storage else "--workspace"

    @property
    def tracking_flag(self) -> str:
        """What set the MLflow store: ``--tracking-uri``, ``MLFLOW_TRACKING_URI``, else
        ``--workspace`` (its mlflow.db)."""
        if not self.tracking_uri:
            return "--workspace"
        return "MLFLOW_TRACKING_URI" if self.tracking_from_env else "--tracking-uri"

    @property
    def own_tracking(self) -> bool:
        """Whether MLflow records in the workspace's own ``mlflow.db``: its runs' artifacts are
        then the workspace's (``artifacts/<sweep>/``), wherever the folder has been moved or
        copied, whatever absolute location MLflow stored."""
        return self.tracking_uri is None

    @property
    def local_tracking(self) -> bool:
        """Whether MLflow records in a database rather than through a tracking server: new
        experiments then keep their artifacts in the workspace (a server keeps its own)."""
        return not self.mlflow_url.startswith(("http://", "https://", "databricks"))

    @property
    def artifacts(self) -> Path:
        """The artifact root of locally tracked experiments."""
        return self.root / "artifacts"

    @property
    def data_cache(self) -> Path:
        """The workspace's own decoded-data folder: where decoded data went before it moved to
        :attr:`decoded_data` (a folder left there is no longer read: deleting it frees its
        space), and where it still goes when the user cache cannot be written; under
        ``--checkpoints DIR`` when given, as :attr:`decoded_data`."""
        return self.checkpoints / SHARED_DATA if self.checkpoints else self.root / "data"

    @property
    def decoded_data(self) -> Path:
        """Decoded datasets: the user cache's ``data/`` folder, shared by every workspace of
        the user; under ``--checkpoints DIR`` when given, so that the machines that share that
        folder decode a source once (the first decodes, the others wait for it and map its
        arrays: :func:`cifar_search.model.data.prepare`)."""
        return self.checkpoints / SHARED_DATA if self.checkpoints else data_folder()

    def log_file(self, sweep: str) -> Path:
        """Where a sweep's workers write TensorFlow's logs and warnings."""
        return self.root / "logs" / f"{sweep}.log"

    def trial_dir(self, sweep: str, number: int) -> Path:
        """Files of one trial (under ``--checkpoints DIR`` when given)."""
        return (self.checkpoints or self.root / "trials") / sweep / f"{number:05d}"

    def create(self) -> None:
        """Make the folders (idempotent; the decoded data's is made when data is decoded)."""
        for path in (self.root, self.artifacts, self.root / "locks"):
            path.mkdir(parents=True, exist_ok=True)

    def running(self, sweep: str) -> bool:
        """Whether a live process holds the sweep's lock; creates nothing (read-only
        commands ask this instead of taking the lock)."""
        try:
            handle = open(self.root / "locks" / f"{sweep}.lock")
        except OSError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

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

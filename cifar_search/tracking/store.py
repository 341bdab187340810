"""The MLflow store: the workspace's ``mlflow.db``, created whole from a cached template.

Building an MLflow schema runs MLflow's migrations (seconds), so the first store of an MLflow
version is built once into the user cache folder (:mod:`cifar_search.user_cache`) and every
later store is a copy of it. MLflow is imported only inside these functions.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import time
from pathlib import Path

from cifar_search.errors import debugging
from cifar_search.stores import create_own_store
from cifar_search.workspace import MLFLOW_DB, Workspace

logging.getLogger("mlflow").setLevel(logging.ERROR)
logging.getLogger("alembic").setLevel(logging.ERROR)  # the migrations' lines
if not debugging():  # MLflow logs a database error with its traceback before raising it: the
    # error reaches the user as one line naming the store (cli), the traceback with --debug
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)

#: Artifact root of the cached template store; a copy gets its workspace's root instead.
TEMPLATE_ARTIFACT_ROOT = "file:///cifar-search-template/artifacts"


def create_mlflow_store(workspace: Workspace) -> None:
    """Make the workspace's folders and its ``mlflow.db``, whole, unless --tracking-uri names
    another (idempotent; a copy of the user cache's template store: see :func:`create_store`).

    Raises:
        ConfigError: an ``mlflow.db`` is there but is no MLflow database (e.g. empty).
    """
    workspace.create()
    if workspace.tracking_uri is None:
        create_own_store(workspace, MLFLOW_DB, functools.partial(
            create_store, artifact_root=workspace.artifacts.as_uri()))


def create_store(url: str, artifact_root: str) -> None:
    """Make an empty SQL tracking store at ``url`` with ``artifact_root`` as its default
    artifact root and no live experiment (every run goes to a sweep's experiment; see
    :func:`create_mlflow_store`).

    A SQLite file is a copy of this MLflow version's template in the user cache folder
    (:mod:`cifar_search.user_cache`), its "Default" experiment moved to ``artifact_root``:
    building the schema runs MLflow's migrations, seconds. The first store of a version builds
    the template that way, or builds in place where the cache cannot be written.
    """
    template = _store_template() if url.startswith("sqlite:///") else None
    if template is None:
        _build_store(url, artifact_root)
        return
    target = url.removeprefix("sqlite:///")
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

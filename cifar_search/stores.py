"""Check a workspace's stores before use: each is reachable and is what it claims to be.

``run`` calls :func:`check_stores` before it creates anything, so that a wrong flag stops it
with one line naming the flag, and no empty study or folder is left behind. Read-only commands
call :func:`check_storage` and :func:`check_tracking`, which also say whether the store exists
yet: a store that does not exist reads as empty and is not created.

A store may be:

* a SQLite file (the workspace's ``optuna.db`` / ``mlflow.db``, or ``sqlite:///FILE``): absent
  (it is then created whole, later) or a SQLite database holding its kind's tables;
* another database URL (``postgresql://``, ``mysql://``, …): its driver is installed and the
  server accepts a connection within :data:`CONNECT_TIMEOUT_S`;
* for MLflow, also an ``http(s)://`` tracking server that answers within a few seconds.

Every message names the flag that chose the store and masks the URL's password.

The workspace's own store files are created here too, whole (:func:`create_own_store`), each
by its adapter's initialiser: :func:`cifar_search.engines.optuna.study.create_optuna_store`,
:func:`cifar_search.tracking.store.create_mlflow_store`.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import socket
import sqlite3
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cifar_search.errors import ConfigError, clipped, shown
from cifar_search.workspace import MLFLOW_DB, OPTUNA_DB, Workspace, masked, sqlite_url

#: Seconds a database server has to accept a connection.
CONNECT_TIMEOUT_S = 5.0
#: Seconds a tracking server has to answer one request.
HTTP_TIMEOUT_S = 2.0
#: Requests a tracking server gets before it is declared unreachable.
HTTP_TRIES = 3
#: Seconds before the second request (doubled before each later one).
HTTP_BACKOFF_S = 0.25
#: What every SQLite database file starts with.
SQLITE_HEADER = b"SQLite format 3\x00"
#: The request a tracking server answers when /health does not: MLflow's REST API.
API_PROBE = "/api/2.0/mlflow/experiments/search?max_results=1"
#: Database kinds MLflow tracks in, besides sqlite.
DATABASES = ("postgresql", "mysql", "mssql")
#: The package to install for each database driver SQLAlchemy may ask for.
DRIVERS = {"psycopg2": "psycopg2-binary", "psycopg": "psycopg[binary]", "MySQLdb": "mysqlclient",
           "pymysql": "pymysql", "pyodbc": "pyodbc", "asyncpg": "asyncpg", "pg8000": "pg8000",
           "oracledb": "oracledb"}
#: The longest reason quoted from a driver or server.
MAX_REASON = 200


@dataclass(frozen=True)
class StoreKind:
    """A kind of store: its name and the tables that show a database is one."""

    name: str
    tables: frozenset[str]
    allowed: str  # the URLs its flag takes


OPTUNA = StoreKind("Optuna", frozenset({"studies", "trials", "version_info"}),
                   "give sqlite:///FILE.db or a database URL such as "
                   "postgresql://USER@HOST/DB")
MLFLOW = StoreKind("MLflow", frozenset({"experiments", "runs", "metrics"}),
                   "give sqlite:///FILE.db, a database URL (postgresql://, mysql://, mssql://) "
                   "or a tracking server http(s)://HOST:PORT (MLflow's file store is not "
                   "supported)")

#: The workspace's own store files, by kind.
OWN_FILES = {OPTUNA_DB: OPTUNA, MLFLOW_DB: MLFLOW}


def check_stores(workspace: Workspace) -> None:
    """Check, before anything is created, that the workspace folder can be written and that
    both stores are reachable and what they claim to be; creates nothing.

    Raises:
        ConfigError: keyed by the flag at fault (``--workspace``, ``--storage``,
            ``--tracking-uri`` or ``MLFLOW_TRACKING_URI``), one line, password masked.

    Example:
        >>> check_stores(Workspace.at("ws", tracking_uri="garbage"))  # doctest: +SKIP
        ConfigError: --tracking-uri: 'garbage' is not a tracking URI cifar_search can use; ...
    """
    check_workspace(workspace)
    check_checkpoints(workspace)
    _check_distinct(workspace)
    check_storage(workspace)
    check_tracking(workspace)
    for name, owned in ((OPTUNA_DB, workspace.storage is None),
                        (MLFLOW_DB, workspace.own_tracking)):
        path = workspace.root / name
        if owned and path.is_file() and not os.access(path, os.W_OK):
            raise ConfigError("--workspace", f"{workspace.shown}/{name} is read-only; give a "
                              "workspace you can write to")


def check_workspace(workspace: Workspace) -> None:
    """The workspace is a folder that can be written, or can be made (creates nothing)."""
    root, named = workspace.root, workspace.shown
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == root else f"is inside {existing}, which is a file"
        raise ConfigError("--workspace", f"{named} {where}; give a folder (it is made if "
                          "need be)")
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "is read-only" if existing == root else f"cannot be made in {existing}, " \
            "which is read-only"
        raise ConfigError("--workspace", f"{named} {where}; give a folder you can write to")


def check_checkpoints(workspace: Workspace) -> None:
    """The ``--checkpoints`` folder, when given, is a folder that can be written, or can be
    made (creates nothing)."""
    folder = workspace.checkpoints
    if folder is None:
        return
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        what = "is not a folder" if not existing.is_dir() else "cannot be written"
        raise ConfigError("--checkpoints", f"{folder}: {existing} {what}; give a folder every "
                          "machine can write to")


def check_storage(workspace: Workspace) -> bool:
    """Check the Optuna storage; return whether it holds Optuna's tables yet (False: a
    SQLite file not made yet, or a database Optuna has not used).

    Raises:
        ConfigError: keyed ``--storage`` (or ``--workspace`` for its own optuna.db).
    """
    if workspace.storage is None:
        return check_own_store(workspace, OPTUNA_DB)
    return _check_database(workspace.storage, OPTUNA, workspace.storage_flag)


def check_tracking(workspace: Workspace) -> bool:
    """Check the MLflow store; return whether it exists yet (False: a SQLite file not made
    yet, or a database MLflow has not used; a tracking server always exists).

    Raises:
        ConfigError: keyed ``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` (``--workspace``
            for its own mlflow.db).
    """
    flag, uri = workspace.tracking_flag, workspace.tracking_uri
    if uri is None:
        return check_own_store(workspace, MLFLOW_DB)
    scheme = _scheme(uri)
    if scheme in ("http", "https"):
        check_server(uri, flag)
        return True
    if uri.startswith("databricks"):
        return True  # MLflow's own client resolves and authenticates it
    if scheme == "sqlite" or scheme in DATABASES:
        return _check_database(uri, MLFLOW, flag)
    raise ConfigError(flag, f"{shown(masked(uri))} is not a tracking URI cifar_search can use; "
                      f"{MLFLOW.allowed}")


def check_own_store(workspace: Workspace, name: str) -> bool:
    """The workspace's own store file ``name`` (``optuna.db`` or ``mlflow.db``) is absent
    (return False) or a database of its kind (True); errors are keyed ``--workspace``."""
    return check_sqlite_file(workspace.root / name, OWN_FILES[name], "--workspace",
                             f"{workspace.shown}/{name}")


def create_own_store(workspace: Workspace, name: str,
                     initialise: Callable[[str], None]) -> None:
    """Create the workspace's own store file ``name`` (``optuna.db`` or ``mlflow.db``) whole,
    unless it is there already: checked first (:func:`check_own_store`), then built by
    ``initialise(url)`` (:func:`create_whole`).

    Raises:
        ConfigError: a file ``name`` is there but is no database of its kind (e.g. empty).
    """
    check_own_store(workspace, name)
    create_whole(workspace.root / name, initialise)


def create_whole(path: Path, initialise: Callable[[str], None]) -> None:
    """Create a SQLite store whole or not at all: its schema is built in a temporary file that
    is then linked into place, so that a kill during the first schema migration cannot leave a
    half-built database behind (and a concurrent creator's database is never replaced).

    Args:
        path: the store file; nothing is done when it exists.
        initialise: builds an empty store at the SQLite URL it is given.
    """
    if path.exists():
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        initialise(sqlite_url(partial))
        os.link(partial, path)
    except FileExistsError:
        pass
    finally:
        partial.unlink(missing_ok=True)


def check_sqlite_file(path: Path, kind: StoreKind, flag: str, named: str) -> bool:
    """A SQLite store file is absent (return False) or a database of ``kind`` (True); reads
    it without writing. Messages name the file as ``named`` (its URL masked, or its path).

    Raises:
        ConfigError: it is a folder, empty, not SQLite, damaged, or another kind's database.
    """
    fix = f"move it aside to start afresh, or give another {flag}"
    if not path.exists():
        return False
    if not path.is_file():
        raise ConfigError(flag, f"{named} is a folder, not an {kind.name} database; {fix}")
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise ConfigError(flag, f"{named} cannot be read ({error.strerror})") from None
    if not header:
        raise ConfigError(flag, f"{named} is empty (0 bytes), not an {kind.name} database; "
                          f"{fix}")
    if header != SQLITE_HEADER:
        raise ConfigError(flag, f"{named} is not a SQLite database, so not an {kind.name} "
                          f"database; {fix}")
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro",
                                                uri=True, timeout=30)) as db:
            tables = {row[0] for row in
                      db.execute("select name from sqlite_master where type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise ConfigError(flag, f"{named} is a damaged SQLite database ({error}), not an "
                          f"{kind.name} database; {fix}") from None
    if not kind.tables <= tables:
        other = next((k for k in (OPTUNA, MLFLOW) if k != kind and k.tables <= tables), None)
        needed = ", ".join(sorted(kind.tables))
        what = (f"an {other.name} database" if other else
                f"a SQLite database without {kind.name}'s tables ({needed})")
        raise ConfigError(flag, f"{named} is {what}, not an {kind.name} database; {fix}")
    return True


def check_server(uri: str, flag: str) -> None:
    """An MLflow tracking server answers at ``uri`` within :data:`HTTP_TIMEOUT_S` (after at
    most :data:`HTTP_TRIES` requests): ``/health`` with 200, else its REST API.

    Raises:
        ConfigError: nothing answers, or what answers is no MLflow server.
    """
    parts = urllib.parse.urlsplit(uri)
    netloc = parts.netloc.rpartition("@")[2]
    base = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    headers = {}
    if parts.username is not None:
        user, password = parts.username, parts.password or ""
        pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    answer: int | str = ""
    for attempt in range(HTTP_TRIES):
        answer = _answer(base + "/health", headers)
        if isinstance(answer, int):
            break
        if attempt + 1 < HTTP_TRIES:
            time.sleep(HTTP_BACKOFF_S * 2 ** attempt)
    else:
        raise ConfigError(flag, f"{masked(uri)}: no tracking server answers ({answer}; "
                          f"{HTTP_TRIES} tries); start it, or track in the workspace without "
                          f"{flag}")
    if answer == 200:
        return
    api = _answer(base + API_PROBE, headers)
    if api not in (200, 401, 403):  # 401/403: a server that wants credentials MLflow has
        raise ConfigError(flag, f"{masked(uri)}: answers HTTP {answer} at /health and {api} at "
                          f"{API_PROBE.split('?')[0]}; not an MLflow tracking server")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _scheme(url: str) -> str:
    """``postgresql+psycopg2://…`` -> ``postgresql``; empty when there is no ``scheme://``."""
    head, found, _ = url.partition("://")
    return head.split("+")[0].lower() if found else ""


def _reason(error: BaseException) -> str:
    """One short line from a driver's or server's error, password masked."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return clipped(masked(lines[0]), MAX_REASON) if lines else type(cause).__name__


def _sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///FILE`` URL (relative to the working directory, as for
    SQLAlchemy); None for an in-memory database."""
    rest = url.partition("://")[2].partition("?")[0]
    database = rest.removeprefix("/")
    return None if database in ("", ":memory:") else Path(database)


def _identity(url: str) -> str:
    """What tells two store URLs apart: a SQLite file's full path, else the URL."""
    if _scheme(url) == "sqlite":
        path = _sqlite_path(url)
        return f"sqlite:{path.resolve()}" if path is not None else url
    return url


def _check_distinct(workspace: Workspace) -> None:
    """Optuna and MLflow each have a database of their own (both keep an alembic_version
    table, of different schemas)."""
    if _identity(workspace.optuna_url) == _identity(workspace.mlflow_url):
        raise ConfigError("--storage", f"{workspace.shown_optuna_url} is also the MLflow store "
                          f"({workspace.tracking_flag}); give each its own database")


def _check_database(url: str, kind: StoreKind, flag: str) -> bool:
    """A database URL: a SQLite file is checked as a file, any other database is connected
    to. Return whether it holds ``kind``'s tables."""
    if _scheme(url) == "sqlite":
        path = _sqlite_path(url)
        if path is None:
            return False
        if not path.parent.is_dir():
            raise ConfigError(flag, f"{masked(url)}: folder {path.parent} does not exist")
        return check_sqlite_file(path, kind, flag, masked(url))
    return _check_server_database(url, kind, flag)


def _check_server_database(url: str, kind: StoreKind, flag: str) -> bool:
    """A database server: its driver is installed and it accepts a connection in time."""
    import sqlalchemy
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    scheme = _scheme(url)
    try:
        engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    except NoSuchModuleError:
        raise ConfigError(flag, f"{shown(masked(url))}: unknown database kind {scheme!r}; "
                          f"{kind.allowed}") from None
    except ArgumentError:
        raise ConfigError(flag, f"{shown(masked(url))} is not a database URL; "
                          f"{kind.allowed}") from None
    except ImportError as error:
        driver = error.name or "driver"
        fix = DRIVERS.get(driver, driver)
        if driver == "psycopg":
            fix = '"cifar_search[postgres]" (or pip install "psycopg[binary]")'
        raise ConfigError(flag, f"{masked(url)}: its database driver ({driver}) is not "
                          f"installed; pip install {fix}") from None
    outcome: dict[str, object] = {}

    def connect() -> None:
        try:
            with engine.connect() as connection:
                outcome["tables"] = set(sqlalchemy.inspect(connection).get_table_names())
        except Exception as error:  # noqa: BLE001 (any driver's failure, reported below)
            outcome["error"] = error

    thread = threading.Thread(target=connect, name="cifar-store-check", daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT_S)
    if thread.is_alive():
        raise ConfigError(flag, f"{masked(url)}: no answer within {CONNECT_TIMEOUT_S:g} s; is the "
                          "database server running and reachable?")
    engine.dispose()
    if "error" in outcome:
        raise ConfigError(flag, f"{masked(url)}: cannot connect "
                          f"({_reason(outcome['error'])})")  # type: ignore[arg-type]
    return kind.tables <= outcome["tables"]  # type: ignore[operator]


def _tls() -> ssl.SSLContext:
    """The TLS settings MLflow's client takes from its environment variables."""
    cafile = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH")
    context = ssl.create_default_context(cafile=cafile)
    if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        context.check_hostname = False  # the user asked MLflow not to verify
        context.verify_mode = ssl.CERT_NONE
    return context


def _answer(url: str, headers: dict[str, str]) -> int | str:
    """The HTTP status a server answers ``url`` with, or why no answer came."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=HTTP_TIMEOUT_S, context=_tls()) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except urllib.error.URLError as error:
        return _why(error.reason)
    except (OSError, http.client.HTTPException, ValueError) as error:
        return _why(error)


def _why(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"no answer within {HTTP_TIMEOUT_S:g} s"
    if isinstance(reason, socket.gaierror):
        return "unknown host"
    return clipped(masked(str(reason)), MAX_REASON) or type(reason).__name__

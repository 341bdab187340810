"""A real PostgreSQL and a real ``mlflow server`` on 127.0.0.1 for the several-machines tests.

:func:`postgres` starts PostgreSQL 15 (Debian's binaries, any version) on a data folder of its
own, owned by the ``postgres`` user when the tests run as root, on a free port and a private
socket folder; :func:`mlflow_server` starts MLflow's tracking server with one web worker, backed
by a database of that PostgreSQL, with its artifacts in a folder. Both are stopped when their
context ends. Without PostgreSQL's binaries the tests are skipped, except under ``CI=true``,
where that is a failure (CI installs them; see ``.ci/run``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator

import pytest

def _pg_bin() -> Path:
    """Where Debian puts PostgreSQL's server binaries (the newest version installed)."""
    if os.environ.get("CIFAR_SEARCH_PG_BIN"):
        return Path(os.environ["CIFAR_SEARCH_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
#: Seconds the servers have to answer (MLflow's server is slow to start on a busy machine).
START_S = 120.0


def require_postgres() -> None:
    """Skip (fail under ``CI=true``) when PostgreSQL's binaries are missing."""
    if (PG_BIN / "initdb").exists():
        return
    reason = f"PostgreSQL's binaries are not in {PG_BIN} (apt-get install postgresql)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL: its port, and the URL of each database made in it."""

    port: int

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create(self, database: str) -> str:
        """Make an empty database; return its URL."""
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'create database "{database}"'))
        engine.dispose()
        return self.url(database)


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as ``postgres`` then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server on 127.0.0.1 for the duration of the block (trust authentication,
    user ``postgres``)."""
    require_postgres()
    folder = Path(tempfile.mkdtemp(prefix="cifar-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                 "-A", "trust", "--no-sync"]),
                   check=True, capture_output=True)
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={sockets} "
               "-c fsync=off -c max_connections=200")
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options,
                                 "-l", str(folder / "log"), "-w", "-t", "60", "start"]),
                   check=True, capture_output=True)
    try:
        yield Postgres(port)
    finally:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m",
                                     "immediate", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def mlflow_server(backend: str, artifacts: Path) -> Iterator[str]:
    """``mlflow server`` with one web worker on a free port of 127.0.0.1, its runs in
    ``backend`` and its artifacts in ``artifacts``; yields its URL."""
    port = free_port()
    log = open(artifacts.parent / "mlflow-server.log", "w")
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend,
         "--artifacts-destination", str(artifacts), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--allowed-hosts", f"127.0.0.1:{port},localhost:{port}"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while not _answers(url + "/health"):
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError("mlflow server did not start: "
                                   + (artifacts.parent / "mlflow-server.log").read_text()[-2000:])
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, 15)
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
        log.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False

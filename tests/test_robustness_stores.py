"""Stores are checked before use: a wrong --workspace, --storage or --tracking-uri stops a
command with one line naming the flag, never shows a password, and creates nothing; read-only
commands on a workspace without stores create none.

Real files (empty, text, the other kind's database), real SQLite, a port nothing listens on and
small HTTP servers on 127.0.0.1.
"""

import http.server
import socket
import sqlite3
import threading

import pytest

from cifar_search.errors import ConfigError
from cifar_search.stores import check_stores
from cifar_search.workspace import Workspace
from tests.helpers import cli_inline

SWEEP = """
from cifar_search import Budget, Sweep

sweep = Sweep(name="stores", space={"parameters": {"optimizer": {"grid": ["sgd", "adam"]}}},
              model="intro", budget=Budget(epochs=1, batch_size=16), sampler="grid")
"""
SECRET = "s3cret"
POSTGRES = f"postgresql://u:{SECRET}@127.0.0.1:1/db"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listing(folder):
    """Every path under ``folder`` with its size."""
    return sorted((str(p.relative_to(folder)), p.stat().st_size if p.is_file() else -1)
                  for p in folder.rglob("*"))


def sqlite_with(path, *tables):
    with sqlite3.connect(path) as db:
        for table in tables:
            db.execute(f"create table {table} (id integer)")


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A working directory with a sweep file, ``empty.db`` (0 bytes), ``notes.db`` (text),
    ``other.db`` (another program's SQLite), ``mlflowish.db`` (MLflow's tables) and ``afile``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "sweep.py").write_text(SWEEP)
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "notes.db").write_text("SELECT * FROM studies;\nnot a database\n")
    sqlite_with(tmp_path / "other.db", "customers")
    sqlite_with(tmp_path / "mlflowish.db", "experiments", "runs", "metrics")
    (tmp_path / "afile").write_text("a file, not a folder")
    return tmp_path


def refused(workspace):
    with pytest.raises(ConfigError) as caught:
        check_stores(workspace)
    return str(caught.value)


# --------------------------------------------------------------------------------------------
# check_stores: each bad store, one line naming its flag
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("workspace, storage, tracking, message", [
    ("afile", None, None, "--workspace: afile is a file; give a folder"),
    ("afile/ws", None, None, "--workspace: afile/ws is inside "),
    ("ws", "sqlite:///empty.db", None,
     "--storage: sqlite:///empty.db is empty (0 bytes), not an Optuna database"),
    ("ws", "sqlite:///notes.db", None,
     "--storage: sqlite:///notes.db is not a SQLite database, so not an Optuna database"),
    ("ws", "sqlite:///other.db", None,
     "--storage: sqlite:///other.db is a SQLite database without Optuna's tables"),
    ("ws", "sqlite:///mlflowish.db", None,
     "--storage: sqlite:///mlflowish.db is an MLflow database, not an Optuna database"),
    ("ws", "sqlite:///no/such/folder/optuna.db", None,
     "--storage: sqlite:///no/such/folder/optuna.db: folder no/such/folder does not exist"),
    ("ws", "garbage", None, "--storage: 'garbage' is not a database URL; give sqlite:///"),
    ("ws", POSTGRES, None, "--storage: postgresql://u:***@127.0.0.1:1/db: "),
    ("ws", None, "garbage", ("--tracking-uri: 'garbage' is not a tracking URI cifar_search "
                             "can use; give sqlite:///FILE.db, a database URL")),
    ("ws", None, "file:./runs", "--tracking-uri: 'file:./runs' is not a tracking URI"),
    ("ws", None, "runs/", "--tracking-uri: 'runs/' is not a tracking URI"),
    ("ws", None, "sqlite:///empty.db",
     "--tracking-uri: sqlite:///empty.db is empty (0 bytes), not an MLflow database"),
    ("ws", None, POSTGRES, "--tracking-uri: postgresql://u:***@127.0.0.1:1/db: "),
    ("ws", "sqlite:///same.db", "sqlite:///same.db",
     "--storage: sqlite:///same.db is also the MLflow store (--tracking-uri); give each its own"),
])
def test_a_bad_store_is_refused_in_one_line_naming_its_flag(folder, workspace, storage,
                                                            tracking, message):
    before = listing(folder)
    error = refused(Workspace.at(workspace, storage, tracking))
    assert error.startswith(message) and "\n" not in error and SECRET not in error
    assert listing(folder) == before  # nothing created


@pytest.mark.parametrize("name, content, message", [
    ("optuna.db", b"", ("--workspace: ws/optuna.db is empty (0 bytes), not an Optuna database; "
                        "move it aside to start afresh, or give another --workspace")),
    ("mlflow.db", b"", "--workspace: ws/mlflow.db is empty (0 bytes), not an MLflow database"),
    ("mlflow.db", b"SQLite format 3\x00" + b"\x00" * 84,
     "--workspace: ws/mlflow.db is a damaged SQLite database"),
])
def test_a_workspace_store_that_is_no_store_is_refused(folder, name, content, message):
    (folder / "ws").mkdir()
    (folder / "ws" / name).write_bytes(content)
    before = listing(folder)
    assert refused(Workspace.at("ws")).startswith(message)
    assert listing(folder) == before


def test_a_tracking_server_nobody_runs_is_refused_within_seconds(folder):
    uri = f"http://u:{SECRET}@127.0.0.1:{free_port()}"
    error = refused(Workspace.at("ws", tracking_uri=uri))
    assert error.startswith("--tracking-uri: http://u:***@127.0.0.1:")
    assert "no tracking server answers (connection refused; 3 tries)" in error
    assert SECRET not in error and not (folder / "ws").exists()


def test_the_tracking_uri_from_the_environment_is_named_as_such(folder, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "garbage")
    assert refused(Workspace.at("ws")).startswith("MLFLOW_TRACKING_URI: 'garbage' is not")


def test_good_stores_pass_and_nothing_is_created(folder):
    sqlite_with(folder / "studies.db", "studies", "trials", "version_info")
    before = listing(folder)
    check_stores(Workspace.at("ws"))
    check_stores(Workspace.at("ws", "sqlite:///studies.db", "sqlite:///new-runs.db"))
    check_stores(Workspace.at("ws", "sqlite:///new.db"))
    assert listing(folder) == before


# --------------------------------------------------------------------------------------------
# tracking servers: what answers must be MLflow; the password never goes into a URL
# --------------------------------------------------------------------------------------------


class Server(http.server.ThreadingHTTPServer):
    """Answers every GET with ``routes[path]`` (404 when absent); records what it was asked."""

    def __init__(self, routes):
        self.routes, self.requests = routes, []
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self):
        return f"http://u:{SECRET}@127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # the standard library's name
        self.server.requests.append((self.path, self.headers.get("Authorization")))
        status = self.server.routes.get(self.path.split("?")[0], 404)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(routes):
        server = Server(routes)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_tracking_server_that_answers_health_passes(folder, serve):
    server = serve({"/health": 200})
    check_stores(Workspace.at("ws", tracking_uri=server.url + "/"))
    assert [path for path, _ in server.requests] == ["/health"]
    assert server.requests[0][1].startswith("Basic ")  # credentials as a header, not a path
    assert not (folder / "ws").exists()


def test_a_tracking_server_that_wants_credentials_passes(folder, serve):
    server = serve({"/api/2.0/mlflow/experiments/search": 401})
    check_stores(Workspace.at("ws", tracking_uri=server.url))


def test_a_web_server_that_is_not_mlflow_is_refused(folder, serve):
    server = serve({})
    error = refused(Workspace.at("ws", tracking_uri=server.url))
    assert error.startswith("--tracking-uri: http://u:***@127.0.0.1:")
    assert error.endswith("answers HTTP 404 at /health and 404 at "
                          "/api/2.0/mlflow/experiments/search; not an MLflow tracking server")


# --------------------------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("status",), ("best",), ("check",),
                                     ("export", "--format", "json", "--output", "-"),
                                     ("compare",)])
def test_read_only_commands_on_a_missing_workspace_create_nothing(folder, command):
    before = listing(folder)
    result = cli_inline(command[0], "sweep.py", *command[1:], "--workspace", "typo",
                        "--storage", "sqlite:///typo.db", cwd=folder, check=False)
    assert result.returncode == 1
    assert ("no study 'stores'" in result.stderr or "nothing to compare" in result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1
    assert listing(folder) == before


@pytest.mark.parametrize("command", ["status", "best", "check", "export", "compare"])
def test_read_only_commands_refuse_an_empty_study_store(folder, command):
    (folder / "ws").mkdir()
    (folder / "ws" / "optuna.db").write_bytes(b"")
    before = listing(folder)
    result = cli_inline(command, "sweep.py", "--workspace", "ws", cwd=folder, check=False)
    assert result.returncode == 1
    assert result.stderr == ("error: --workspace: ws/optuna.db is empty (0 bytes), not an "
                             "Optuna database; move it aside to start afresh, or give another "
                             "--workspace\n")
    assert listing(folder) == before


@pytest.mark.parametrize("command", [("check",), ("export", "--format", "json", "--output", "-")])
def test_reading_a_study_whose_runs_store_is_gone_creates_nothing(folder, command):
    import optuna

    (folder / "ws").mkdir()
    optuna.create_study(study_name="stores", storage="sqlite:///ws/optuna.db")
    before = listing(folder)
    cli_inline(command[0], "sweep.py", *command[1:], "--workspace", "ws", cwd=folder,
               check=False)
    assert listing(folder) == before  # no mlflow.db, no experiment, no lock file


def test_read_only_commands_never_show_a_password(folder):
    result = cli_inline("status", "sweep.py", "--workspace", "ws", "--storage", POSTGRES,
                        cwd=folder, check=False)
    assert result.returncode == 1 and result.stderr.startswith("error: --storage: ")
    assert SECRET not in result.stdout + result.stderr and not (folder / "ws").exists()


# ``run`` checks the stores before it creates anything (the data is not even looked at).


@pytest.mark.parametrize("flags, message", [
    (("--workspace", "afile"), "error: --workspace: afile is a file"),
    (("--workspace", "ws", "--storage", "sqlite:///empty.db"),
     "error: --storage: sqlite:///empty.db is empty (0 bytes)"),
    (("--workspace", "ws", "--storage", "sqlite:///notes.db"),
     "error: --storage: sqlite:///notes.db is not a SQLite database"),
    (("--workspace", "ws", "--storage", POSTGRES), "error: --storage: postgresql://u:***@"),
    (("--workspace", "ws", "--tracking-uri", "garbage"),
     "error: --tracking-uri: 'garbage' is not a tracking URI"),
    (("--workspace", "ws", "--storage", "sqlite:///mlflowish.db"),
     "error: --storage: sqlite:///mlflowish.db is an MLflow database, not an Optuna database"),
])
def test_run_refuses_bad_stores_before_creating_anything(folder, flags, message):
    before = listing(folder)
    result = cli_inline("run", "sweep.py", "--data", "no-such-data", *flags, cwd=folder,
                        check=False)
    assert result.returncode == 1 and result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and SECRET not in result.stderr
    assert listing(folder) == before


def test_run_refuses_an_unreachable_tracking_server_quickly(folder):
    uri = f"http://u:{SECRET}@127.0.0.1:{free_port()}"
    result = cli_inline("run", "sweep.py", "--data", "no-such-data", "--workspace", "ws",
                        "--tracking-uri", uri, cwd=folder, check=False)
    assert result.stderr.startswith("error: --tracking-uri: http://u:***@127.0.0.1:")
    assert SECRET not in result.stderr and not (folder / "ws").exists()


@pytest.mark.parametrize("name", ["optuna.db", "mlflow.db"])
def test_run_refuses_an_empty_store_in_the_workspace(folder, name):
    (folder / "ws").mkdir()
    (folder / "ws" / name).write_bytes(b"")
    before = listing(folder)
    result = cli_inline("run", "sweep.py", "--data", "no-such-data", "--workspace", "ws",
                        cwd=folder, check=False)
    assert result.stderr.startswith(f"error: --workspace: ws/{name} is empty (0 bytes)")
    assert listing(folder) == before

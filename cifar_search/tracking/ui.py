"""The MLflow UI on a workspace's runs: the server command, its URL, and serving it.

The server is MLflow's own (``python -m mlflow server``), the lightest that serves the UI, on
127.0.0.1 only; it inherits this process's environment (see :mod:`.reader`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping

from cifar_search.tracking.links import experiment_link, ui_address
from cifar_search.tracking.reader import RunReader
from cifar_search.workspace import Workspace

#: Seconds the UI server is given to answer before ``ui`` gives up.
UI_START_SECONDS = 180


def ui_command(workspace: Workspace, port: int) -> tuple[list[str], dict[str, str]]:
    """The lightest server that serves the UI on the workspace's runs: one web worker and no
    job execution (the job runner and its consumers are for MLflow's GenAI jobs), 127.0.0.1
    only; (command, environment)."""
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
               workspace.mlflow_url, "--default-artifact-root", workspace.artifacts.as_uri(),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    return command, {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def ui_url(port: int, experiment_id: str | None = None, view: str | None = None) -> str:
    """Where a user lands: the experiment's runs (model-training view) in the shared view
    ``view`` when given (see :mod:`cifar_search.tracking.view`), or all experiments (see
    :mod:`cifar_search.tracking.links`)."""
    return ui_address(port, experiment_link(experiment_id, view))


def wait_for_ui(server: subprocess.Popen, port: int, seconds: float = UI_START_SECONDS) -> bool:
    """Whether the server answers on ``port`` within ``seconds`` (False: it exited first)."""
    return answers(server, f"http://127.0.0.1:{port}/health", seconds)


def answers(server: subprocess.Popen, url: str, seconds: float) -> bool:
    """Whether ``server`` answers ``url`` within ``seconds``, asked every quarter second
    (False: it exited first, or the time ran out)."""
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.25)
    return False


def serve_ui(workspace: Workspace, port: int, experiment: str | None,
             say: Callable[[str], None]) -> int:
    """Run the MLflow UI on the workspace's runs at 127.0.0.1:``port``; once it answers, say
    the URL of ``experiment``'s runs (all experiments when None or not found). The server's
    output goes to ``logs/ui.log`` in the workspace. Return the server's exit code (0 after
    Ctrl-C).

    Raises:
        ConfigError: the server did not answer (a port in use, say).
    """
    from cifar_search.errors import ConfigError, debugging
    from cifar_search.tracking.view import VIEW_KEY, VIEW_TAG

    reader = RunReader.of(workspace, experiment) if experiment else None
    experiment_id = reader.experiment_id if reader else None
    tags: Mapping[str, str] = {}
    if reader is not None and reader.client is not None and experiment_id is not None:
        tags = reader.client.get_experiment(experiment_id).tags
    view = VIEW_KEY if VIEW_TAG in tags else None
    command, env = ui_command(workspace, port)
    log = workspace.root / "logs" / "ui.log"  # the server's own lines (the terminal: --debug)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        if debugging():
            server = subprocess.Popen(command, env=env)
        else:
            server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    # SIGTERM stops the server as Ctrl-C does (else the server would outlive this process,
    # holding the port)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if not wait_for_ui(server, port):
            server.terminate()
            server.wait()
            raise ConfigError("--port", f"the MLflow UI did not answer on 127.0.0.1:{port} "
                              f"(is the port taken? its log: {log})")
        say(f"MLflow UI: {ui_url(port, experiment_id, view)} (Ctrl-C to stop)")
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM, as a KeyboardInterrupt."""
    raise KeyboardInterrupt

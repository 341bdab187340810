"""optuna-dashboard on a sweep's study: the server command, its URL, and serving it, alone
(``dashboard``) or beside a run (``run --dashboard``).

The server is optuna-dashboard's own (``optuna_dashboard.run_server``, wsgiref) in a process of
its own, on 127.0.0.1 only, reading the Optuna storage the sweep's engine names (see
``live_study`` in :mod:`cifar_search.engines.base`). The storage URL reaches it through its
environment, never its command line (a PostgreSQL password would show in ``ps``). Its own
lines go to ``logs/dashboard.log`` in the workspace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from cifar_search.engines.base import LiveStudy

#: The port the dashboard listens on unless told (optuna-dashboard's own default).
DASHBOARD_PORT = 8080

#: Seconds the server is given to answer before the command gives up.
DASHBOARD_START_SECONDS = 60

#: The environment variable that hands the storage URL to the server process.
STORAGE_ENV = "CIFAR_SEARCH_DASHBOARD_STORAGE"

#: The server process: optuna-dashboard's public ``run_server`` on the storage in
#: :data:`STORAGE_ENV`, at 127.0.0.1 and the port given as its one argument.
SERVER_CODE = ("import os, sys, optuna_dashboard; optuna_dashboard.run_server("
               f"os.environ[{STORAGE_ENV!r}], host='127.0.0.1', port=int(sys.argv[1]))")


def dashboard_command(storage: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The server's (command, environment): the storage in the environment only.

    Example:
        >>> command, env = dashboard_command("sqlite:///ws/optuna.db", 8080)
        >>> command[-1], env[STORAGE_ENV]
        ('8080', 'sqlite:///ws/optuna.db')
    """
    return [sys.executable, "-c", SERVER_CODE, str(port)], {**os.environ, STORAGE_ENV: storage}


def dashboard_url(port: int, study_id: int | None = None) -> str:
    """The study's page (its history, intermediate values, slice, parallel coordinates,
    importances and trials); the list of studies while the study does not exist.

    Example:
        >>> dashboard_url(8080, 3)
        'http://127.0.0.1:8080/dashboard/studies/3'
        >>> dashboard_url(8080)
        'http://127.0.0.1:8080/dashboard'
    """
    page = "/dashboard" if study_id is None else f"/dashboard/studies/{study_id}"
    return f"http://127.0.0.1:{port}{page}"


def wait_for_dashboard(server: subprocess.Popen, port: int,
                       seconds: float = DASHBOARD_START_SECONDS) -> bool:
    """Whether the server answers on ``port`` within ``seconds`` (False: it exited first)."""
    from cifar_search.tracking.ui import answers

    return answers(server, f"http://127.0.0.1:{port}/api/meta", seconds)


def start_dashboard(live: LiveStudy, port: int, log: Path) -> subprocess.Popen:
    """Start the server and wait until it answers.

    Raises:
        ConfigError: it did not answer (a port in use, say); it is stopped.
    """
    from cifar_search.errors import ConfigError, debugging

    command, env = dashboard_command(live.storage, port)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        shown = debugging()  # --debug: the server's lines on the terminal
        # Ctrl-C is this process's to act on (a run's first one ends trials gracefully): the
        # server ignores it and is stopped by stop_dashboard
        server = subprocess.Popen(command, env=env, preexec_fn=_ignore_interrupts,
                                  stdout=None if shown else output,
                                  stderr=None if shown else subprocess.STDOUT)
    try:
        answered = wait_for_dashboard(server, port)
    except BaseException:
        stop_dashboard(server)
        raise
    if not answered:
        stop_dashboard(server)
        raise ConfigError("--port", f"optuna-dashboard did not answer on 127.0.0.1:{port} (is "
                          f"the port taken? its log: {log})")
    return server


def stop_dashboard(server: subprocess.Popen) -> None:
    """Stop the server and wait for it (its port is free afterwards)."""
    if server.poll() is None:
        server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def serve_dashboard(live: LiveStudy, port: int, log: Path,
                    say: Callable[[str], None]) -> int:
    """Run the dashboard until Ctrl-C or SIGTERM (either stops the server: none outlives
    this process holding the port); once it answers, say the study's URL. Return the
    server's exit code (0 after Ctrl-C or SIGTERM).

    Raises:
        ConfigError: the server did not answer.
    """
    previous = signal.signal(signal.SIGTERM, _interrupt)
    server = None
    try:
        server = start_dashboard(live, port, log)
        say(f"Optuna dashboard: {dashboard_url(port, live.study_id)} (Ctrl-C to stop)")
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None:
            stop_dashboard(server)
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def beside_run(live: LiveStudy, port: int, log: Path, name: str,
               say: Callable[[str], None]) -> Iterator[None]:
    """The dashboard while the block runs (a sweep): its URL said first, the server stopped
    when the block ends, however it ends (a SIGTERM outside the session's own handling, e.g.
    while the data is prepared, interrupts the block as Ctrl-C does, rather than ending this
    process with the server left behind).

    Raises:
        ConfigError: the server did not answer (before the block runs).
    """
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server = start_dashboard(live, port, log)
        try:
            note = "" if live.study_id is not None else (f" (study {name!r} is listed once "
                                                         "created)")
            say(f"Optuna dashboard: {dashboard_url(port, live.study_id)}{note}")
            yield
        finally:
            stop_dashboard(server)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _ignore_interrupts() -> None:
    """In the server process: Ctrl-C at the terminal is not its signal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM, as a KeyboardInterrupt."""
    raise KeyboardInterrupt

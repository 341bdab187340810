"""optuna-dashboard on a sweep's study: ``dashboard SWEEP`` and ``run --dashboard``, and the
parent run's summary refreshed during a run."""

import json
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from cifar_search.reports.dashboard import STORAGE_ENV, dashboard_command, dashboard_url
from cifar_search.search.states import Attr, Tag
from cifar_search.session import refresh
from cifar_search.session.refresh import RefreshRule, SummaryRefresh
from tests.helpers import cli_env, cli_inline
from tests.test_ui import browser, free_port, interruptible, rendered

SWEEP = """
from cifar_search import Budget, Data, Sweep

sweep = Sweep(name="dash-grid", model="dropout", sampler="grid", seed=2, workers=1,
              space={"parameters": {"dropout_rate": {"grid": [0.2, 0.6]}}},
              data=Data(validation=0.25), budget=Budget(epochs=1, batch_size=16))
"""


def test_the_url_points_at_the_study_and_the_storage_stays_off_the_command_line():
    assert dashboard_url(8080, 4) == "http://127.0.0.1:8080/dashboard/studies/4"
    assert dashboard_url(8080) == "http://127.0.0.1:8080/dashboard"
    secret = "postgresql://me:secret@db/optuna"
    command, env = dashboard_command(secret, 8080)
    assert env[STORAGE_ENV] == secret and not any("secret" in part for part in command)
    assert "host='127.0.0.1'" in command[-2] and command[-1] == "8080"


def test_a_trial_links_its_run_on_a_tracking_server_only(tmp_path):
    from cifar_search.tracking.reader import RunReader

    server = RunReader("http://mlflow.example:5000/")
    server.experiment_id = "7"
    assert server.run_link("ab12") == ("http://mlflow.example:5000/#/experiments/7/runs/ab12"
                                       "?workflowType=machine_learning")
    assert RunReader(f"sqlite:///{tmp_path}/mlflow.db").run_link("ab12") is None


@pytest.mark.parametrize(("args", "message"), [
    (["--engine", "kerastuner"],
     "error: --engine: engine 'kerastuner' keeps no Optuna study for optuna-dashboard to show; "
     "the dashboard shows the studies of engine 'optuna'\n"),
    (["--engine", "sklearn"],
     "error: --engine: engine 'sklearn' keeps no Optuna study for optuna-dashboard to show; "
     "the dashboard shows the studies of engine 'optuna'\n"),
    ([], "error: sweep.py: no study 'dash-grid' in sqlite:///{ws}/optuna.db yet; start it with "
         "python -m cifar_search run sweep.py --workspace ws (or run it with --dashboard to "
         "watch it from its start)\n"),
    (["--port", "70000"], "error: argument --port: 70000 is not a port; give a whole number "
                          "from 1 to 65535\n"),
])
def test_the_dashboard_is_refused_in_one_line_without_an_optuna_study(tmp_path, args, message):
    (tmp_path / "sweep.py").write_text(SWEEP)
    result = cli_inline("dashboard", "sweep.py", "--workspace", "ws", *args, cwd=tmp_path,
                        check=False)
    assert result.returncode in (1, 2)
    assert result.stderr.splitlines(keepends=True)[0] == message.format(ws=tmp_path / "ws")


def test_run_refuses_a_dashboard_for_an_engine_without_a_study(tmp_path):
    (tmp_path / "sweep.py").write_text(SWEEP)
    result = cli_inline("run", "sweep.py", "--workspace", "ws", "--engine", "kerastuner",
                        "--dashboard", cwd=tmp_path, check=False)
    assert result.stderr == ("error: --dashboard: engine 'kerastuner' keeps no Optuna study for "
                             "optuna-dashboard to show; the dashboard shows the studies of "
                             "engine 'optuna'\n")


def studies(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=10) as answer:
        return json.load(answer)["study_summaries"]


def port_free(port):
    """Whether a new server could listen on ``port`` (as servers do, past the closed
    connections' TIME_WAIT); raises while a server holds it."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    return True


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory, tiny_data):
    """A two-trial sweep run with ``--dashboard`` and a refresh after each trial; what the
    parent run and the dashboard showed while its last trial was ending."""
    from cifar_search.engines.optuna.recorder import Recorder

    folder = tmp_path_factory.mktemp("dashboard")
    (folder / "sweep.py").write_text(SWEEP)
    port, seen, refreshers = free_port(), {}, []
    finish, made = Recorder.finish, SummaryRefresh.__init__

    def watched(self, running, *args, **kwargs):
        if running.number == 1:  # the last trial, before it is told
            # a refresh still being drawn (a slow machine) is logged now, as the loop's next
            # turn would
            if refreshers[0].thread is not None:
                refreshers[0].thread.join()
                refreshers[0].poll()
            client, parent = self.tracker.client, self.tracker.parent_id
            seen["artifacts"] = {item.path for item in client.list_artifacts(parent)}
            seen["note"] = client.get_run(parent).data.tags.get(Tag.NOTE, "")
            seen["studies"] = studies(port)
        return finish(self, running, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Recorder, "finish", watched)
        patch.setattr(SummaryRefresh, "__init__",
                      lambda self, *args: (refreshers.append(self), made(self, *args))[1])
        patch.setattr(refresh, "RULE", RefreshRule(every=1, min_seconds=0))
        result = cli_inline("run", "sweep.py", "--data", tiny_data, "--workspace", "ws",
                            "--dashboard", "--dashboard-port", port, cwd=folder)
    return folder, port, seen, result.stdout


@pytest.mark.processes
def test_run_dashboard_shows_the_study_live_and_the_summary_is_refreshed_during_the_run(
        finished_sweep):
    folder, port, seen, stdout = finished_sweep
    assert stdout.splitlines()[0] == (f"Optuna dashboard: http://127.0.0.1:{port}/dashboard "
                                      "(study 'dash-grid' is listed once created)")
    assert [study["study_name"] for study in seen["studies"]] == ["dash-grid"]
    assert {"trials.csv", "summary.json", "optimization_history.png"} <= seen["artifacts"]
    # the description with its top 5, as it stood with the first trial finished
    assert seen["note"].startswith("Study **dash-grid** (sweep.py)")
    assert "**Trials:** 1 (1 complete)" in seen["note"]
    assert port_free(port)  # the dashboard went with the run


@pytest.mark.processes
def test_the_dashboard_command_serves_the_trials_and_stops_on_sigterm(finished_sweep):
    folder, _, _, _ = finished_sweep
    chromium = browser()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "cifar_search", "dashboard", "sweep.py",
                               "--workspace", "ws", "--port", str(port)], cwd=folder,
                              env=cli_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, preexec_fn=interruptible)
    try:
        lines = [server.stdout.readline() for _ in range(2)]
        study_id = studies(port)[0]["study_id"]
        url = f"http://127.0.0.1:{port}/dashboard/studies/{study_id}"
        assert lines[1] == f"Optuna dashboard: {url} (Ctrl-C to stop)\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies/{study_id}",
                                    timeout=30) as answer:
            trials = json.load(answer)["trials"]
        page = rendered(chromium, url) if chromium else None
    finally:
        server.send_signal(signal.SIGTERM)  # as a service manager stops it
        assert server.wait(timeout=30) == 0
    assert port_free(port)
    assert [(t["number"], t["state"]) for t in trials] == [(n, "Complete") for n in range(2)]
    attrs = {a["key"]: a["value"] for a in trials[0]["user_attrs"]}
    assert attrs[Attr.STATE] == "complete" and len(attrs[Attr.MLFLOW_RUN_ID]) == 32
    if page is None:
        pytest.skip("no Chromium on PATH (apt-get install chromium)")
    assert "dash-grid" in page and "dropout_rate" in page

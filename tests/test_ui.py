"""``python -m cifar_search ui``: the lightest MLflow server, and a URL printed once it answers
that lands in the model-training view."""

import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from cifar_search.tracking.mlflow import ui_command, ui_url
from cifar_search.workspace import Workspace
from tests.helpers import cli_env


def test_the_url_lands_in_the_model_training_view_of_the_experiment():
    assert ui_url(5000, "7") == ("http://127.0.0.1:5000/#/experiments/7/runs?"
                                 "workflowType=machine_learning")
    assert ui_url(5000) == "http://127.0.0.1:5000/#/experiments?workflowType=machine_learning"


def test_the_server_has_one_web_worker_and_no_job_execution(tmp_path):
    command, env = ui_command(Workspace.at(tmp_path / "ws"), 5000)
    assert command[command.index("--workers") + 1] == "1"
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.processes
def test_ui_prints_its_url_once_the_server_answers(tmp_path):
    port = free_port()
    ui = subprocess.Popen([sys.executable, "-m", "cifar_search", "ui", "--workspace", "ws",
                           "--port", str(port)], cwd=tmp_path, env=cli_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = [ui.stdout.readline() for _ in range(2)]
        url = f"http://127.0.0.1:{port}/#/experiments?workflowType=machine_learning"
        assert lines[1].strip() == f"MLflow UI: {url} (Ctrl-C to stop)"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200  # answering when the URL is printed
    finally:
        ui.send_signal(signal.SIGINT)
        assert ui.wait(timeout=60) == 0

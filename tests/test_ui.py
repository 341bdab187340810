"""``python -m cifar_search ui``: the lightest MLflow server, and a URL printed once it answers
that lands in the model-training view."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from cifar_search.tracking.ui import ui_command, ui_url
from cifar_search.tracking.view import runs_view
from cifar_search.workspace import Workspace
from tests.helpers import cli_env, cli_inline


def test_the_url_lands_in_the_model_training_view_of_the_experiment():
    assert ui_url(5000, "7") == ("http://127.0.0.1:5000/#/experiments/7/runs?"
                                 "workflowType=machine_learning")
    assert ui_url(5000, "7", "cifar-search") == (
        "http://127.0.0.1:5000/#/experiments/7/runs?workflowType=machine_learning"
        "&viewStateShareKey=cifar-search")
    assert ui_url(5000) == "http://127.0.0.1:5000/#/experiments?workflowType=machine_learning"


def test_the_view_expands_the_parent_runs_and_shows_the_objective_and_swept_parameters():
    view = json.loads(runs_view(["p1"], ["dropout_rate", "activation"], "val_accuracy"))
    assert view["runsExpanded"] == {"p1": True}
    assert view["selectedColumns"][:5] == [
        "metrics.`objective`", "tags.`best`", "tags.`state`", "params.`dropout_rate`",
        "params.`activation`"]


def test_the_server_has_one_web_worker_and_no_job_execution(tmp_path):
    command, env = ui_command(Workspace.at(tmp_path / "ws"), 5000)
    assert command[command.index("--workers") + 1] == "1"
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"


def interruptible():
    """Ctrl-C reaches the child even when this test runs where SIGINT is ignored (a
    background job): Python turns SIGINT into KeyboardInterrupt only if it is not ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# the tiny learning rate runs first (the grid's order for seed 2); the large one diverges and
# is pruned after its first of two epochs
SWEEP = """
from cifar_search import Budget, Data, Pruner, Sweep

sweep = Sweep(name="ui-grid", model="dropout", sampler="grid", seed=2,
              space={"parameters": {"learning_rate": {"grid": [1e-7, 0.05]}}},
              pruner=Pruner("median", {"n_startup_trials": 1, "n_warmup_steps": 0}),
              data=Data(validation=0.25), budget=Budget(epochs=2, batch_size=16))
"""

#: The description's links to trial runs, as the UI renders them.
TRIAL_HREF = re.compile(r'href="(#/experiments/\d+/runs/\w+\?workflowType=machine_learning)"')


def assert_model_training(page):
    """The page is in MLflow's model-training mode: its sidebar has the model registry, not
    GenAI's evaluation runs."""
    assert ">Model registry<" in page and "Evaluation runs" not in page

#: The browsers the test drives, by the names Debian's packages install.
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser():
    """A headless Chromium; None where none is installed (CI installs one: then a failure)."""
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None and os.environ.get("CI"):
        pytest.fail("no Chromium on PATH; .ci/run installs Debian's chromium package")
    return found


def rendered(chromium, url, screenshot=None):
    """The page's DOM once its scripts have run (and a screenshot when asked)."""
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--window-size=1900,900", "--virtual-time-budget=20000"]
    if screenshot:
        subprocess.run([*command, f"--screenshot={screenshot}", url], capture_output=True,
                       timeout=180, check=True)
    return subprocess.run([*command, "--dump-dom", url], capture_output=True, text=True,
                          timeout=180, check=True).stdout


@pytest.mark.processes
def test_the_printed_url_shows_the_trials_and_marks_the_best_in_a_real_browser(tmp_path,
                                                                              tiny_data):
    chromium = browser()
    if chromium is None:
        pytest.skip("no Chromium on PATH (apt-get install chromium)")
    (tmp_path / "sweep.py").write_text(SWEEP)
    cli_inline("run", "sweep.py", "--data", tiny_data, "--workspace", "ws", cwd=tmp_path)
    port = free_port()
    ui = subprocess.Popen([sys.executable, "-m", "cifar_search", "ui", "sweep.py",
                           "--workspace", "ws", "--port", str(port)], cwd=tmp_path,
                          env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True, preexec_fn=interruptible)
    try:
        lines = [ui.stdout.readline() for _ in range(2)]
        url = lines[1].split()[2]
        assert lines[1] == f"MLflow UI: {url} (Ctrl-C to stop)\n"
        assert url.startswith(f"http://127.0.0.1:{port}/#/experiments/")
        assert url.endswith("/runs?workflowType=machine_learning&viewStateShareKey=cifar-search")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
            assert answer.status == 200  # answering when the URL is printed
        page = rendered(chromium, url)
        status = json.loads(cli_inline("status", "sweep.py", "--json", "--workspace", "ws",
                                       cwd=tmp_path).stdout)
        pruned = next(trial for trial in status["trials"] if trial["state"] == "pruned")
        server = url.split("#")[0]
        parent, best_run, pruned_run = (rendered(chromium, server + link) for link in (
            status["mlflow_run_link"], TRIAL_HREF.search(page)[1], pruned["mlflow_run_link"]))
        # the registered model's page (the models:/ui-grid the run prints, in the UI)
        model_page = rendered(chromium, f"{server}#/models/ui-grid")
    finally:
        ui.send_signal(signal.SIGTERM)  # as a service manager stops it
        assert ui.wait(timeout=60) == 0
    with socket.socket() as sock:  # the server went with it: no one listens on its port (the
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # pages' closed connections
        sock.bind(("127.0.0.1", port))  # may linger in TIME_WAIT)
    best = min((trial for trial in status["trials"] if trial["state"] == "complete"),
               key=lambda trial: trial["value"])["number"]
    for trial in status["trials"]:  # every trial's run is listed, the best one named so
        name = f"trial-{trial['number']:04d}" + (" (best)" if trial["number"] == best else "")
        assert f">{name}<" in page
    assert "Study <strong>ui-grid</strong>" in page  # the parent's description
    assert ">objective<" in page and ">learning_rate<" in page  # the view's columns
    for opened in (page, parent, best_run, pruned_run):  # from the links the tool writes
        assert_model_training(opened)
    assert "Study <strong>ui-grid</strong>" in parent and ">trial-0000 (best)<" in best_run
    assert 'title="pruned"' in pruned_run and 'title="epoch 1 of 2"' in pruned_run
    # its one version, holding the alias best, described and tagged with its trial
    assert '<a href="#/models/ui-grid/versions/1">Version 1</a>' in model_page
    assert ">@&nbsp;best<" in model_page
    assert ">trial_run<" in model_page and f">: trial-{best:04d}<" in model_page
    assert f">trial-{best:04d}, the best of study" in model_page  # its description, cut

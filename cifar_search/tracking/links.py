"""Every link to the MLflow UI that the tool prints or writes, built here; pure.

MLflow 3's UI has two modes, GenAI ("Evaluation runs", traces) and model training (runs,
charts, models). It picks the mode of every page from the URL's ``workflowType`` query
parameter, else from what the browser last chose with the sidebar's switch (its local storage,
GenAI on a first visit); the experiment tag ``mlflow.experimentKind`` does not decide it. So
each link carries ``workflowType=machine_learning``: a run, model or experiment page opened
from our links shows the runs, whatever the browser chose before.

Links inside the UI's markdown (a run's description) are relative, ``#/…``: the page they
are on gives the server's address.

Example:
    >>> run_link("1", "abc")
    '#/experiments/1/runs/abc?workflowType=machine_learning'
    >>> ui_address(5000, experiment_link("1"))
    'http://127.0.0.1:5000/#/experiments/1/runs?workflowType=machine_learning'
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

#: The query that keeps MLflow's UI in its model-training mode.
TRAINING_MODE = {"workflowType": "machine_learning"}

#: The port ``python -m cifar_search ui`` serves on unless told otherwise.
DEFAULT_PORT = 5000


def _page(path: str, **query: str) -> str:
    """``#/<path>?workflowType=machine_learning[&…]``."""
    return f"#/{path}?{urlencode({**TRAINING_MODE, **query})}"


def run_link(experiment_id: str, run_id: str) -> str:
    """A run's page (a trial or a study's parent run)."""
    return _page(f"experiments/{experiment_id}/runs/{run_id}")


def experiment_link(experiment_id: str | None = None, view: str | None = None) -> str:
    """An experiment's runs, in the shared view ``view`` when given (see
    :mod:`cifar_search.tracking.view`); all experiments when ``experiment_id`` is None."""
    if experiment_id is None:
        return _page("experiments")
    shared = {"viewStateShareKey": view} if view else {}
    return _page(f"experiments/{experiment_id}/runs", **shared)


def model_link(name: str, version: str | int | None = None) -> str:
    """A registered model's page, or one of its versions'."""
    path = f"models/{quote(name, safe='')}"
    return _page(path if version is None else f"{path}/versions/{version}")


def ui_address(port: int, link: str) -> str:
    """A link as a full address on the UI served at 127.0.0.1:``port``."""
    return f"http://127.0.0.1:{port}/{link}"


def markdown_link(text: str, link: str | None) -> str:
    """``[text](link)`` for the UI's markdown; the bare text without a link."""
    return f"[{text}]({link})" if link else text

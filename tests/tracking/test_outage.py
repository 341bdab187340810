"""A tracking server that stops answering is said once per outage, with MLflow's retry window."""

import logging
import socket

import pytest

from cifar_search.tracking.outage import RETRY_LOGGER, announced, retry_window_s


@pytest.mark.parametrize("retries, factor, jitter, window", [
    (0, 2, 1.0, 0.0), (1, 2, 1.0, 0.0),   # one try: no wait
    (2, 2, 0.0, 4.0), (3, 1, 0.0, 6.0),
    (7, 2, 0.0, 244.0),                   # the last wait is capped at 120 s
    (7, 2, 1.0, 249.0),
])
def test_the_retry_window_follows_urllib3s_backoff(retries, factor, jitter, window):
    assert retry_window_s(retries, factor, jitter) == window


def test_nothing_is_announced_for_a_store_that_is_no_server():
    said = []
    with announced(said.append, "sqlite:///x.db"):
        logging.getLogger(RETRY_LOGGER).warning("Retrying (Retry(total=1)) after ...")
    assert said == []


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_server_that_does_not_answer_is_said_once_with_the_retry_window(monkeypatch):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
    uri = f"http://user:secret@127.0.0.1:{free_port()}"
    said = []
    with announced(said.append, uri):
        for _ in range(2):  # two requests in one outage: one line
            with pytest.raises(MlflowException):
                MlflowClient(tracking_uri=uri).get_experiment_by_name("x")
    assert said == [f"the MLflow tracking server at http://user:***@127.0.0.1:{uri[-5:]} is "
                    "not answering; MLflow retries for up to 0s (MLFLOW_HTTP_REQUEST_MAX_RETRIES,"
                    " MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR), then the run stops with the error"]
    assert logging.getLogger(RETRY_LOGGER).propagate  # as it was

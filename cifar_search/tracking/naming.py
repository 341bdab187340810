"""How a sweep's runs are named and sourced in MLflow: ``trial-0003`` (``(best)`` for the best
trial), and the sweep file as each run's source (the UI's Source column)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cifar_search.search.states import Tag

if TYPE_CHECKING:
    from cifar_search.config.sweep import Sweep

__all__ = ["source_tags", "trial_run_name"]


def source_tags(sweep: Sweep) -> dict[str, str]:
    """The sweep file as the run's source (the UI's Source column)."""
    return {Tag.SOURCE_NAME: str(sweep.source or sweep.name), Tag.SOURCE_TYPE: "LOCAL"}


def trial_run_name(number: int, best: bool = False) -> str:
    """A trial's run name, ``trial-0003`` (``trial-0003 (best)`` for the best trial)."""
    return f"trial-{number:04d}" + (" (best)" if best else "")


def run_url(server: str, experiment_id: str, run_id: str) -> str:
    """A run's page on an MLflow server, in the model-training view (MLflow 3 opens runs in
    its GenAI view otherwise).

    Example:
        >>> run_url("http://mlflow:5000/", "7", "ab12")
        'http://mlflow:5000/#/experiments/7/runs/ab12?workflowType=machine_learning'
    """
    return (f"{server.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
            "?workflowType=machine_learning")

"""Sweeps and helpers shared by the sklearn engine's tests."""

from __future__ import annotations

from cifar_search import Budget, Data, Objective, Space, Sweep
from cifar_search.workspace import Workspace

#: The lesson's optimizer grid, with momentum for SGD only, on a tiny intro CNN.
OPTIMIZER_GRID = {
    "optimizer": {"grid": ["sgd", "rmsprop", "adam"]},
    "momentum": {"grid": [0.0, 0.9], "when": {"optimizer": "sgd"}},
    "filters": 4,
    "units": 8,
}


def make_sweep(parameters, source=None, **settings):
    """A small sklearn-engine sweep of the intro CNN: 1 epoch, 2 folds; ``cv``, ``n_jobs`` and
    ``as_written`` go to the engine's options."""
    engine_options = {"cv": 2, "n_jobs": 1}
    engine_options.update({k: settings.pop(k) for k in ("cv", "n_jobs", "as_written")
                           if k in settings})
    options = dict(name="tiny-sk", model="intro", budget=Budget(epochs=1, batch_size=16),
                   objective=Objective("val_accuracy"), sampler="grid", engine="sklearn",
                   options={"sklearn": engine_options}, seed=3)
    options.update(settings)
    if source is not None:
        options["data"] = Data(source=str(source))
    return Sweep(space=Space.from_dict({"parameters": parameters}), **options)


def client_for(workspace: Workspace):
    """An MLflow client of the workspace's store."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=workspace.mlflow_url)

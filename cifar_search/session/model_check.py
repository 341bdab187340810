"""The sweep's own model, built before any study or run exists: once on the data's image shape
for the space's first point and once per branch of a conditional space. What it builds for the
first point joins the study's fingerprint (:attr:`cifar_search.config.user_model.Model.
architecture`).

It runs in this process: a sweep file that defines a Keras model (a custom layer, a
``from keras import layers``) has imported TensorFlow when it was loaded, so building the model
here costs a tenth of a second, where a worker would first wait for the fork server to import
TensorFlow (seconds).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cifar_search.config.sweep import Sweep
from cifar_search.config.user_model import check_points
from cifar_search.model import data
from cifar_search.session.data import prepare_data
from cifar_search.workspace import Workspace


def prepared(sweep: Sweep, workspace: Workspace) -> tuple[Sweep, Path]:
    """The sweep (its own model checked: :func:`checked_model`) and its decoded-data folder,
    before any study or run is made."""
    data_dir = prepare_data(sweep, workspace)
    return checked_model(sweep, data_dir), data_dir


def checked_model(sweep: Sweep, data_dir: Path) -> Sweep:
    """The sweep, its own model checked and its architecture's digest set (a built-in family:
    the sweep as it is).

    Raises:
        ConfigError: ``model``: the function raised, returned no keras.Model, or a compiled
            model while the space sweeps the compile's keys.
    """
    model = sweep.user_model
    if model is None:
        return sweep
    from cifar_search.model import user

    meta = data.read_meta(data_dir)
    classes = len(sweep.data.classes) if sweep.data.classes else len(meta["classes"])
    shape = tuple(int(n) for n in meta["image_shape"])
    digest = user.check(model, check_points(sweep.space), sweep.space.swept(), shape,
                        classes, sweep.source)
    return dataclasses.replace(sweep, model=dataclasses.replace(model, architecture=digest))

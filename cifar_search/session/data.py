"""The sweep's data, decoded into the shared cache (the user's, or the ``--checkpoints``
folder's) and checked against the sweep before any study or run is made."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cifar_search.config.sweep import Sweep
from cifar_search.errors import DataError
from cifar_search.model import data
from cifar_search.model.sizes import smallest_side_of
from cifar_search.workspace import Workspace


def prepare_data(sweep: Sweep, workspace: Workspace) -> Path:
    """The sweep's decoded-data folder, after everything that can fail on bad input (before
    any study or run is made)."""
    data_dir = data.prepared(sweep.data.source, workspace.decoded_data, sweep.data.labels,
                             workspace.data_cache)
    workspace.create()
    check_image_size(sweep, data.read_meta(data_dir))
    train = data.read_meta(data_dir)["train"]
    subset = sweep.data.subset
    source = data.resolve_source(sweep.data.source) or "CIFAR-10"
    if subset is not None and subset > train:
        raise DataError(f"{sweep.source}: data.subset: {subset} is more than the "
                        f"{train} training images in {source}")
    every = data.read_meta(data_dir)["classes"]
    missing = [name for name in sweep.data.classes or () if name not in every]
    if missing:
        raise DataError(f"{sweep.source}: data.classes: {missing[0]!r} is not a class of "
                        f"{source}; its classes are {', '.join(every)}")
    return data_dir


#: Training images a check run (``run --check``) trains on, unless ``--subset`` says otherwise.
CHECK_SUBSET = 300


def check_subset(sweep: Sweep, train: int) -> Sweep:
    """A check run's sweep: on :data:`CHECK_SUBSET` images (all ``train`` training images when
    the data has fewer), unless it names its own subset.

    Example:
        >>> sweep = Sweep("s", {"parameters": {"dropout_rate": 0.3}}, "dropout")
        >>> check_subset(sweep, 60).data.subset, check_subset(sweep, 50_000).data.subset
        (60, 300)
    """
    if sweep.data.subset is not None:
        return sweep
    return dataclasses.replace(sweep, data=dataclasses.replace(
        sweep.data, subset=min(CHECK_SUBSET, train)))


def check_image_size(sweep: Sweep, meta: dict) -> None:
    """Refuse data whose images are too small for the sweep's model family (``meta``: the
    data cache's :func:`~cifar_search.model.data.read_meta`)."""
    height, width = (int(n) for n in meta["image_shape"][:2])
    smallest = smallest_side_of(sweep)
    if min(height, width) < smallest:
        raise DataError(f"{sweep.source}: model {sweep.model!r} takes images of at least "
                        f"{smallest}x{smallest} pixels; the data's are {width}x{height} "
                        f"({meta['source']}); choose another model family or larger images")

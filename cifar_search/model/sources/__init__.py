"""Data sources: which one to use, and reading it safely into uint8 arrays.

Accepted sources (``Data(source=...)``, ``--data`` or ``$CIFAR_SEARCH_DATA``; none means
CIFAR-10 downloaded by Keras):

* the official ``cifar-10-python.tar.gz`` or ``cifar-100-python.tar.gz`` (fine or coarse
  labels), or its extracted ``cifar-10-batches-py/`` or ``cifar-100-python/`` folder (or a
  folder that contains it): :mod:`.batches`;
* an image folder ``train/<class>/*``, ``test/<class>/*``, as a directory (possibly inside one
  top-level folder) or as a ``.tar.gz`` / ``.tgz`` / ``.tar`` archive: :mod:`.images`;
* an ``.npz`` of ``x_train, y_train, x_test, y_test`` (and optionally ``class_names``):
  :mod:`.npz`, its arrays checked by :mod:`.arrays`;
* a Keras name, ``cifar10``, ``cifar100``, ``mnist`` or ``fashion_mnist``: :mod:`.named`;
* a function returning the arrays, ``sweep.py:load`` or ``package.module:load``:
  :mod:`.functions`.

The layout of a file or folder is recognised by looking inside, not by the name: a folder by
:mod:`.folders`, an .npz by its zip signature, an archive by :mod:`.archives` (streamed, never
extracted to disk). Only regular files and folders
are read (:mod:`.files`), and :class:`Limits` bound what a source may cost in memory and time.
Bad data is refused with one :class:`~cifar_search.errors.DataError` line. Caching what is
decoded is :mod:`cifar_search.model.data`'s part, not this package's.

Example:
    >>> resolve_source("~/cifar-10-python.tar.gz").name
    'cifar-10-python.tar.gz'
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cifar_search import errors
from cifar_search.errors import DataError
from cifar_search.model.sources import archives, base, files, folders, npz
from cifar_search.model.sources.base import ACCEPTED, ENV_VAR, MIB, Decoded, Limits
from cifar_search.model.sources.batches import BATCH_FILES, TRAIN_BATCHES
from cifar_search.model.sources.files import check_source
from cifar_search.model.sources.functions import FunctionSource, function_source, reference_of
from cifar_search.model.sources.images import IMAGE_SUFFIXES, SPLITS
from cifar_search.model.sources.named import (
    CIFAR10_CLASSES,
    KerasDataset,
    download,
    keras_dataset,
)

__all__ = ["ACCEPTED", "BATCH_FILES", "CIFAR10_CLASSES", "ENV_VAR", "IMAGE_SUFFIXES", "MIB",
           "SPLITS", "TRAIN_BATCHES", "Decoded", "FunctionSource", "KerasDataset", "Limits",
           "Source", "check_source", "download", "read", "resolve_source", "signature"]

#: A resolved source: a file or folder, a Keras data set, a function, or None (CIFAR-10 by
#: Keras).
Source = Path | KerasDataset | FunctionSource | None


def resolve_source(path: str | os.PathLike | Callable[[], Any] | None) -> Source:
    """Choose the data source.

    Args:
        path: the ``--data`` value (or the sweep's ``data.source``), or None.

    Returns:
        ``path`` if given, else ``$CIFAR_SEARCH_DATA`` if set and not empty, else None
        (CIFAR-10 downloaded by Keras). A Keras name (``mnist``) is a :class:`KerasDataset`
        (``./mnist`` is the path); ``file.py:name`` or ``module:name`` that is not an existing
        path is a :class:`FunctionSource`; anything else a path, whose existence is not
        checked here (:func:`check_source` does that).

    Raises:
        DataError: ``path`` is empty or blank (it would otherwise mean a download), or
            ``$CIFAR_SEARCH_DATA`` is blank but not empty.
    """
    if callable(path):
        return reference_of(path)
    if path is not None:
        chosen, origin = os.fspath(path), "data source"
    else:
        chosen, origin = os.environ.get(ENV_VAR, ""), ENV_VAR
        if not chosen:
            return None
    if not chosen.strip():
        raise DataError(f"{origin}: {errors.shown(chosen)} is an empty path; give the path of "
                        f"{ACCEPTED}, or no data source to download CIFAR-10")
    named = keras_dataset(chosen)
    if named is not None:
        return named
    function = function_source(chosen)
    if function is not None and not os.path.lexists(chosen):
        return function
    return Path(chosen).expanduser()


def signature(path: Path) -> tuple:
    """What changes when the source at a resolved, checked ``path`` changes: its layout, root,
    number of files, size and latest modification time (a folder), or its size and
    modification time (a file)."""
    if path.is_dir():
        layout, root = folders.locate(path)
        return (layout, str(root), *folders.tree_signature(root))
    stat = path.stat()
    return ("file", stat.st_size, stat.st_mtime_ns)


def read(source: Path, limits: Limits, labels: str = "fine") -> Decoded:
    """Decode a checked source (:func:`check_source`): a folder, an .npz or an archive.

    Args:
        source: a file or folder in an accepted layout.
        limits: what the source may cost.
        labels: CIFAR-100's ``fine`` or ``coarse`` labels (other data: ``fine`` only).

    Returns:
        Its uint8 images, int32 labels and class names.

    Raises:
        DataError: the source is not in an accepted layout, is unreadable, past a limit, or
            its training images are of fewer than ``limits.min_classes`` classes.
    """
    if source.is_dir():
        decoded = folders.read_folder(source, limits, labels)
    elif _is_npz(source):
        base.fine_only(labels, str(source))
        decoded = npz.read_npz(source, limits)
    else:
        decoded = archives.read_archive(source, limits, labels)
    present = np.unique(decoded.y_train)
    if len(present) < limits.min_classes:
        shown = ", ".join(errors.shown(decoded.classes[k]) for k in present)
        raise DataError(f"{source}: every training image is of class {shown or 'none'}; a data "
                        f"set needs images of at least {limits.min_classes} classes")
    return decoded


def _is_npz(path: Path) -> bool:
    """Whether a file starts as a zip archive (an .npz) does."""
    with files.open_regular(path, str(path), None) as handle:
        try:
            return npz.is_npz(handle.read(len(npz.ZIP_MAGIC)))
        except OSError as error:
            raise DataError(f"{path}: cannot be read ({base.reason(error)})") from None

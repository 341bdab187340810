"""Data sources: which one to use, and reading it safely into uint8 arrays.

Accepted sources (``--data PATH`` or ``$CIFAR_SEARCH_DATA``; none means a Keras download):

* the official ``cifar-10-python.tar.gz``, or its extracted ``cifar-10-batches-py/`` folder
  (or a folder that contains it): :mod:`.batches`;
* an image folder ``train/<class>/*``, ``test/<class>/*``, as a directory (possibly inside one
  top-level folder) or as a ``.tar.gz`` / ``.tgz`` / ``.tar`` archive: :mod:`.images`.

The layout is recognised by looking inside, not by the name: a folder by :mod:`.folders`, an
archive by :mod:`.archives` (streamed, never extracted to disk). Only regular files and folders
are read (:mod:`.files`), and :class:`Limits` bound what a source may cost in memory and time.
Bad data is refused with one :class:`~cifar_search.errors.DataError` line. Caching what is
decoded is :mod:`cifar_search.model.data`'s part, not this package's.

Example:
    >>> resolve_source("~/cifar-10-python.tar.gz").name
    'cifar-10-python.tar.gz'
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cifar_search import errors
from cifar_search.errors import DataError
from cifar_search.model.sources import archives, folders
from cifar_search.model.sources.base import ACCEPTED, ENV_VAR, MIB, Decoded, Limits, reason
from cifar_search.model.sources.batches import BATCH_FILES, TRAIN_BATCHES
from cifar_search.model.sources.files import check_source
from cifar_search.model.sources.images import IMAGE_SUFFIXES, SPLITS

__all__ = ["ACCEPTED", "BATCH_FILES", "CIFAR10_CLASSES", "ENV_VAR", "IMAGE_SUFFIXES", "MIB",
           "SPLITS", "TRAIN_BATCHES", "Decoded", "Limits", "check_source", "download", "read",
           "resolve_source", "signature"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")


def resolve_source(path: str | os.PathLike | None) -> Path | None:
    """Choose the data source.

    Args:
        path: the ``--data`` value, or None.

    Returns:
        ``path`` if given, else ``$CIFAR_SEARCH_DATA`` if set and not empty, else None
        (download with Keras). Existence is not checked here; :func:`check_source` does that.

    Raises:
        DataError: ``path`` is empty or blank (it would otherwise mean a download), or
            ``$CIFAR_SEARCH_DATA`` is blank but not empty.
    """
    if path is not None:
        chosen, origin = os.fspath(path), "data source"
    else:
        chosen, origin = os.environ.get(ENV_VAR, ""), ENV_VAR
        if not chosen:
            return None
    if not chosen.strip():
        raise DataError(f"{origin}: {errors.shown(chosen)} is an empty path; give the path of "
                        f"{ACCEPTED}, or no data source to download CIFAR-10")
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


def read(source: Path, limits: Limits) -> Decoded:
    """Decode a checked source (:func:`check_source`), a folder or an archive.

    Args:
        source: a file or folder in an accepted layout.
        limits: what the source may cost.

    Returns:
        Its uint8 images, int32 labels and class names.

    Raises:
        DataError: the source is not in an accepted layout, is unreadable, past a limit, or
            its training images are of fewer than ``limits.min_classes`` classes.
    """
    if source.is_dir():
        decoded = folders.read_folder(source, limits)
    else:
        decoded = archives.read_archive(source, limits)
    labels = np.unique(decoded.y_train)
    if len(labels) < limits.min_classes:
        shown = ", ".join(errors.shown(decoded.classes[k]) for k in labels)
        raise DataError(f"{source}: every training image is of class {shown or 'none'}; a data "
                        f"set needs images of at least {limits.min_classes} classes")
    return decoded


def download() -> Decoded:
    """CIFAR-10 from keras.datasets, or a DataError saying how to supply it."""
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as error:  # noqa: BLE001 (no network, proxy, broken download: one error)
        raise DataError(
            f"CIFAR-10 could not be downloaded ({type(error).__name__}: {reason(error)}); "
            f"supply it with --data PATH or {ENV_VAR}=PATH pointing at {ACCEPTED}"
        ) from None
    return Decoded(np.asarray(x_train, np.uint8), np.asarray(y_train, np.int32).ravel(),
                   np.asarray(x_test, np.uint8), np.asarray(y_test, np.int32).ravel(),
                   CIFAR10_CLASSES)

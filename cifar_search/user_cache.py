"""The per-user cache folder: what is costly to build and the same for every workspace (an
empty migrated MLflow store per MLflow version, see
:func:`cifar_search.tracking.store.create_store`; decoded data sets in ``data/``, see
:mod:`cifar_search.model.data_cache`). Deleting it loses nothing: it is rebuilt.

``$CIFAR_SEARCH_CACHE`` when set, else ``$XDG_CACHE_HOME/cifar_search``, else
``~/.cache/cifar_search``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: The environment variable that moves the cache folder.
CACHE_ENV = "CIFAR_SEARCH_CACHE"


def cache_folder(environ: Mapping[str, str] = os.environ) -> Path:
    """The cache folder that ``environ`` names (it may not exist yet).

    Example:
        >>> cache_folder({"XDG_CACHE_HOME": "/tmp/c"}).as_posix()
        '/tmp/c/cifar_search'
    """
    if environ.get(CACHE_ENV):
        return Path(environ[CACHE_ENV]).expanduser()
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "cifar_search"


def data_folder(environ: Mapping[str, str] = os.environ) -> Path:
    """The cache folder's ``data/``: decoded data sets, shared by every workspace.

    Example:
        >>> data_folder({"CIFAR_SEARCH_CACHE": "/c"}).as_posix()
        '/c/data'
    """
    return cache_folder(environ) / "data"

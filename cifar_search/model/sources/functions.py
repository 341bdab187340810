"""Data returned by a function: ``Data(source=load)`` in a sweep file, or
``"package.module:function"``.

A function object cannot be sent to worker processes, so a sweep records it as a reference,
``/path/to/sweep.py:load`` or ``package.module:load`` (:class:`FunctionSource`). The main process
calls it when the sweep's data is prepared (once per command) and caches what it returns by
the arrays' digest; workers read only that cache. The function is called on every run rather
than trusted by its source text: what it returns may depend on files, helpers or constants that
its text does not show, and a stale cache would train on other data unnoticed. Its cost is the
function's own time plus hashing what it returns (about 0.1 s for arrays of CIFAR-10's size).

It returns ``(x_train, y_train), (x_test, y_test)`` (as ``keras.datasets.*.load_data()``) or a
mapping with those four keys and optionally ``class_names``, checked by :mod:`.arrays`.
"""

from __future__ import annotations

import contextlib
import importlib
import runpy
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cifar_search import errors
from cifar_search.config.specs import FUNCTION_REFERENCE
from cifar_search.errors import DataError
from cifar_search.model.sources.arrays import ARRAY_KEYS, NAMES_KEY, from_arrays
from cifar_search.model.sources.base import Decoded, Limits, reason

#: The module name a sweep file runs under when its data function is looked up.
RUN_NAME = "__sweep_data__"


@dataclass(frozen=True)
class FunctionSource:
    """A function that returns the data arrays, by reference.

    Attributes:
        target: the sweep file (a path ending in ``.py``) or a module name.
        name: the function's name in it.

    Example:
        >>> str(FunctionSource("sweeps/mine.py", "load"))
        'sweeps/mine.py:load'
    """

    target: str
    name: str

    def __str__(self) -> str:
        return f"{self.target}:{self.name}"

    @property
    def is_file(self) -> bool:
        """Whether the function is defined in a Python file (else in an importable module)."""
        return self.target.endswith(".py")


def function_source(text: str) -> FunctionSource | None:
    """The function ``text`` refers to (``file.py:name`` or ``module:name``), else None.

    Example:
        >>> function_source("mypackage.data:load"), function_source("data/images.npz")
        (FunctionSource(target='mypackage.data', name='load'), None)
    """
    found = FUNCTION_REFERENCE.fullmatch(text)
    return None if found is None else FunctionSource(found["target"], found["name"])


def reference_of(function: Callable[[], Any]) -> FunctionSource:
    """The reference of a function object of an importable module (a sweep file's functions
    are recorded by :func:`~cifar_search.config.load.load_sweep` instead).

    Raises:
        DataError: the function cannot be imported by name from another process.
    """
    module, name = getattr(function, "__module__", None), getattr(function, "__qualname__", "")
    if module and name.isidentifier() and getattr(sys.modules.get(module), name, None) is function \
            and module not in ("__main__", RUN_NAME):
        return FunctionSource(module, name)
    raise DataError(f"data source: {errors.shown(function)} cannot be found by name from a "
                    "worker process; define it at the top level of the sweep file (load the "
                    "sweep with load_sweep) or of a module, and give 'package.module:function'")


def call(source: FunctionSource, limits: Limits) -> Decoded:
    """Call the function and check what it returns.

    Raises:
        DataError: the function cannot be found or raised (one line naming the file, the
            function and the error; the traceback is chained for ``--debug``), or what it
            returned is not data arrays as :mod:`.arrays` describes.
    """
    function = _find(source)
    try:
        returned = function()
    except Exception as error:
        raise DataError(f"{source.target}: data.source: {source.name}() raised "
                        f"{type(error).__name__}: {errors.clipped(reason(error))}") from error
    where = f"{source.target}: {source.name}()"
    return from_arrays(_as_arrays(returned, where), where, limits)


def _find(source: FunctionSource) -> Callable[[], Any]:
    """The function a reference names: looked up in its sweep file (run again) or module."""
    try:
        namespace = _run_file(source.target) if source.is_file else vars(
            importlib.import_module(source.target))
    except DataError:
        raise
    except Exception as error:
        raise DataError(f"{source.target}: cannot load the data function {source.name} "
                        f"({type(error).__name__}: {errors.clipped(reason(error))})") from error
    function = namespace.get(source.name)
    if not callable(function):
        raise DataError(f"{source.target}: data.source: no function {source.name!r} there; "
                        "define it at the top level of the file, taking no arguments")
    return function


def _run_file(path: str) -> dict[str, Any]:
    """The globals of a Python file, run with its folder importable."""
    if not Path(path).is_file():
        raise DataError(f"{path}: no such file, for the data function; give the sweep file "
                        "that defines it")
    folder = str(Path(path).parent)
    sys.path.insert(0, folder)
    try:
        return runpy.run_path(path, run_name=RUN_NAME)
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)


def _as_arrays(returned: Any, where: str) -> Mapping[str, Any]:
    """What the function returned as ``{x_train, y_train, x_test, y_test[, class_names]}``."""
    if isinstance(returned, Mapping):
        return returned
    try:
        (x_train, y_train), (x_test, y_test) = returned
    except (TypeError, ValueError):
        raise DataError(f"{where}: returned {errors.shown(returned)}; return (x_train, "
                        f"y_train), (x_test, y_test), or a dict of {', '.join(ARRAY_KEYS)} and "
                        f"optionally {NAMES_KEY}") from None
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}

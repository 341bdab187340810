"""A model of the user's own: a function that builds it (and optionally one that compiles it),
named by a plain reference, and the parameter points it is checked on before the first trial.

A sweep file gives ``Sweep(model=build)`` or ``Sweep(model=Model(build, compile=my_compile))``
with functions it defines at its top level, or ``model="package.module:function"``. The loader
(:func:`cifar_search.config.load.load_sweep`) turns each function into a :class:`FunctionRef`
(plain data: its name, and the sweep file or the module that defines it) and a digest of its
code, so that the sweep stays plain data and a worker process imports the function by itself
(:func:`import_file`). Nothing here imports TensorFlow.

Example:
    >>> FunctionRef.parse("mypackage.models:build")
    FunctionRef(name='build', module='mypackage.models', file=None)
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import sys
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cifar_search.config.params import Choice, Fixed, Param, Range
from cifar_search.config.space import Space
from cifar_search.errors import ConfigError, shown

__all__ = ["ALLOWED", "FunctionRef", "Model", "check_points", "code_digest", "import_file",
           "reference_of"]

#: The run name a sweep file is executed under (its functions' ``__module__``).
SWEEP_MODULE = "__sweep__"

#: What a model may be, for messages.
ALLOWED = ("a model is a family name, a function defined at the top level of the sweep file "
           "(def build(params, input_shape, num_classes)), or 'package.module:function'")


@dataclass(frozen=True)
class FunctionRef:
    """A function a worker imports by itself: ``name`` in the sweep file ``file`` (this
    machine's path: each machine resolves it against the sweep file of its own command line)
    or in the importable ``module``."""

    name: str
    module: str | None = None
    file: str | None = None

    @classmethod
    def parse(cls, text: str) -> FunctionRef:
        """``"package.module:function"`` as a reference.

        Raises:
            ConfigError: ``model`` when the text is not of that form.
        """
        module, _, name = text.partition(":")
        if not (name.isidentifier() and module
                and all(part.isidentifier() for part in module.split("."))):
            raise ConfigError("model", f"{shown(text)} is not allowed; {ALLOWED}")
        return cls(name, module=module)

    def __str__(self) -> str:
        return f"{self.module}:{self.name}" if self.module else self.name

    def resolve(self) -> Callable[..., Any]:
        """The function itself (its sweep file or module imported once per process; the sweep
        file's folder is on ``sys.path`` so that its own imports work)."""
        if self.file is not None and self.module is None:
            return getattr(import_file(self.file), self.name)
        if self.file is not None:
            _on_path(Path(self.file).parent)
        return getattr(importlib.import_module(str(self.module)), self.name)


@dataclass(frozen=True)
class Model:
    """A model the sweep file builds itself: ``build(params, input_shape, num_classes)``
    returns an uncompiled ``keras.Model`` whose last layer gives probabilities or logits.

    Attributes:
        build: the function (a :class:`FunctionRef` once loaded).
        compile: None: the framework compiles with the space's optimizer, learning rate,
            schedule and label smoothing; else ``compile(model, params)``, which calls
            ``model.compile(...)`` itself (the space may then set none of those keys).
        code: digest of the functions' code (set by the loader; comments and docstrings do
            not count).
        architecture: digest of the model the function builds for the space's first point
            (set before the first trial).

    Example:
        >>> Model("mypackage.models:build").build
        FunctionRef(name='build', module='mypackage.models', file=None)
    """

    build: Any
    compile: Any = None
    code: str = ""
    architecture: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for key in ("build", "compile"):
            value = getattr(self, key)
            if isinstance(value, str):
                object.__setattr__(self, key, FunctionRef.parse(value))
            elif not (value is None and key == "compile"
                      or isinstance(value, FunctionRef) or callable(value)):
                raise ConfigError(f"model.{key}", f"{shown(value)} is not allowed; {ALLOWED}")

    @property
    def name(self) -> str:
        """The build function's name (``build``, or ``package.module:build``)."""
        return str(self.build) if isinstance(self.build, FunctionRef) else getattr(
            self.build, "__name__", "model")

    @property
    def file(self) -> str | None:
        """The sweep file that defines the build function (None for a module's)."""
        return self.build.file if isinstance(self.build, FunctionRef) else None


def reference_of(function: Any, sweep_file: Path, namespace: Mapping[str, Any],
                 key: str = "model") -> FunctionRef:
    """A loaded function as a reference: one defined at the top level of the sweep file, or
    one that an importable module defines at its top level.

    Raises:
        ConfigError: ``key``: a lambda, a nested function, a method or a function no worker
            could import.
    """
    if isinstance(function, FunctionRef):
        return function
    name = getattr(function, "__name__", "")
    if not inspect.isfunction(function) or name == "<lambda>" or "<locals>" in getattr(
            function, "__qualname__", "<locals>"):
        what = ("a lambda" if name == "<lambda>" else
                f"nested function {function.__qualname__!r}" if inspect.isfunction(function)
                else shown(function, 40))
        raise ConfigError(key, f"{what} is not allowed; {ALLOWED} (a worker process imports "
                          "it by name)")
    if function.__module__ == SWEEP_MODULE:
        if namespace.get(name) is not function:
            raise ConfigError(key, f"function {name!r} is not defined at the top level of the "
                              f"sweep file; {ALLOWED}")
        return FunctionRef(name, file=str(sweep_file.resolve()))
    try:
        found = getattr(importlib.import_module(function.__module__), function.__qualname__)
    except Exception:  # noqa: BLE001 (user code: any failure means it cannot be imported)
        found = None
    if found is not function:
        raise ConfigError(key, f"function {name!r} of module {function.__module__!r} cannot be "
                          f"imported by name; {ALLOWED}")
    return FunctionRef(name, module=function.__module__, file=str(sweep_file.resolve()))


def code_digest(functions: list[Callable[..., Any]]) -> str:
    """A digest of the functions' code as Python reads it: the syntax tree, less docstrings,
    so that an edited comment or docstring leaves it as it was.

    Example:
        >>> def f(x):
        ...     return x + 1  # one
        >>> def g(x):
        ...     '''Adds one.'''
        ...     return x + 1  # another comment
        >>> code_digest([f]) == code_digest([g])
        True
    """
    digest = hashlib.sha256()
    for function in functions:
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        except (OSError, TypeError, SyntaxError):  # no source to read: its bytecode instead
            digest.update(function.__code__.co_code)
            continue
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    and body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
        for node in ast.walk(tree):  # the name of the function is in its reference
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                node.name = "_"
                break
        digest.update(ast.dump(tree, include_attributes=False).encode())
    return "sha256:" + digest.hexdigest()


def _first(param: Param) -> Any:
    """The first value of a parameter: its value, first choice or lower bound."""
    if isinstance(param, Fixed):
        return param.value
    if isinstance(param, Choice):
        return param.values[0]
    if not isinstance(param, Range):
        raise TypeError(f"unknown parameter kind {type(param).__name__}")
    return param.low


def _point(space: Space, forced: Mapping[str, Any]) -> dict[str, Any]:
    """Each active parameter at its first value, or at the value ``forced`` gives it."""
    values: dict[str, Any] = {}
    for param in space.params:
        if param.active(values):
            values[param.name] = forced.get(param.name, _first(param))
    return values


def check_points(space: Space) -> list[dict[str, Any]]:
    """The points a model is built on before the first trial: the space's first point, and
    for each conditional parameter a point where it exists (one per branch).

    Example:
        >>> space = Space.from_dict({"parameters": {
        ...     "optimizer": {"choices": ["adam", "sgd"]},
        ...     "momentum": {"type": "float", "low": 0.0, "high": 0.9,
        ...                  "when": {"optimizer": "sgd"}}}})
        >>> check_points(space)
        [{'optimizer': 'adam'}, {'optimizer': 'sgd', 'momentum': 0.0}]
    """
    points = [_point(space, {})]
    for param in space.params:
        forced = {c.param: c.values[0] if c.values else c.min if c.min is not None else c.max
                  for c in param.when}
        point = _point(space, forced)
        if param.when and param.name in point and point not in points:
            points.append(point)
    return points


def _on_path(folder: Path) -> None:
    """Put ``folder`` first on ``sys.path`` (once)."""
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def module_name(path: str | Path) -> str:
    """The module name a sweep file is imported under in this process: stable for a file and
    its text, new when the text changes (an edited file loaded again in the same process, as
    in a notebook, is imported again, not taken from the first import).

    Example:
        >>> module_name("/a/sweeps/my_model.py") == module_name("/a/sweeps/my_model.py")
        True
    """
    resolved = Path(path).resolve()
    digest = hashlib.sha256(str(resolved).encode())
    with contextlib.suppress(OSError):  # a file that cannot be read fails its import instead
        digest.update(resolved.read_bytes())
    return f"cifar_search_sweep_{resolved.stem}_{digest.hexdigest()[:12]}"


def import_file(path: str | Path) -> Any:
    """The sweep file at ``path`` as a module, imported once per process and text (its folder
    put on ``sys.path``, so that its own imports work; its custom Keras layers registered)."""
    name = module_name(path)
    if name in sys.modules:
        return sys.modules[name]
    _on_path(Path(path).resolve().parent)
    spec = importlib.util.spec_from_file_location(name, str(path))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the sweep file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module

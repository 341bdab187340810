"""Reading a sweep file: run it, find its :class:`~cifar_search.config.sweep.Sweep`, resolve
its paths and its space, and check the space against the model family.

Errors name the sweep or space file, the key, the value and what is allowed, so that a bad
sweep stops before a study is created. The engines' own checks come on top
(:func:`cifar_search.engines.load`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import runpy
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cifar_search.config.checks import check_space, with_settings
from cifar_search.config.space import Space, load_space
from cifar_search.config.specs import FUNCTION_REFERENCE, KERAS_DATASETS, Data
from cifar_search.config.sweep import Sweep
from cifar_search.config.user_model import ALLOWED, FunctionRef, code_digest, reference_of
from cifar_search.errors import ConfigError, clipped, shown
from cifar_search.quiet import silenced_stderr

__all__ = ["MAX_SWEEP_BYTES", "load_sweep"]

#: Largest sweep file, in bytes (shipped sweeps are under 2 KiB).
MAX_SWEEP_BYTES = 1024 * 1024


def _user_line(path: Path, error: BaseException) -> str:
    """``line N`` of the sweep file where ``error`` was raised, or ''."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).resolve() == path.resolve()]
    return f"line {frames[-1].lineno}" if frames else ""


def _check_sweep_path(path: Path) -> None:
    """Refuse a path that is not a readable sweep file of reasonable size."""
    if path.is_dir():
        raise ConfigError("", "is a directory, not a sweep file; give the path of a "
                          "sweeps/*.py file", str(path))
    if not path.is_file():
        raise ConfigError("", "no such sweep file; give the path of a sweeps/*.py file", str(path))
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ConfigError("", f"cannot read the sweep file ({error.strerror or error})",
                          str(path)) from None
    if size > MAX_SWEEP_BYTES:
        raise ConfigError("", f"the sweep file is larger than {MAX_SWEEP_BYTES // 1024} KiB; a "
                          "sweep file defines one Sweep(...) and a space file holds the space",
                          str(path))


def _run_sweep_file(path: Path) -> dict[str, Any]:
    """Execute a sweep file and return its globals."""
    _check_sweep_path(path)
    sys.path.insert(0, str(path.parent))
    try:
        # a file that defines its own model imports Keras: TensorFlow's start-up lines stay
        # off the terminal (what the file raises is reported below, in one line)
        with silenced_stderr():
            return runpy.run_path(str(path), run_name="__sweep__")
    except ConfigError as error:
        raise error.in_file(str(path)) from None
    except SyntaxError as error:
        raise ConfigError(f"line {error.lineno}", f"invalid Python: {clipped(error.msg)}",
                          str(path)) from None
    except SystemExit as error:  # sys.exit() in a sweep file would end the command silently
        raise ConfigError(_user_line(path, error), f"the sweep file called sys.exit("
                          f"{shown(error.code, 40)}); a sweep file only defines "
                          "sweep = Sweep(...)", str(path)) from None
    except Exception as error:  # noqa: BLE001 (user code may raise anything: report it in
        # one line, naming file and line)
        raise ConfigError(_user_line(path, error),
                          f"{type(error).__name__}: {_message(error)}", str(path)) from None
    finally:
        with contextlib.suppress(ValueError):  # unless the file took it out itself
            sys.path.remove(str(path.parent))


def _message(error: BaseException) -> str:
    """An exception's message as one short line (even if its __str__ fails)."""
    try:
        return clipped(str(error))
    except Exception:  # noqa: BLE001 (user code)
        return "(no message)"


def _find_sweep(namespace: Mapping[str, Any], path: Path) -> Sweep:
    """The ``sweep`` variable, or the only Sweep defined in the file."""
    if isinstance(namespace.get("sweep"), Sweep):
        return namespace["sweep"]
    found = [v for k, v in namespace.items() if isinstance(v, Sweep) and not k.startswith("_")]
    if len(found) != 1:
        raise ConfigError("sweep", f"found {len(found)} Sweep objects; define one, named "
                          "'sweep = Sweep(...)'", str(path))
    return found[0]


def _resolve_space(sweep: Sweep, base: Path) -> Space:
    if isinstance(sweep.space, Space):
        return sweep.space
    own = sweep.user_model is not None  # its function may read parameters of its own
    if isinstance(sweep.space, Mapping):
        return Space.from_dict(sweep.space, source=sweep.source, own=own)
    space_path = Path(sweep.space)
    return load_space(space_path if space_path.is_absolute() else base / space_path, own)


def _resolve_model(sweep: Sweep, path: Path, namespace: Mapping[str, Any]) -> Sweep:
    """The sweep's own model functions as plain references, with the digest of their code."""
    model = sweep.user_model
    if model is None:
        return sweep
    refs: dict[str, FunctionRef] = {}
    functions = []
    for key in ("build", "compile"):
        value = getattr(model, key)
        where = "model" if key == "build" else "model.compile"
        if value is None:
            continue
        if isinstance(value, FunctionRef):  # "package.module:function", beside the sweep file
            refs[key] = dataclasses.replace(value, file=str(path.resolve()))
            try:
                functions.append(refs[key].resolve())
            except Exception as error:  # noqa: BLE001 (user code)
                raise ConfigError(where, f"{value} cannot be imported ({type(error).__name__}: "
                                  f"{_message(error)}); {ALLOWED}") from None
        else:
            refs[key] = reference_of(value, path, namespace, where)
            functions.append(value)
    model = dataclasses.replace(model, build=refs.get("build", model.build),
                                compile=refs.get("compile", model.compile),
                                code=code_digest(functions))
    return dataclasses.replace(sweep, model=model)


def _resolve_data(data: Data, namespace: Mapping[str, Any], path: Path) -> Data:
    """``data`` with its source as every process can find it: a path relative to the sweep
    file made absolute; a function of the file recorded as ``<sweep file>:<name>`` (a function
    object cannot be sent to worker processes); a Keras name or ``module:function`` as given.
    """
    source = data.source
    if callable(source):
        name = getattr(source, "__name__", "")
        if not name.isidentifier() or namespace.get(name) is not source:
            raise ConfigError("data.source", f"{shown(source)} is not a function defined at "
                              "the top level of the sweep file; define def load(): ... there "
                              "and give Data(source=load), or give 'package.module:function'",
                              str(path))
        return dataclasses.replace(data, source=f"{path.resolve()}:{name}")
    if source is None or source in KERAS_DATASETS or Path(source).is_absolute():
        return data
    if (path.parent / source).exists() or source.endswith(".py"):
        return dataclasses.replace(data, source=str(path.parent / source))
    function = FUNCTION_REFERENCE.fullmatch(source)
    if function and function["target"].endswith(".py"):  # file.py:function, beside the sweep
        return dataclasses.replace(data, source=f"{path.parent / source}")
    if function:
        return data  # package.module:function
    return dataclasses.replace(data, source=str(path.parent / source))


def load_sweep(path: str | Path) -> Sweep:
    """Load, resolve and validate a sweep file: the returned ``sweep.space`` is a Space.

    Raises:
        ConfigError: naming the sweep or space file, the key, the value and what is allowed.

    Example:
        >>> sweep = load_sweep("sweeps/dropout.py")  # doctest: +SKIP
    """
    path = Path(path)
    namespace = _run_sweep_file(path)
    sweep = _find_sweep(namespace, path)
    source = str(path)
    sweep = dataclasses.replace(sweep, source=source,
                                data=_resolve_data(sweep.data, namespace, path))
    sweep = dataclasses.replace(sweep, space=_resolve_space(sweep, path.parent))
    try:
        sweep = _resolve_model(sweep, path, namespace)
        sweep = with_settings(sweep)
        check_space(sweep)
    except ConfigError as error:
        raise error.in_file(source) from None
    return sweep

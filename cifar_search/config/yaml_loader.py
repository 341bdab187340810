"""Reading a space file: bounded, safe YAML.

The file itself is bounded: at most :data:`MAX_SPACE_BYTES` of UTF-8, no YAML anchors or
aliases, no merge keys, no duplicate keys, at most :data:`MAX_NESTING` levels deep; ``1e-4``
(no dot) reads as a float, as in YAML 1.2. Errors name the file and, where known, the line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from cifar_search.errors import ConfigError, clipped, shown

__all__ = ["MAX_NESTING", "MAX_SPACE_BYTES", "read_yaml"]

#: Largest space file, in bytes: shipped spaces are under 1 KiB; 64 KiB holds a list of some
#: 12,000 grid values, and the (pure-Python) YAML parser reads it in about half a second.
MAX_SPACE_BYTES = 64 * 1024

#: Deepest nesting of YAML collections (a space needs 5: parameters, name, when, parent, min).
MAX_NESTING = 16


class _Loader(yaml.SafeLoader):
    """YAML 1.1 safe loader that also reads ``1e-4`` (no dot) as a float, as YAML 1.2 does, and
    refuses what a space never needs and a hostile file uses: anchors and aliases (a
    "billion laughs" file expands aliases of aliases), merge keys, duplicate keys (YAML would
    keep the last silently), nesting deeper than :data:`MAX_NESTING`, and integers beyond
    Python's 4300-digit conversion limit."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name, *name) are not allowed in a space "
                "file; write each value out", event.start_mark)
        if self._depth >= MAX_NESTING:
            raise yaml.composer.ComposerError(
                None, None, f"collections nest more than {MAX_NESTING} levels deep; a space "
                "needs at most 5", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise yaml.constructor.ConstructorError(
                        None, None, "merge keys (<<) are not allowed in a space file; write "
                        "each key out", key_node.start_mark)
                key = self.construct_object(key_node, deep=True)
                try:
                    repeated = key in seen
                except TypeError:  # unhashable: the base class says so
                    continue
                if repeated:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {shown(key, 40)}; each key may appear once "
                        "in a mapping", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: Any) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"the integer {shown(node.value, 40)} has too many digits",
                node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def _read_text(path: Path) -> str:
    """The file's text: at most :data:`MAX_SPACE_BYTES`, UTF-8 (ConfigError otherwise)."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_SPACE_BYTES + 1)
    except (OSError, ValueError) as error:  # ValueError: a NUL character in the path
        reason = error.strerror if isinstance(error, OSError) else None
        raise ConfigError("", f"cannot read the space file ({reason or error})",
                          str(path)) from None
    if len(raw) > MAX_SPACE_BYTES:
        raise ConfigError("", f"the space file is larger than {MAX_SPACE_BYTES // 1024} KiB; a "
                          "space is a short YAML file (use ranges instead of long lists)",
                          str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ConfigError(f"line {line}", f"byte 0x{raw[error.start]:02x} at offset "
                          f"{error.start} is not UTF-8; a space file is UTF-8 text",
                          str(path)) from None




def read_yaml(path: Path) -> Any:
    """The plain data of a space file (ConfigError naming the file, and the line if known)."""
    text = _read_text(path)
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        if isinstance(error, yaml.reader.ReaderError):  # a character YAML does not allow
            where = f"line {text.count(chr(10), 0, error.position) + 1}"
        problem = getattr(error, "problem", None) or (str(error).splitlines() or [""])[0]
        raise ConfigError(where, f"invalid YAML: {clipped(problem)}", str(path)) from None
    except (ValueError, OverflowError) as error:  # e.g. a date that does not exist
        raise ConfigError("", f"invalid YAML: {clipped(str(error))}", str(path)) from None

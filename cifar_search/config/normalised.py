"""A frozen dataclass's field that is given in one form and kept in another:
:class:`Normalised`.

A sweep's sampler is written as a kind name (``Sweep(sampler="grid")``) or as a
:class:`~cifar_search.config.parts.Sampler`, and is a ``Sampler`` once the sweep exists. The
field's descriptor converts the value as the dataclass's ``__init__`` (or
:func:`dataclasses.replace`) sets it, so that type checkers see the constructor take the
written form and the attribute hold the kept one.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Named:
    ...     size: Normalised[int | str, int] = Normalised(1, lambda _, value: int(value))
    >>> Named("3").size, Named().size
    (3, 1)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

__all__ = ["Normalised"]

In = TypeVar("In")
Out = TypeVar("Out")


class Normalised(Generic[In, Out]):
    """A dataclass field given as ``In`` and kept as ``Out``.

    Args:
        default: the field's default, in the given form (the dataclass reads it from the
            class attribute).
        convert: ``convert(instance, value)`` gives the kept form; the fields declared
            before this one are already set on ``instance``. A value of the wrong type is
            kept as it is, for the dataclass's ``__post_init__`` to refuse with its message.
    """

    def __init__(self, default: In, convert: Callable[[Any, In], Out]) -> None:
        self._default = default
        self._convert = convert
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = f"_{name}"

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> In: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> Out: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> In | Out:
        if instance is None:
            return self._default
        value: Out = instance.__dict__[self._name]
        return value

    def __set__(self, instance: object, value: In) -> None:
        # object.__setattr__: the dataclass is frozen, and its __init__ sets fields this way
        object.__setattr__(instance, self._name, self._convert(instance, value))

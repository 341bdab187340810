"""The smallest image each built-in model family takes, worked out without building it (no
TensorFlow), so that data too small for a family is refused before the first trial.

A family's convolutions with ``same`` padding keep an image's side; its ``valid``
convolutions, poolings and strides shrink it. A side that shrinks below one pixel cannot be
built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cifar_search.config.families import FAMILIES
from cifar_search.config.space import Space
from cifar_search.config.sweep import Sweep

__all__ = ["smallest_side", "smallest_side_of"]

#: Steps that shrink a side: a 3x3 ``valid`` convolution, a 2x2 max pooling.
VALID, POOL = "valid", "pool"

#: The shrinking steps of each family whose layout is fixed.
_FIXED: dict[str, tuple[str, ...]] = {
    "intro": (VALID, POOL, VALID, POOL, VALID),
    "dropout": (VALID, POOL, VALID, POOL, VALID),
}
#: Families with one 2x2 max pooling per block of ``depth``.
_POOLED_BLOCKS = frozenset({"vgg", "bnnet", "fastnet"})


def _after(side: int, steps: Sequence[str]) -> int:
    """The side after the steps (0 or less: the image vanished)."""
    for step in steps:
        side = side - 2 if step == VALID else side // 2
        if side < 1:
            return 0
    return side


def smallest_side(family: str, depth: int | None = None) -> int:
    """The smallest side (pixels) of an image that ``family`` can take; 1 for a family that
    takes any size (or one this module does not know).

    Example:
        >>> smallest_side("intro"), smallest_side("vgg", depth=3), smallest_side("resnet")
        (18, 8, 1)
    """
    if family in _POOLED_BLOCKS:
        default = FAMILIES[family].defaults.get("depth", 1)
        blocks = depth or (default if isinstance(default, int) else 1)
        steps: Sequence[str] = (POOL,) * blocks
    else:
        steps = _FIXED.get(family, ())
    side = 1
    while _after(side, steps) < 1:
        side += 1
    return side


def smallest_side_of(sweep: Sweep) -> int:
    """The smallest image side the sweep's built-in family takes with the smallest depth its
    space can draw (1 for a model that is not a built-in family name)."""
    family = sweep.model
    if not isinstance(family, str) or family not in FAMILIES:
        return 1
    depth = None
    if family in _POOLED_BLOCKS:
        space = sweep.space
        if isinstance(space, Mapping):
            space = Space.from_dict(space)
        values = space.values_of("depth") if isinstance(space, Space) else None
        depth = min(values) if values else None
    return smallest_side(family, depth)

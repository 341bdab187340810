"""A learning curve as :func:`~cifar_search.tracking.tables.trial_curves` reads it and
:func:`~cifar_search.tracking.plots.learning_curves` draws it; pure (no Optuna, no matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

#: Line styles of a curve: a complete trial, a pruned one, one of the rest.
CURVE_STYLES = ("solid", "dashed", "faint")


class Curve(NamedTuple):
    """One line of :func:`~cifar_search.tracking.plots.learning_curves`.

    Attributes:
        label: legend text, e.g. ``"activation=relu"`` (None: no legend entry).
        points: ``(epoch, value)`` pairs.
        style: ``"solid"`` (a complete trial), ``"dashed"`` (a pruned one) or ``"faint"``
            (light grey, never in the legend: the trials beyond the best few).
    """

    label: str | None
    points: Sequence[tuple[float, float]]
    style: str = "solid"

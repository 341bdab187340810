"""The colour of each trial's run in MLflow's charts (tag ``mlflow.runColor``); pure.

While a sweep runs, each new run gets a hue a golden-ratio step from the last one's, so that
consecutive trials never share a colour. When the study is summarised, every run is recoloured
along one blue-to-red ramp in the order of its main swept parameter (the one with the most
distinct values among the trials: the learning rate, not the optimizer, of a learning-rate
sweep over two optimizers), then the trial number: distinct colours that read as the
parameter's order (low values blue, high values red). The UI draws a run in its tag's colour;
the PNG plots take the same colours (:func:`ordered_colours`), and a plot about another swept
parameter takes the same ramp in that parameter's order.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Hue step between consecutive trials while they run (the golden ratio's fraction).
GOLDEN = 0.618033988749895

#: The ramp's hues: blue (low) to red (high).
LOW_HUE, HIGH_HUE = 0.66, 0.0


def _hex(hue: float, saturation: float = 0.75, value: float = 0.85) -> str:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return "#{:02x}{:02x}{:02x}".format(*(round(255 * c) for c in (red, green, blue)))


def running_colour(number: int) -> str:
    """The colour of trial ``number``'s run while the sweep runs.

    Example:
        >>> running_colour(0) != running_colour(1)
        True
    """
    return _hex(LOW_HUE + GOLDEN * number)


def _sort_key(number: int, params: Mapping[str, Any], swept: Sequence[str]) -> tuple:
    """Trials sort by the first swept parameter they have (numbers before text, missing
    last), then by number."""
    for name in swept:
        if name in params:
            value = params[name]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return (0, float(value), "", number)
            return (1, 0.0, str(value), number)
    return (2, 0.0, "", number)


def main_param(trials: Iterable[tuple[int, Mapping[str, Any]]],
               swept: Sequence[str]) -> str | None:
    """The swept parameter that colours the runs: the one with the most distinct values among
    the trials (the first in ``swept`` on a tie); None when nothing is swept.

    Example:
        >>> main_param([(0, {"optimizer": "sgd", "lr": 0.1}), (1, {"optimizer": "sgd",
        ...             "lr": 0.01})], ["optimizer", "lr"])
        'lr'
    """
    seen: dict[str, set[str]] = {name: set() for name in swept}
    for _, params in trials:
        for name in swept:
            if name in params:
                seen[name].add(repr(params[name]))
    return max(swept, key=lambda name: (len(seen[name]), -swept.index(name)), default=None)


def ordered_colours(trials: Iterable[tuple[int, Mapping[str, Any]]],
                    swept: Sequence[str], by: str | None = None) -> dict[int, str]:
    """A distinct colour per trial number, along the blue-to-red ramp in the order of the
    parameter ``by`` (default: the :func:`main_param`), then of the other swept parameters
    (trial number where nothing is swept).

    Args:
        trials: ``(number, params)`` of each trial.
        swept: the swept parameter names.
        by: the parameter whose order the ramp follows.

    Example:
        >>> colours = ordered_colours([(0, {"dropout": 0.5}), (1, {"dropout": 0.1})], ["dropout"])
        >>> colours[1], colours[0]  # the lower rate is blue, the higher red
        ('#363dd9', '#d93636')
    """
    trials = list(trials)
    first = by or main_param(trials, swept)
    swept = [first, *(name for name in swept if name != first)] if first else list(swept)
    keyed = sorted((_sort_key(number, params, swept), number) for number, params in trials)
    last = max(len(keyed) - 1, 1)
    return {number: _hex(LOW_HUE + (HIGH_HUE - LOW_HUE) * rank / last)
            for rank, (_, number) in enumerate(keyed)}

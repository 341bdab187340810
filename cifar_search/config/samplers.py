"""What each sampler kind can do with a space, as plain rules over kind names: the ``auto``
rule (:func:`pick`), the spaces a kind cannot work on (:func:`misfit`) and the parameters it
draws at random instead of modelling (:func:`fallback_note`).

A space is seen through its :class:`Shape`: which swept parameters are numeric ranges, which
are categorical, which exist only under a condition (``when``), and how many grid points it
has. Fixed values are not swept and count for nothing.

The ``auto`` rule, first match wins:

1. **grid** when every parameter takes listed values (choices, grid values or ranges with a
   step) and the grid's points fit in the trials (or the sweep gives no number of trials):
   an exhaustive search is then no dearer than any other and leaves nothing untried;
2. **gp** when every swept parameter is a numeric range that always exists (no categorical,
   no condition) and the budget is small (at most :data:`GP_MAX_TRIALS` trials), if PyTorch
   is installed: a Gaussian process makes the most of few, expensive trials there; without
   PyTorch **tpe**, saying that gp would have been picked and how to install it;
3. **tpe** otherwise (categorical or conditional parameters, or a larger budget): TPE models
   both and stays cheap with many trials.

Example:
    >>> from cifar_search.config.space import Space
    >>> space = Space.from_dict({"parameters": {"learning_rate": {
    ...     "type": "float", "low": 1e-4, "high": 1e-1, "log": True}}})
    >>> pick(shape_of(space), trials=20, gp_installed=True).kind
    'gp'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cifar_search.config.params import Choice, FloatRange, IntRange
from cifar_search.config.space import Space
from cifar_search.errors import ConfigError

__all__ = ["GP_EXTRA", "GP_MAX_TRIALS", "Pick", "Shape", "fallback_note", "misfit", "pick",
           "shape_of"]

#: ``auto`` picks gp for at most this many trials: a Gaussian process is refitted before each
#: trial at a cost that grows with the cube of the trials, and its edge over TPE is in small
#: budgets of expensive trials.
GP_MAX_TRIALS = 100

#: How to install what sampler 'gp' needs (the optional extra ``gp``: PyTorch).
GP_EXTRA = 'pip install -e ".[gp]"'


@dataclass(frozen=True)
class Shape:
    """The swept parameters of a space by kind (names in file order), and its grid size.

    Attributes:
        numeric: numeric ranges (integer or float) with more than one value.
        categorical: choices with more than one value.
        conditional: swept parameters that exist only under a condition (``when``).
        grid_points: the number of grid points; None when a parameter is continuous or the
            grid is too large to search exhaustively.
    """

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    conditional: tuple[str, ...] = ()
    grid_points: int | None = None

    @property
    def modelled(self) -> tuple[str, ...]:
        """The numeric ranges every trial has (what CMA-ES models)."""
        return tuple(n for n in self.numeric if n not in self.conditional)


@dataclass(frozen=True)
class Pick:
    """The kind the ``auto`` rule picked and why, in words."""

    kind: str
    reason: str


def shape_of(space: Space) -> Shape:
    """A space's :class:`Shape`.

    Example:
        >>> space = Space.from_dict({"parameters": {"optimizer": {"choices": ["sgd", "adam"]},
        ...                                         "dropout_rate": 0.2}})
        >>> shape_of(space)
        Shape(numeric=(), categorical=('optimizer',), conditional=(), grid_points=2)
    """
    numeric, categorical, conditional = [], [], []
    for param in space.params:
        if isinstance(param, Choice) and len(param.values) > 1:
            categorical.append(param.name)
        elif isinstance(param, IntRange | FloatRange) and param.low < param.high:
            numeric.append(param.name)
        else:
            continue
        if param.when:
            conditional.append(param.name)
    try:
        points: int | None = len(space.grid())
    except ConfigError:  # a continuous range, or more points than a grid search takes
        points = None
    return Shape(tuple(numeric), tuple(categorical), tuple(conditional), points)


def pick(shape: Shape, trials: int | None, gp_installed: bool) -> Pick:
    """The ``auto`` rule (see the module's docstring): a kind for this space and number of
    trials (None: the sweep gives none).

    Example:
        >>> pick(Shape(categorical=("optimizer",), grid_points=3), 10, False).kind
        'grid'
        >>> pick(Shape(numeric=("learning_rate",)), 20, False).kind
        'tpe'
    """
    points = shape.grid_points
    if points is not None and (trials is None or points <= trials):
        budget = "the sweep ends with the grid" if trials is None else f"{trials} trials"
        return Pick("grid", f"every parameter takes listed values and the {points} grid "
                            f"point(s) fit in {budget}")
    if trials is None:
        return Pick("tpe", "the space is not a grid small enough to search exhaustively")
    continuous = bool(shape.numeric) and not shape.categorical and not shape.conditional
    if continuous and trials <= GP_MAX_TRIALS:
        why = (f"every swept parameter is a numeric range and the budget is small "
               f"({trials} trials, at most {GP_MAX_TRIALS})")
        if gp_installed:
            return Pick("gp", why)
        return Pick("tpe", f"gp would suit ({why}) but PyTorch is not installed: {GP_EXTRA}")
    if continuous:
        return Pick("tpe", f"{trials} trials: more than gp's {GP_MAX_TRIALS}")
    other = "categorical" if shape.categorical else "conditional"
    return Pick("tpe", f"the space has {other} parameters "
                       f"({', '.join(shape.categorical or shape.conditional)})")


def misfit(kind: str, shape: Shape) -> str | None:
    """Why sampler ``kind`` cannot work on a space of this shape (what is allowed instead),
    or None when it can.

    Example:
        >>> misfit("cmaes", Shape(categorical=("optimizer",)))[:29]
        'CMA-ES models numeric ranges '
    """
    if kind == "cmaes" and not shape.modelled:
        return ("CMA-ES models numeric ranges that every trial has and this space has none "
                "(every swept parameter is categorical, conditional or fixed); use sampler "
                "'tpe', 'random', 'qmc' or 'grid'")
    if kind == "qmc" and shape.conditional:
        return (f"a quasi-random sequence draws every parameter in every trial and "
                f"{', '.join(shape.conditional)} exist(s) only under a condition (when); use "
                "sampler 'tpe' or 'random', or sweep it without when")
    return None


def fallback_note(kind: str, shape: Shape) -> str | None:
    """One line saying which parameters sampler ``kind`` draws at random instead of modelling
    (as Optuna's sampler does), or None when it models them all.

    Example:
        >>> fallback_note("cmaes", Shape(numeric=("lr",), categorical=("optimizer",)))[:44]
        "sampler 'cmaes': CMA-ES models lr; optimizer"
    """
    if kind == "cmaes":
        others = [n for n in (*shape.numeric, *shape.categorical) if n not in shape.modelled]
        if others:
            return (f"sampler 'cmaes': CMA-ES models {', '.join(shape.modelled)}; "
                    f"{', '.join(others)} (categorical or conditional) are drawn at random "
                    "in each trial, as Optuna's CmaEsSampler does")
    if kind in ("gp", "nsga2") and shape.conditional:
        return (f"sampler {kind!r}: {', '.join(shape.conditional)} (conditional) are drawn "
                "at random in each trial; the sampler models the parameters every trial has")
    return None


def sampler_shape(space: Any) -> Shape | None:
    """The shape of a space that is read (a :class:`Space`), else None."""
    return shape_of(space) if isinstance(space, Space) else None

"""How parameter values and candidates are written for people: one rule everywhere (terminal
lines, plot legends, comparison tables), so that the same candidate reads the same."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def format_value(value: Any) -> str:
    """A parameter value as text: floats to 4 significant digits, NumPy scalars as Python's.

    Example:
        >>> format_value(0.123456), format_value("adam"), format_value(3)
        ('0.1235', 'adam', '3')
    """
    value = value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) \
        else value
    return f"{value:.4g}" if isinstance(value, float) else str(value)


#: Significant digits of a number shown to a reader (descriptions, tables, plot labels).
SHOWN_DIGITS = 3


def significant(value: Any, digits: int = SHOWN_DIGITS) -> str:
    """A number as a reader sees it: floats to ``digits`` significant digits (integers and
    text unchanged), e.g. in the MLflow descriptions and the plots' labels. Where a label
    must tell candidates apart (joins, verdicts), :func:`format_value` keeps four.

    Example:
        >>> significant(1.9237305e-05), significant(0.71234), significant(12), significant("elu")
        ('1.92e-05', '0.712', '12', 'elu')
    """
    value = value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) \
        else value
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def shown_params(params: Mapping[str, Any], names: Iterable[str] | None = None,
                 sep: str = ", ") -> str:
    """``k=v`` as :func:`params_text`, numbers by :func:`significant`.

    Example:
        >>> shown_params({"learning_rate": 1.9237305e-05, "optimizer": "adam"})
        'learning_rate=1.92e-05, optimizer=adam'
    """
    keys = list(params) if names is None else [n for n in names if n in params]
    return sep.join(f"{k}={significant(params[k])}" for k in keys)


def params_text(params: Mapping[str, Any], names: Iterable[str] | None = None,
                sep: str = ", ") -> str:
    """``k=v`` for the ``names`` present in ``params`` (all of them when None), in order.

    Example:
        >>> params_text({"optimizer": "sgd", "momentum": 0.9}, sep=" ")
        'optimizer=sgd momentum=0.9'
    """
    keys = list(params) if names is None else [n for n in names if n in params]
    return sep.join(f"{k}={format_value(params[k])}" for k in keys)


def candidate_label(params: Mapping[str, Any], swept: Iterable[str]) -> str:
    """The swept parameters of a candidate (or trial) as ``k=v, k=v``, in ``swept`` order.

    Every engine names candidates with it, so that their tables join on the label; a
    conditional parameter that a candidate lacks is left out; ``(defaults)`` when nothing is
    swept.

    Example:
        >>> candidate_label({"optimizer": "sgd", "momentum": 0.9, "units": 8},
        ...                 ["optimizer", "momentum"])
        'optimizer=sgd, momentum=0.9'
    """
    return params_text(params, swept) or "(defaults)"


def best_line(best: Mapping[str, Any] | None, metric: str) -> str:
    """The best trial in one line, e.g. ``best: trial 3 val_loss=0.8123 (dropout_rate=0.3)``.

    Example:
        >>> best_line({"number": 3, "value": 0.81234, "params": {"dropout_rate": 0.3}},
        ...           "val_loss")
        'best: trial 3 val_loss=0.8123 (dropout_rate=0.3)'
        >>> best_line({"number": 7, "value": 0.9, "params": {"filters": 48}, "rung": 2,
        ...            "rung_epochs": 24}, "val_accuracy")
        'best: trial 7 val_accuracy=0.9000 at rung 2 (24 epochs) (filters=48)'
    """
    if best is None:
        return "no trial has completed yet"
    rung = (f" at rung {best['rung']} ({best['rung_epochs']} epochs)"  # pruner 'asha'
            if best.get("rung") is not None and best.get("rung_epochs") else "")
    return (f"best: trial {best['number']} {metric}={best['value']:.4f}{rung} "
            f"({params_text(best['params'])})")


def outcome_counts(outcomes: Iterable[str]) -> list[str]:
    """How many trials ended each way, one ``N outcome`` a part, outcomes in name order.

    Example:
        >>> outcome_counts(["complete", "failed", "complete"])
        ['2 complete', '1 failed']
    """
    by_outcome: dict[str, int] = {}
    for outcome in outcomes:
        by_outcome[outcome] = by_outcome.get(outcome, 0) + 1
    return [f"{n} {outcome}" for outcome, n in sorted(by_outcome.items())]

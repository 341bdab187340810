"""Whether a trial keeps the sweep's constraints: the one test that the best trial, the
Pareto front and every summary apply, so that an infeasible trial never becomes either.

A trial is infeasible when the recorder found a measure beyond a limit (its user attribute
``infeasible`` says which) or when a constraint value Optuna holds for it is above 0 (its
``constraints:<name>`` system attributes, set with ``Trial.set_constraint``, or the older
``constraints`` list). A trial with neither (no constraints, a trial imported by a warm start)
is feasible. Pure: a trial (Optuna's ``FrozenTrial`` or anything with ``user_attrs`` and
``system_attrs``) in, a bool out.

Example:
    >>> from types import SimpleNamespace as T
    >>> feasible(T(user_attrs={}, system_attrs={"constraints:params": -5.0}))
    True
    >>> feasible(T(user_attrs={"infeasible": "params 2,000 > 1,000"}, system_attrs={}))
    False
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from cifar_search.search.states import Attr

__all__ = ["CONSTRAINTS_KEY", "feasible", "feasible_trials"]

#: The system attribute in which Optuna keeps a trial's constraint values (``constraints:NAME``
#: for each one set by name; ``constraints`` alone for the older list).
CONSTRAINTS_KEY = "constraints"

TrialT = TypeVar("TrialT")


def feasible(trial: Any) -> bool:
    """Whether ``trial`` keeps every constraint (whatever its state: filter complete trials
    first where only those count)."""
    if Attr.INFEASIBLE in trial.user_attrs:
        return False
    system = getattr(trial, "system_attrs", None) or {}
    values = [v for k, v in system.items() if k.startswith(f"{CONSTRAINTS_KEY}:")]
    return all(value <= 0 for value in [*values, *(system.get(CONSTRAINTS_KEY) or ())])


def feasible_trials(trials: Iterable[TrialT]) -> list[TrialT]:
    """The trials that keep every constraint, in their order (for the best and the front).

    Example:
        >>> from types import SimpleNamespace as T
        >>> trials = [T(number=0, user_attrs={}, system_attrs={}),
        ...           T(number=1, user_attrs={}, system_attrs={"constraints": [3.0]})]
        >>> [t.number for t in feasible_trials(trials)]
        [0]
    """
    return [trial for trial in trials if feasible(trial)]

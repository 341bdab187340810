"""A sampler seeded per draw, so that a resumed study proposes what the uninterrupted one would.

Optuna seeds a sampler once, when the study object is made: a study opened again after a crash
starts the same random stream from its beginning and proposes the points it already tried.
Here the sampler is made afresh before each trial, seeded from the process's seed and the
trial's *draw index* (how many trials before it drew their own points: retries of interrupted
trials repeat their points and are not counted). A study resumed on one machine thus draws
exactly the points the uninterrupted study would have drawn where those depend on the seed
alone (random search, TPE's start-up trials); TPE's later proposals also depend on the
results known when a trial is asked for, which with parallel workers depends on timing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.samplers import BaseSampler

from cifar_search.search.states import Attr

if TYPE_CHECKING:
    from optuna import Study
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial, TrialState

__all__ = ["DrawSeeded", "draw_index", "draw_seed"]


def draw_index(number: int, earlier: Iterable[tuple[int, bool]]) -> int:
    """How many trials numbered below ``number`` drew their own points; ``earlier`` gives
    each trial's number and whether it drew none (a retry repeats another's point; an
    imported trial was drawn in another study).

    Example:
        >>> draw_index(4, [(0, False), (1, False), (2, True), (3, False), (4, False)])
        3
    """
    return sum(1 for n, retry in earlier if n < number and not retry)


def draw_seed(seed: int, index: int) -> int:
    """The seed of draw ``index`` of a process seeded with ``seed``: reproducible from both,
    and unrelated for neighbouring indexes.

    Example:
        >>> draw_seed(7, 3) == draw_seed(7, 3) != draw_seed(7, 4)
        True
    """
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


class DrawSeeded(BaseSampler):
    """The sampler ``make(seed)`` builds, built again before each trial with the seed of its
    draw (:func:`draw_seed`); every other call goes to the sampler of the trial in hand."""

    def __init__(self, make: Callable[[int], BaseSampler], seed: int) -> None:
        self._make, self._seed = make, seed
        self._sampler = make(draw_seed(seed, 0))

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        # an imported trial (a warm start) drew nothing here either
        earlier = ((t.number, Attr.RETRY_OF in t.user_attrs or Attr.IMPORTED_FROM in t.user_attrs)
                   for t in study.get_trials(deepcopy=False))
        self._sampler = self._make(draw_seed(self._seed, draw_index(trial.number, earlier)))
        self._sampler.before_trial(study, trial)

    def infer_relative_search_space(self, study: Study,
                                    trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._sampler.infer_relative_search_space(study, trial)

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._sampler.sample_relative(study, trial, search_space)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._sampler.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._sampler.reseed_rng()

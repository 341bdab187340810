"""A sampler seeded per draw, so that a resumed study proposes what the uninterrupted one would.

Optuna seeds a sampler once, when the study object is made: a study opened again after a crash
starts the same random stream from its beginning and proposes the points it already tried.
Here the sampler is made afresh before each trial, seeded from the process's seed and the
trial's *draw index* (how many trials before it drew their own points: retries of interrupted
trials repeat their points and are not counted). A study resumed on one machine thus draws
exactly the points the uninterrupted study would have drawn where those depend on the seed
alone (random search, TPE's start-up trials); TPE's later proposals also depend on the
results known when a trial is asked for, which with parallel workers depends on timing.

Which samplers are rebuilt per draw (:func:`seeded_sampler` applies the rule):

* **rebuilt before every trial** (:class:`DrawSeeded`): grid, random, tpe, cmaes, nsga2, gp.
  Whatever they carry over the study lives in the storage (the trials' parameters and values;
  CMA-ES's optimizer and generation and NSGA-II's generation in the trials' system
  attributes), and their randomness is drawn per call: rebuilt, a proposal depends only on
  the draw's seed and what the storage holds. In-memory caches (GP's kernel fit, NSGA-II's
  population) are only warm starts, rebuilt from the storage. CMA-ES seeds its step with the
  trial's number, which a retry shifts by one, so a resumed CMA-ES study draws new points (never
  the ones it tried) rather than exactly the uninterrupted study's.
* **built once** with the sweep's own seed: qmc. Its points are one scrambled sequence, and
  Optuna indexes it by a counter kept in the study's system attributes (each trial that draws
  takes the next index). Rebuilt per draw with another seed, every trial would take index 0 of
  a new sequence: random points. Every process, on every machine, uses the same sequence (the
  seed is not salted) and the shared counter moves each draw to the next index (read and
  written without a lock: two machines asking at once may share one); a retry repeats its
  trial's point (its parameters are fixed, so it takes no index), so a resumed study goes on
  with the index after the last one drawn, as the uninterrupted study would. Its first trial
  (before the sequence knows the space) comes from a random sampler rebuilt per draw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.samplers import BaseSampler

from cifar_search.search.states import Attr

if TYPE_CHECKING:
    from cifar_search.config.parts import Sampler
    from optuna import Study
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial, TrialState

__all__ = ["BUILT_ONCE", "DrawSeeded", "draw_index", "draw_seed", "seeded_sampler"]

#: Sampler kinds built once with the sweep's seed instead of rebuilt per draw (see above).
BUILT_ONCE = ("qmc",)


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


def seeded_sampler(sampler: Sampler, sweep_seed: int, process_seed: int) -> BaseSampler:
    """The sweep's sampler as a study uses it: rebuilt per draw from ``process_seed`` (the
    sweep's seed, salted per machine), or for the kinds in :data:`BUILT_ONCE` built once from
    ``sweep_seed`` with a per-draw random sampler for what they do not draw themselves.

    Example:
        >>> from cifar_search.config.parts import Sampler
        >>> type(seeded_sampler(Sampler("qmc"), 7, 7)).__name__
        'QMCSampler'
    """
    from optuna.samplers import RandomSampler

    from cifar_search.engines.optuna.parts import build_sampler

    if sampler.kind in BUILT_ONCE:
        return build_sampler(sampler, sweep_seed, independent=DrawSeeded(
            lambda seed: RandomSampler(seed=seed), process_seed))
    return DrawSeeded(lambda seed: build_sampler(sampler, seed), process_seed)

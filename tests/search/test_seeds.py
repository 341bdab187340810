"""Seeds derived from the sweep seed: deterministic, distinct and within 31 bits."""

from __future__ import annotations

from cifar_search.search.seeds import SEED_MODULUS, repeat_seed, trial_seed


def test_trial_seeds_are_distinct_and_reproducible() -> None:
    seeds = [trial_seed(7, n) for n in range(1000)]
    assert len(set(seeds)) == 1000
    assert seeds == [trial_seed(7, n) for n in range(1000)]
    assert trial_seed(0, 5) != trial_seed(1, 5)


def test_seeds_stay_below_the_modulus() -> None:
    big = 2**31 - 2
    assert 0 <= trial_seed(big, 99_999) < SEED_MODULUS
    assert 0 <= repeat_seed(SEED_MODULUS - 1, 49) < SEED_MODULUS


def test_the_first_repeat_is_the_trial_itself() -> None:
    assert repeat_seed(123, 0) == 123
    assert len({repeat_seed(123, r) for r in range(50)}) == 50

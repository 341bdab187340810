"""Seeds: every random draw of a trial is derived from the sweep seed, so any trial can be
re-run exactly."""

from __future__ import annotations

#: Seeds are kept below this (TensorFlow and NumPy take 31-bit seeds everywhere).
SEED_MODULUS = 2**31 - 1


def trial_seed(sweep_seed: int, number: int) -> int:
    """The seed of trial ``number``: re-running a trial with it reproduces it.

    Example:
        >>> trial_seed(0, 3)
        3
    """
    return (sweep_seed * 1_000_003 + number) % SEED_MODULUS


def repeat_seed(seed: int, repeat: int) -> int:
    """The seed of a trial's ``repeat``-th run (the trial's own seed for the first).

    Example:
        >>> repeat_seed(5, 0)
        5
    """
    return (seed + 7919 * repeat) % SEED_MODULUS

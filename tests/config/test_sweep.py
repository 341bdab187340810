"""Sweeps: overrides and fingerprints."""

import pytest

from cifar_search import load_sweep
from cifar_search.errors import ConfigError
from tests.helpers import ROOT


def test_overrides_replace_and_revalidate():
    sweep = load_sweep(ROOT / "sweeps" / "dropout.py")
    changed = sweep.override(trials=2, epochs=1, subset=40, workers=2, data="/some/where")
    assert (changed.trials, changed.budget.epochs, changed.data.subset, changed.workers) == (
        2, 1, 40, 2)
    assert changed.data.source == "/some/where"
    assert changed.override() == changed
    with pytest.raises(ConfigError, match="--subset: 1 is not allowed"):
        sweep.override(subset=1)


def test_fingerprint_ignores_trials_and_workers():
    sweep = load_sweep(ROOT / "sweeps" / "dropout.py")
    assert sweep.override(trials=3, workers=2).fingerprint() == sweep.fingerprint()
    assert sweep.override(epochs=2).fingerprint() != sweep.fingerprint()

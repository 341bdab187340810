"""The KerasClassifier the search clones: a classifier for scikit-learn, seeded from the sweep."""

from __future__ import annotations

import math

import pytest

from cifar_search.engines.sklearn import estimator
from tests.engines.sklearn.sweeps import OPTIMIZER_GRID, make_sweep


def test_estimator_is_a_classifier_for_sklearn():
    from sklearn.base import clone, is_classifier
    from sklearn.utils import get_tags

    est = estimator.build_estimator(make_sweep(OPTIMIZER_GRID), (32, 32, 3), 10)
    assert is_classifier(est) and get_tags(est).estimator_type == "classifier"
    copy = clone(est.set_params(model__optimizer="sgd"))
    assert copy.get_params()["model__optimizer"] == "sgd"
    assert copy.get_params()["epochs"] == 1 and copy.get_params()["random_state"] == 3


def test_the_classifier_pickles_by_reference():
    import pickle

    est = estimator.build_estimator(make_sweep(OPTIMIZER_GRID), (32, 32, 3), 10)
    assert type(pickle.loads(pickle.dumps(est))) is estimator.CifarClassifier


def test_seeds_are_the_repeat_seeds_of_the_sweep_seed():
    from cifar_search.search.seeds import repeat_seed

    sweep = make_sweep(OPTIMIZER_GRID, repeats=3)
    assert estimator.seeds(sweep) == [repeat_seed(3, r) for r in range(3)]


@pytest.mark.parametrize("indices, expected", [
    ([0.0, 0.0], "SGD"),
    ([2.0, 0.0, math.nan], "Adam+SGD"),
    ([-1.0], "other"),
    ([math.nan, math.nan], None),
])
def test_decode_optimizers(indices, expected):
    assert estimator.decode_optimizers(indices) == expected

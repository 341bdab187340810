"""Data's new settings: CIFAR-100's labelling and a function as the source."""

from __future__ import annotations

import pytest

from cifar_search.config.specs import KERAS_DATASETS, Data
from cifar_search.errors import ConfigError


def test_labels_fine_or_coarse():
    assert Data().labels == "fine"
    assert Data(source="cifar-100-python.tar.gz", labels="coarse").labels == "coarse"
    with pytest.raises(ConfigError, match=r"^data.labels: 'superclass' is not allowed; labels "
                                          r"is 'fine' or 'coarse'"):
        Data(labels="superclass")


def test_a_function_source_is_kept_until_the_sweep_is_loaded():
    def load():
        return None

    assert Data(source=load).source is load
    with pytest.raises(ConfigError, match=r"^data.source: 3 is not allowed; source is a path "
                                          r"\(text\), a Keras name, a function"):
        Data(source=3)


def test_keras_names():
    assert KERAS_DATASETS == ("cifar10", "cifar100", "mnist", "fashion_mnist")
    assert Data(source="mnist").source == "mnist"

"""The worker's cheap measures of a built model: trainable parameters and latency per image."""

import numpy as np

from cifar_search.model import build, latency


def test_trainable_params_and_latency_of_the_dropout_cnn():
    small = build.build_model("dropout", {"filters": 4}, (32, 32, 3), 10)
    large = build.build_model("dropout", {"filters": 8}, (32, 32, 3), 10)
    assert build.trainable_params(small) == small.count_params()  # no frozen weights
    assert build.trainable_params(small) < build.trainable_params(large)
    images = np.random.default_rng(0).random((5, 32, 32, 3), dtype=np.float32)
    milliseconds = latency.latency_ms(small, images)  # 5 images repeated to a batch of 64
    assert 0.0 < milliseconds < 1000.0

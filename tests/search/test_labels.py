"""How values, candidates and the best trial read for people."""

from __future__ import annotations

import numpy as np
import pytest

from cifar_search.search.labels import best_line, candidate_label, format_value, params_text


@pytest.mark.parametrize("value, text", [
    (0.123456, "0.1235"), (1e-5, "1e-05"), (3, "3"), ("adam", "adam"), (True, "True"),
    (np.float32(0.5), "0.5"), (np.int64(7), "7"),
])
def test_format_value(value: object, text: str) -> None:
    assert format_value(value) == text


def test_params_text_keeps_the_order_given_and_skips_absent_names() -> None:
    params = {"optimizer": "sgd", "momentum": 0.9, "units": 8}
    assert params_text(params) == "optimizer=sgd, momentum=0.9, units=8"
    assert params_text(params, ["units", "absent", "optimizer"], " ") == "units=8 optimizer=sgd"


def test_a_candidate_without_swept_parameters_reads_defaults() -> None:
    assert candidate_label({"units": 8}, []) == "(defaults)"
    assert candidate_label({"optimizer": "adam"}, ["optimizer", "momentum"]) == "optimizer=adam"


def test_best_line() -> None:
    assert best_line(None, "val_loss") == "no trial has completed yet"
    best = {"number": 2, "value": 0.91, "params": {"dropout_rate": 0.25}}
    assert best_line(best, "val_accuracy") == (
        "best: trial 2 val_accuracy=0.9100 (dropout_rate=0.25)")

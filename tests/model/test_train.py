"""One trial in-process: the input pipeline, the schedule over the budget, resuming it."""

import math

import keras
import pytest

from cifar_search.execution.protocol import Reply, RunEnd, TrialTask
from cifar_search.model import data
from cifar_search.model.checkpoint import read_state
from cifar_search.model.train import run_trial

COSINE = {"dropout_rate": 0.2, "optimizer": "sgd", "learning_rate": 0.05,
          "lr_schedule": "cosine", "label_smoothing": 0.1}


@pytest.fixture(scope="module")
def cache(tiny_data, tmp_path_factory):
    return data.prepare(tiny_data, tmp_path_factory.mktemp("cache"))


def task(cache, folder, number=0, **changes):
    settings = dict(number=number, params=COSINE, family="dropout", epochs=3, batch_size=8,
                    patience=None, metric="val_loss", direction="minimize", seed=number,
                    data_dir=str(cache), validation=0.2, subset=None, split_seed=0,
                    trial_dir=str(folder / f"{number:05d}"), steps_per_execution=4)
    return TrialTask(**{**settings, **changes})


def train(task_, replies=()):
    """Run a trial, answering each epoch from ``replies`` (then Reply.CONTINUE)."""
    answers = list(replies)
    return run_trial(task_, lambda epoch, logs: answers.pop(0) if answers else Reply.CONTINUE)


def steps_per_epoch(cache):
    return math.ceil(len(data.load_split(cache, 0.2, None, 0).x_train) / 8)


def test_the_schedule_spans_the_budget_and_ends_at_zero(cache, tmp_path):
    result = train(task(cache, tmp_path))
    assert (result.state, result.epochs) == (RunEnd.COMPLETE, 3)
    assert result.config["lr_schedule"] == "cosine"
    assert result.config["learning_rate"] == pytest.approx(0.05)
    assert result.config["label_smoothing"] == pytest.approx(0.1)
    model = keras.models.load_model(result.model_path)
    assert int(model.optimizer.iterations) == 3 * steps_per_epoch(cache)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-7)


def test_a_resumed_trial_goes_on_along_its_schedule(cache, tmp_path):
    first = train(task(cache, tmp_path, 0), replies=[Reply.STOP])
    assert (first.state, first.epochs) == (RunEnd.STOPPED, 1)
    again = train(task(cache, tmp_path, 1, resume_dir=str(tmp_path / "00000")))
    assert (again.state, again.epochs) == (RunEnd.COMPLETE, 3)
    model = keras.models.load_model(again.model_path)
    assert int(model.optimizer.iterations) == 3 * steps_per_epoch(cache)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-7)
    assert model.loss.label_smoothing == pytest.approx(0.1)


def test_a_resumed_trial_trains_exactly_as_if_never_interrupted(cache, tmp_path):
    """Same seed: the resumed epochs see the same batch order and dropout masks."""
    whole = train(task(cache, tmp_path / "whole"))
    cut = train(task(cache, tmp_path / "cut"), replies=[Reply.STOP])
    assert (cut.state, cut.epochs) == (RunEnd.STOPPED, 1)
    resumed = train(task(cache, tmp_path / "resumed", resume_dir=str(tmp_path / "cut" / "00000")))
    assert resumed.epochs == 3

    def history(folder):
        epochs = read_state(folder / "00000")["history"]
        return [{k: v for k, v in epoch.items() if k != "epoch_seconds"} for epoch in epochs]

    assert history(tmp_path / "resumed") == history(tmp_path / "whole")
    assert resumed.value == whole.value


def test_a_trial_whose_objective_is_not_finite_fails_as_diverged(cache, tmp_path, monkeypatch):
    from cifar_search.model import train as trainer

    monkeypatch.setattr(trainer, "_final_value", lambda task_, history: float("nan"))
    with pytest.raises(FloatingPointError, match="val_loss is nan after epoch 1; training "
                                                 "diverged"):
        train(task(cache, tmp_path, epochs=1))

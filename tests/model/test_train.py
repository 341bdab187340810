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


def test_a_trial_saves_its_epoch_only_once_its_coordinator_answered_that_it_still_owns_it(
        cache, tmp_path):
    """A STOP keeps the epoch's checkpoint (see the resume tests above); a LOST trial, or a
    worker whose coordinator is gone, writes none."""
    lost = train(task(cache, tmp_path / "lost", epochs=1), replies=[Reply.LOST])
    assert (lost.state, lost.epochs) == (RunEnd.STOPPED, 1)

    def died(epoch, logs):
        raise EOFError  # the coordinator's end of the pipe closed: no answer comes

    with pytest.raises(EOFError):
        run_trial(task(cache, tmp_path / "orphan", epochs=1), died)
    assert not any(tmp_path.rglob("checkpoint-*")) and not any(tmp_path.rglob("state.json"))


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


def test_a_diverging_trial_stops_at_its_first_non_finite_epoch(cache, tmp_path):
    reported = []
    blown_up = {**COSINE, "learning_rate": 1e12, "lr_schedule": "constant"}
    with pytest.raises(FloatingPointError, match=r"^(loss|val_loss) is (nan|inf) after epoch 1; "
                                                 r"training diverged \(try a smaller "
                                                 r"learning rate\)$"):
        run_trial(task(cache, tmp_path, params=blown_up, epochs=4),
                  lambda epoch, logs: reported.append(epoch) or Reply.CONTINUE)
    assert reported == [0]  # not the 3 epochs left of its budget


# -- early stopping, class subsets, validation on the test set --------------------------------

STILL = {"optimizer": "sgd", "learning_rate": 1e-9, "dropout_rate": 0.2,
         "stop_monitor": "val_accuracy", "stop_patience": 3, "keep_best": "val_loss"}


def test_early_stopping_stops_within_the_budget_and_keeps_the_best_epoch(cache, tmp_path):
    """A learning rate of 1e-9 leaves validation accuracy where epoch 1 put it: patience 3
    stops after epoch 4 of at most 8, with the weights of the best epoch by val_loss."""
    result = train(task(cache, tmp_path, params=STILL, epochs=8))
    assert (result.state, result.epochs) == (RunEnd.COMPLETE, 4)
    state = read_state(tmp_path / "00000")
    assert state["early_stopping"]["wait"] == 3 and state["early_stopping"]["stopped_epoch"] == 4
    kept = state["early_stopping"]["kept_epoch"]
    assert result.value == state["history"][kept - 1]["val_loss"]


def test_an_early_stopped_trial_resumes_with_its_patience_counter(cache, tmp_path):
    """Interrupted after epoch 2 (one epoch without improvement), the resumed trial stops
    after epoch 4 as the uninterrupted one did: its counter went on from 1, not from 0."""
    whole = train(task(cache, tmp_path / "whole", params=STILL, epochs=8))
    cut = train(task(cache, tmp_path / "cut", params=STILL, epochs=8),
                replies=[Reply.CONTINUE, Reply.STOP])
    assert (cut.state, cut.epochs) == (RunEnd.STOPPED, 2)
    assert read_state(tmp_path / "cut" / "00000")["early_stopping"]["wait"] == 1
    resumed = train(task(cache, tmp_path / "resumed", params=STILL, epochs=8,
                         resume_dir=str(tmp_path / "cut" / "00000")))
    assert (resumed.state, resumed.epochs) == (whole.state, whole.epochs) == (RunEnd.COMPLETE, 4)
    assert resumed.value == whole.value
    saved = read_state(tmp_path / "resumed" / "00000")["early_stopping"]
    assert saved == read_state(tmp_path / "whole" / "00000")["early_stopping"]


def test_a_trial_that_had_stopped_early_resumes_without_training(cache, tmp_path):
    whole = train(task(cache, tmp_path, params=STILL, epochs=8))
    again = train(task(cache, tmp_path, 1, params=STILL, epochs=8,
                       resume_dir=str(tmp_path / "00000")))
    assert (again.state, again.epochs, again.value) == (RunEnd.COMPLETE, 4, whole.value)
    assert read_state(tmp_path / "00001") is None  # no epoch trained, none saved


def test_a_class_subset_trains_those_classes_and_is_tested_on_them(cache, tmp_path):
    from cifar_search.model.train import evaluate

    params = {**COSINE, "classes": "c7,c1,c3"}
    result = train(task(cache, tmp_path, params=params, epochs=1, validation="test"))
    model = keras.models.load_model(result.model_path)
    assert model.output_shape == (None, 3)
    tested = evaluate(result.model_path, str(cache))
    assert tested["classes"] == ["c7", "c1", "c3"]
    assert sum(map(sum, tested["confusion_matrix"])) == 6  # 2 test images per class
    assert tested["validated_on_test"] is True
    history = read_state(tmp_path / "00000")["history"]
    assert history[-1]["val_accuracy"] == pytest.approx(tested["test_accuracy"], abs=1e-6)


def test_a_missing_watched_metric_fails_the_trial_clearly(cache, tmp_path):
    from cifar_search.errors import TrialError
    from cifar_search.model import stopping

    rule = stopping.StopRule("val_accuracy", 2, None)
    with pytest.raises(TrialError, match=r"^early stopping watches val_accuracy, which the "
                                         r"epoch's metrics lack \(they are loss\)$"):
        stopping.advance(rule, stopping.StopState(), 1, {"loss": 1.0})


def l2_penalised(input_shape, num_classes):
    """A small network with an L2 penalty on its convolution: its loss has a penalty term."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(8, 3, kernel_regularizer=keras.regularizers.L2(0.01))(inputs)
    x = keras.layers.GlobalMaxPooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


@pytest.mark.parametrize("family, params", [(None, {}),
                                            ("fastnet", {"filters": 4, "depth": 2, "tta": True,
                                                         "label_smoothing": 0.2})])
def test_the_test_loss_from_one_pass_is_what_evaluate_reports(family, params, tmp_path):
    """Regularisation penalties and label smoothing included, after saving and loading."""
    import numpy as np

    from cifar_search.model import build
    from cifar_search.model.train import loss_of

    x = np.random.default_rng(1).random((24, 32, 32, 3), dtype=np.float32)
    y = np.arange(24) % 10
    model = (l2_penalised((32, 32, 3), 10) if family is None
             else build.build_model(family, params, (32, 32, 3), 10))
    build.compile_model(model, {"optimizer": "sgd", **params})
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert family or loaded.losses  # the L2 penalty is part of the loss
    evaluated = loaded.evaluate(x, y, batch_size=8, verbose=0)[0]
    assert loss_of(loaded, y, loaded.predict(x, verbose=0)) == pytest.approx(evaluated, rel=1e-5)

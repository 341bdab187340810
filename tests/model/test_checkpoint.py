"""A trial's per-epoch checkpoint: the files on disk, saving, restoring, old workspaces."""

import json
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from cifar_search.model import checkpoint
from cifar_search.model.checkpoint import (CHECKPOINT, STATE, model_file, read_state,
                                           saved_epochs)
from cifar_search.errors import TrialError
from tests.helpers import ROOT, cli_env

LEGACY = ROOT / "tests" / "data" / "legacy-14511ce.tar.gz"


@pytest.fixture(scope="module")
def legacy_trials(tmp_path_factory):
    """The trial folders of a workspace written by the previous layout (commit 14511ce)."""
    root = tmp_path_factory.mktemp("legacy")
    with tarfile.open(LEGACY) as archive:
        archive.extractall(root, filter="data")
    return root / "ws" / "trials" / "legacy"


def small_model(augmentation=True):
    from cifar_search.model import build

    build.clear_session()
    model = build.build_model("dropout", {"dropout_rate": 0.3, "augmentation": augmentation},
                              (32, 32, 3), 10)
    build.compile_model(model, {})
    return model


def archive(path):
    """A whole (tiny) model archive at ``path``: what :func:`read_state` checks is its index."""
    import zipfile

    with zipfile.ZipFile(path, "w") as made:
        made.writestr("config.json", "{}")


def test_no_checkpoint_without_the_state_and_the_model_file_it_names(tmp_path):
    assert read_state(tmp_path) is None and saved_epochs(tmp_path) is None
    state = {"epochs": 2, "checkpoint": model_file(2), "history": []}
    (tmp_path / STATE).write_text(json.dumps(state))
    archive(tmp_path / model_file(1))
    assert read_state(tmp_path) is None  # the model file it names is missing
    archive(tmp_path / model_file(2))
    assert read_state(tmp_path) == state
    assert saved_epochs(tmp_path) == 2
    assert checkpoint.restore(tmp_path / "absent") is None


def test_a_state_of_the_earlier_layout_goes_with_checkpoint_keras(tmp_path):
    (tmp_path / STATE).write_text(json.dumps({"epochs": 2, "history": [{}, {}]}))
    assert read_state(tmp_path) is None
    archive(tmp_path / CHECKPOINT)
    assert read_state(tmp_path) == {"epochs": 2, "history": [{}, {}]}


@pytest.mark.parametrize("cut", [STATE, model_file(2)])
def test_a_cut_checkpoint_is_set_aside_with_one_line_naming_the_file(tmp_path, cut):
    state = {"epochs": 2, "checkpoint": model_file(2), "history": [{}, {}]}
    (tmp_path / STATE).write_text(json.dumps(state))
    archive(tmp_path / model_file(2))
    whole = (tmp_path / cut).read_bytes()
    (tmp_path / cut).write_bytes(whole[: len(whole) // 2])
    with pytest.raises(checkpoint.Damaged) as damaged:
        read_state(tmp_path)
    assert damaged.value.path == tmp_path / cut
    lines = []
    assert checkpoint.read_sound_state(tmp_path, lines.append) is None
    aside = tmp_path / "damaged-1"
    assert lines == [f"checkpoint {tmp_path / cut} is damaged ({damaged.value.problem}); set "
                     f"aside in {aside}, its trial starts again from epoch 0"]
    assert sorted(p.name for p in aside.iterdir()) == sorted([STATE, model_file(2)])
    assert (aside / cut).read_bytes() == whole[: len(whole) // 2]  # kept as it was found
    assert read_state(tmp_path) is None
    (tmp_path / STATE).write_text("{")
    assert checkpoint.read_sound_state(tmp_path, lines.append) is None
    assert (tmp_path / "damaged-2" / STATE).is_file()  # the first kept as it was


def test_reading_a_checkpoint_does_not_import_tensorflow(tmp_path):
    code = ("import sys; from cifar_search.model.checkpoint import read_state, saved_epochs;"
            f"read_state({str(tmp_path)!r}); saved_epochs({str(tmp_path)!r});"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=cli_env(),
                         capture_output=True, text=True)
    assert out.stdout.strip() == "False False", out.stderr


def test_save_writes_the_model_file_and_the_state_that_names_it(tmp_path):
    model = small_model()
    history = [{"loss": 2.0, "val_loss": 2.1}, {"loss": 1.5, "val_loss": 1.9}]
    checkpoint.save(tmp_path / "00003", model, history, epochs=2)
    folder = tmp_path / "00003"
    assert sorted(p.name for p in folder.iterdir()) == [model_file(2), STATE]  # no partial left
    state = json.loads((folder / STATE).read_text())
    assert sorted(state) == ["backend", "checkpoint", "epochs", "history", "seed_states"]
    assert (state["epochs"], state["checkpoint"], state["history"]) == (2, model_file(2), history)
    assert state["backend"] == "tensorflow"
    assert len(state["seed_states"]) == 3  # flip, translation, dropout


def test_a_kill_between_the_two_writes_leaves_the_earlier_epoch_whole(tmp_path, monkeypatch):
    model = small_model()
    checkpoint.save(tmp_path, model, [{"loss": 2.0}], epochs=1)
    (tmp_path / CHECKPOINT).write_bytes(b"")  # a model file of the earlier layout goes too

    def killed(path, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "_write_json", killed)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(tmp_path, model, [{"loss": 2.0}, {"loss": 1.0}], epochs=2)
    assert saved_epochs(tmp_path) == 1  # the state of epoch 1 with the model of epoch 1
    assert checkpoint.restore(tmp_path)[1]["checkpoint"] == model_file(1)
    monkeypatch.undo()
    checkpoint.save(tmp_path, model, [{"loss": 2.0}, {"loss": 1.0}], epochs=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [model_file(2), STATE]


def test_restore_brings_back_weights_optimizer_and_random_layers(tmp_path):
    model = small_model()
    model.optimizer.build(model.trainable_variables)  # as after a first step
    model.optimizer.iterations.assign(7)
    seeds = [v for v in model.variables if v.path.endswith("seed_generator_state")]
    for i, variable in enumerate(seeds):
        variable.assign(np.array([1000 + i, 40 + i], dtype=variable.dtype))
    checkpoint.save(tmp_path, model, [{"loss": 1.0}], epochs=1)
    restored, state = checkpoint.restore(tmp_path)
    assert (state["epochs"], state["history"]) == (1, [{"loss": 1.0}])
    assert int(restored.optimizer.iterations) == 7
    for saved, loaded in zip(model.get_weights(), restored.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, loaded)
    loaded_seeds = [v.numpy().tolist() for v in restored.variables
                    if v.path.endswith("seed_generator_state")]
    assert loaded_seeds == [[1000 + i, 40 + i] for i in range(len(seeds))]


def test_a_checkpoint_continues_only_on_the_backend_that_trained_it(tmp_path):
    """A state naming no backend is TensorFlow's (compatibility C6); one of JAX is refused
    on TensorFlow, in one line naming the folder, both backends and the flag."""
    checkpoint.check_backend(tmp_path, {}, "tensorflow")
    checkpoint.check_backend(tmp_path, {"backend": "jax"}, "jax")
    with pytest.raises(TrialError, match=r"^checkpoint t/00003 was trained on backend "
                                         r"'tensorflow' and continues only on it, not on "
                                         r"'jax'; resume the sweep with --backend tensorflow$"):
        checkpoint.check_backend("t/00003", {}, "jax")
    checkpoint.save(tmp_path, small_model(), [{"loss": 1.0}], epochs=1)
    state = json.loads((tmp_path / STATE).read_text())
    (tmp_path / STATE).write_text(json.dumps({**state, "backend": "jax"}))
    with pytest.raises(TrialError, match=f"^checkpoint {tmp_path} was trained on backend 'jax'"):
        checkpoint.restore(tmp_path)


def test_a_checkpoint_of_the_previous_layout_restores(legacy_trials):
    folder = legacy_trials / "00002"  # interrupted after 15 of 30 epochs
    assert saved_epochs(folder) == 15
    model, state = checkpoint.restore(folder)
    assert (state["epochs"], len(state["history"])) == (15, 15)
    seeds = [v.numpy().tolist() for v in model.variables
             if v.path.endswith("seed_generator_state")]
    assert seeds == state["seed_states"] == [[98338421, 180]]
    assert int(model.optimizer.iterations) > 0


def test_a_checkpoint_saved_again_while_it_is_read_is_read_at_its_newer_epoch(tmp_path,
                                                                              monkeypatch):
    import keras

    model = small_model()
    checkpoint.save(tmp_path, model, [{"loss": 2.0}], epochs=1)
    load = keras.models.load_model
    calls = []

    def saved_meanwhile(path, *args, **kwargs):  # the trial's machine saves epoch 2 first
        calls.append(path.name)
        if len(calls) == 1:
            checkpoint.save(tmp_path, model, [{"loss": 2.0}, {"loss": 1.0}], epochs=2)
        return load(path, *args, **kwargs)

    monkeypatch.setattr(keras.models, "load_model", saved_meanwhile)
    restored, state = checkpoint.restore(tmp_path)
    assert calls == [model_file(1), model_file(2)] and state["epochs"] == 2


def test_a_model_file_that_cannot_be_read_is_an_error_not_a_retry(tmp_path):
    checkpoint.save(tmp_path, small_model(), [{"loss": 2.0}], epochs=1)
    (tmp_path / model_file(1)).write_bytes(b"not a model")
    with pytest.raises(checkpoint.Damaged, match="not a whole .keras archive"):
        checkpoint.restore(tmp_path)
    archive(tmp_path / model_file(1))  # whole, but no model in it
    with pytest.raises(ValueError):
        checkpoint.restore(tmp_path)


def test_a_resumed_trial_s_train_seconds_are_the_sum_over_its_runs(monkeypatch, tmp_path):
    from cifar_search.model import train

    saved = []
    monkeypatch.setattr(checkpoint, "save", lambda folder, model, history, epochs, extra:
                        saved.append((epochs, dict(extra))))
    clock = iter([0.0, 100.0, 103.0, 0.0, 200.0, 201.5])  # 3 s to epoch 1; resumed: 1.5 s
    monkeypatch.setattr(train.time, "perf_counter", lambda: next(clock))
    first = train.Checkpoint(tmp_path, [])
    first.on_train_begin()
    first.on_epoch_end(0, {"val_loss": 1.0})
    kept = {checkpoint.TRAIN_SECONDS: saved[-1][1][checkpoint.TRAIN_SECONDS]}
    assert kept == {"train_seconds": 3.0}  # stored, so that a resume adds to it
    resumed = train.Checkpoint(tmp_path, [{"val_loss": 1.0}],
                               spent=checkpoint.train_seconds(kept))
    resumed.on_train_begin()
    resumed.on_epoch_end(1, {"val_loss": 0.5})
    assert saved[-1] == (2, {"train_seconds": 4.5})
    assert checkpoint.train_seconds(kept, 1.5) == 4.5  # what the resumed run reports
    assert checkpoint.train_seconds({"epochs": 3}) == 0.0  # a checkpoint from before

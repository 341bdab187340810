"""Model families build and train; every activation and optimizer really takes effect."""

import keras
import numpy as np
import pytest

from cifar_search.config.families import ACTIVATIONS, FAMILIES, OPTIMIZERS
from cifar_search.errors import TrialError
from cifar_search.model import build as models

X = np.random.default_rng(0).random((16, 32, 32, 3), dtype=np.float32)
Y = np.arange(16) % 10


def built(family="dropout", **params):
    keras.backend.clear_session()
    model = models.build_model(family, params, (32, 32, 3), 10)
    models.compile_model(model, params)
    return model


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_builds_and_trains_a_step(family):
    model = built(family, depth=2) if FAMILIES[family].max_depth else built(family)
    assert model.output_shape == (None, 10)
    loss = model.fit(X, Y, epochs=1, batch_size=8, verbose=0).history["loss"][0]
    assert np.isfinite(loss)


def test_dropout_family_is_the_lessons_model():
    model = built("dropout", dropout_rate=0.45)
    convs = [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs == [16, 32, 64]
    dropout = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert [d.rate for d in dropout] == [0.45]
    assert layer_types(model)[-2:] == ["Flatten", "Dense"]
    intro = built("intro")
    assert [layer.filters for layer in intro.layers
            if isinstance(layer, keras.layers.Conv2D)] == [50] * 3
    assert [layer.units for layer in intro.layers
            if isinstance(layer, keras.layers.Dense)] == [50, 10]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_takes_effect(activation):
    config = models.describe(built("vgg", depth=1, activation=activation))
    assert config["activations"] == [keras.activations.get(activation).__name__]  # swish: silu


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_takes_effect(name):
    model = built("intro", optimizer=name, learning_rate=0.003, momentum=0.5
                  if name in ("sgd", "rmsprop") else 0.0)
    config = models.describe(model)
    assert config["optimizer"] == OPTIMIZERS[name]
    assert config["learning_rate"] == pytest.approx(0.003)
    if name in ("sgd", "rmsprop"):
        assert config["momentum"] == pytest.approx(0.5)
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    assert int(model.optimizer.iterations) == 2


def test_architecture_parameters_take_effect():
    model = built("vgg", depth=2, filters=8, filters_2=24, batch_norm=True, augmentation=True,
                  dropout_rate=0.2)
    convs = [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs == [8, 8, 24, 24]
    types = layer_types(model)
    assert types.count("BatchNormalization") == 4
    assert {"RandomFlip", "RandomTranslation"} <= set(types)
    assert {layer.rate for layer in model.layers
            if isinstance(layer, keras.layers.Dropout)} == {0.2}
    assert "RandomFlip" not in layer_types(built("vgg", depth=1))
    deeper = built("resnet", depth=3, filters=4)
    assert len([t for t in layer_types(deeper) if t == "Add"]) == 6


def test_impossible_parameters_fail_the_trial():
    with pytest.raises(TrialError, match="model 'dropout' does not use parameter 'units'"):
        models.build_model("dropout", {"units": 3}, (32, 32, 3), 10)
    with pytest.raises(TrialError, match=r"depth=4 is too deep for 8x8 images; at most 3"):
        models.build_model("vgg", {"depth": 4}, (8, 8, 3), 10)


def test_same_seed_same_initial_weights():
    def weights():
        keras.utils.set_random_seed(7)
        return built("vgg", depth=1).get_weights()

    for a, b in zip(weights(), weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_cosine_schedule_warms_up_then_decays_over_the_budget():
    schedule = models.cosine_schedule(0.1, 100)
    rates = [float(schedule(step)) for step in range(101)]
    assert rates[0] == 0.0 and rates[15] == pytest.approx(0.1)
    assert rates[:16] == sorted(rates[:16]) and rates[15:] == sorted(rates[15:], reverse=True)
    assert rates[100] == pytest.approx(0.0, abs=1e-9)


def test_cosine_schedule_is_applied_and_described():
    keras.backend.clear_session()
    params = {"optimizer": "sgd", "learning_rate": 0.05, "lr_schedule": "cosine"}
    model = models.build_model("dropout", params, (32, 32, 3), 10)
    models.compile_model(model, params, total_steps=4)
    assert float(model.optimizer.learning_rate) == 0.0  # warm-up starts at 0
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    # 2 of 4 steps: 1 warm-up step, then 1 of 3 decay steps: 0.05 * (1 + cos(pi / 3)) / 2
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0375)
    config = models.describe(model)
    assert (config["lr_schedule"], config["learning_rate"]) == ("cosine", pytest.approx(0.05))
    assert models.describe(built())["lr_schedule"] == "constant"


def test_cosine_schedule_needs_the_step_count():
    with pytest.raises(TrialError, match="lr_schedule 'cosine' needs the number of training "
                                         r"steps \(>= 2\), got None"):
        models.make_optimizer({"lr_schedule": "cosine"})


def test_label_smoothing_changes_the_loss_and_survives_saving(tmp_path):
    smooth = models.SmoothedSparseCrossentropy(0.2)
    logits = np.array([[4.0, 0.0, 0.0]], dtype="float32")
    plain = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(models.SmoothedSparseCrossentropy(0.0)(np.array([0]), logits)) == pytest.approx(
        float(plain(np.array([0]), logits)))
    assert float(smooth(np.array([0]), logits)) > float(plain(np.array([0]), logits))
    model = built(label_smoothing=0.2)
    assert models.describe(model)["label_smoothing"] == pytest.approx(0.2)
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.loss.label_smoothing == pytest.approx(0.2)
    assert models.describe(built())["label_smoothing"] == 0.0


def test_fastnet_pools_after_each_blocks_first_convolution():
    model = built("fastnet", filters=8)
    assert layer_types(model)[1:9] == ["Conv2D", "MaxPooling2D", "BatchNormalization",
                                       "Activation", "Conv2D", "BatchNormalization",
                                       "Activation", "Conv2D"]
    convs = [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs == [8, 8, 16, 16, 32, 32]
    assert layer_types(model)[-2:] == ["GlobalMaxPooling2D", "Dense"]


def test_tta_averages_the_mirror_image_in_evaluation_only(tmp_path):
    model = built("fastnet", filters=4, depth=2, tta=True)
    body = model.get_layer("tta").body
    assert np.allclose(model(X, training=True), body(X, training=True), atol=1e-6)
    mirrored = 0.5 * (body(X, training=False) + body(X[:, :, ::-1], training=False))
    assert np.allclose(model.predict(X, verbose=0), mirrored, atol=1e-6)
    assert not np.allclose(model.predict(X, verbose=0), body(X, training=False), atol=1e-4)
    assert models.describe(model)["activations"] == ["relu"]
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert np.allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6)
    assert models.describe(built("fastnet", filters=4, depth=2))["layers"] == len(
        models._layers(model))


def test_clear_session_drops_what_tensorflow_kept_of_earlier_models():
    import gc
    import weakref

    registry = models._gradient_registry()
    assert registry is not None  # TensorFlow still keeps its registry where we look for it
    models.clear_session()
    before = set(registry)
    model = built()
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    traced = set(registry) - before
    assert traced and all(name.startswith("CustomGradient-") for name in traced)
    graph = weakref.ref(next(iter(registry[name]["type"] for name in traced)))
    del model
    models.clear_session()
    gc.collect()
    assert not traced & set(registry)
    assert graph() is None  # the train step's gradient function (and its graph) is freed


def test_augmentation_true_means_flips_and_shifts_unless_given():
    assert models.augmentation({"augmentation": True}) == {
        "flip": True, "shift": 0.1, "rotation": 0.0, "zoom": 0.0}
    assert models.augmentation({"augmentation": True, "shift": 0.3})["shift"] == 0.3
    assert models.augmentation({}) == {"flip": False, "shift": 0.0, "rotation": 0.0,
                                       "zoom": 0.0}

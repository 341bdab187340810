"""The sweep's own model in a worker: built, wrapped, compiled on probabilities or logits,
trained and resumed; checked before the first trial."""

import keras
import numpy as np
import pytest
from keras import layers

from cifar_search.config.user_model import FunctionRef, Model
from cifar_search.errors import ConfigError, TrialError
from cifar_search.execution.protocol import Reply, RunEnd, TrialTask
from cifar_search.model import data, user
from cifar_search.model.train import evaluate, run_trial

SWEEP = '''
import keras
from keras import layers

@keras.saving.register_keras_serializable(package="test_user")
class Scale(layers.Layer):
    def __init__(self, init=1.0, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.init))

    def call(self, x):
        return x * self.scale

    def get_config(self):
        return {**super().get_config(), "init": self.init}


class Unsaved(layers.Layer):
    def call(self, x):
        return x


def build(params, input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = layers.Flatten()(Scale(1.0)(inputs))
    x = layers.Dropout(params["dropout_rate"])(x)
    return keras.Model(inputs, layers.Dense(num_classes, activation=params.get("out"))(x))


def compiled(params, input_shape, num_classes):
    model = build(params, input_shape, num_classes)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def unsaved(params, input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = layers.Flatten()(Unsaved()(inputs))
    return keras.Model(inputs, layers.Dense(num_classes)(x))


def raises(params, input_shape, num_classes):
    raise ValueError("no such layer width")
'''


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "own.py"
    path.write_text(SWEEP)
    return path


@pytest.fixture(scope="module")
def cache(tiny_data, tmp_path_factory):
    return data.prepare(tiny_data, tmp_path_factory.mktemp("cache"))


def own(sweep_file, name="build"):
    return Model(FunctionRef(name, file=str(sweep_file)))


def task(cache, folder, model, **changes):
    settings = dict(number=0, params={"dropout_rate": 0.2, "learning_rate": 0.01}, family="build",
                    epochs=2, batch_size=8, patience=None, metric="val_loss",
                    direction="minimize", seed=0, data_dir=str(cache), validation=0.2,
                    subset=None, split_seed=0, trial_dir=str(folder / "00000"),
                    user_model=model)
    return TrialTask(**{**settings, **changes})


def train(task_, replies=()):
    answers = list(replies)
    return run_trial(task_, lambda epoch, logs: answers.pop(0) if answers else Reply.CONTINUE)


@pytest.mark.parametrize("out, probabilities", [("softmax", True), (None, False)])
def test_the_loss_matches_probabilities_or_logits(sweep_file, out, probabilities):
    model = user.build_compiled(own(sweep_file), {"dropout_rate": 0.1, "out": out,
                                                  "learning_rate": 0.01}, (8, 8, 3), 4)
    assert user.gives_probabilities(model) is probabilities
    assert model.loss.from_logits is not probabilities
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_an_unnamed_softmax_is_found_on_a_probe_batch():
    inputs = keras.Input((4, 4, 1))
    outputs = layers.Lambda(keras.activations.softmax)(layers.Dense(3)(layers.Flatten()(inputs)))
    assert user.gives_probabilities(keras.Model(inputs, outputs))


def test_augmentation_and_tta_wrap_the_users_model(sweep_file):
    model = user.build_compiled(own(sweep_file), {"dropout_rate": 0.1, "flip": True,
                                                  "tta": True}, (8, 8, 3), 4)
    names = [type(layer).__name__ for layer in model.layers]
    assert names == ["InputLayer", "RandomFlip", "FlipAverage"]


def test_a_user_model_trains_resumes_exactly_and_is_evaluated(sweep_file, cache, tmp_path):
    model = own(sweep_file)
    whole = train(task(cache, tmp_path / "whole", model))
    cut = train(task(cache, tmp_path / "cut", model), replies=[Reply.STOP])
    assert (cut.state, cut.epochs) == (RunEnd.STOPPED, 1)
    resumed = train(task(cache, tmp_path / "resumed", model,
                         resume_dir=str(tmp_path / "cut" / "00000")))
    assert (resumed.state, resumed.value) == (RunEnd.COMPLETE, whole.value)
    results = evaluate(resumed.model_path, str(cache), model)
    assert 0.0 <= results["test_accuracy"] <= 1.0


def test_a_model_that_cannot_load_back_fails_at_its_first_checkpoint(sweep_file, cache,
                                                                       tmp_path):
    with pytest.raises(TrialError, match=r"^model unsaved: its checkpoint cannot be loaded back "
                       r"\(.*\); decorate each custom layer with "
                       r"@keras.saving.register_keras_serializable\(\) and give it a get_config"):
        train(task(cache, tmp_path, own(sweep_file, "unsaved")))


def test_the_check_builds_each_point_and_digests_the_first(sweep_file):
    points = [{"dropout_rate": 0.1}, {"dropout_rate": 0.1, "out": "softmax"}]
    digest = user.check(own(sweep_file), points, ["dropout_rate"], (8, 8, 3), 4, "own.py")
    assert digest == user.check(own(sweep_file), points[:1], [], (8, 8, 3), 4, "own.py")
    assert digest != user.check(own(sweep_file), points[:1], [], (8, 8, 3), 5, "own.py")


def test_a_compiled_model_with_swept_optimizer_keys_is_refused(sweep_file):
    with pytest.raises(ConfigError) as caught:
        user.check(own(sweep_file, "compiled"), [{"dropout_rate": 0.1}],
                   ["dropout_rate", "learning_rate"], (8, 8, 3), 4, "own.py")
    assert str(caught.value) == (
        "own.py: model: compiled returns a compiled model, which would train with its own "
        "compile and ignore the swept learning_rate; return it uncompiled (the framework "
        "compiles it with each trial's settings), or compile it in Model(build, compile=...) "
        "and sweep none of them")


def test_a_function_that_raises_is_one_line_naming_the_point(sweep_file):
    with pytest.raises(ConfigError) as caught:
        user.check(own(sweep_file, "raises"), [{"dropout_rate": 0.1}], [], (8, 8, 3), 4,
                   "own.py")
    assert str(caught.value) == ("own.py: model: raises(params={'dropout_rate': 0.1}, (8, 8, 3), "
                                 "4) raised ValueError: no such layer width")
    assert isinstance(caught.value.__cause__, ValueError)  # --debug shows its traceback


def test_the_function_gets_a_read_only_mapping(sweep_file):
    ref = FunctionRef("build", file=str(sweep_file))
    seen = {}

    def spy(params, input_shape, num_classes):
        seen["params"] = params
        return ref.resolve()(params, input_shape, num_classes)

    import sys

    from cifar_search.config.user_model import module_name
    module = sys.modules[module_name(sweep_file)]
    module.spy = spy
    user.call_build(own(sweep_file, "spy"), {"dropout_rate": 0.1}, (8, 8, 3), 4)
    with pytest.raises(TypeError):
        seen["params"]["dropout_rate"] = 0.5
    assert np.isclose(seen["params"]["dropout_rate"], 0.1)

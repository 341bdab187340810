"""A sweep file's own model, as the CLI tests write it: a small CNN with a custom layer."""

SWEEP = '''
import keras
from keras import layers

from cifar_search import Budget, Data, Sweep

WIDTH = 4


@keras.saving.register_keras_serializable(package="own_cli")
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


def build(params, input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(WIDTH, 3, activation="relu")(Scale()(inputs))
    x = layers.Dropout(params["dropout_rate"])(layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def compiled(params, input_shape, num_classes):
    model = build(params, input_shape, num_classes)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


sweep = Sweep(name="own", space={"parameters": {"dropout_rate": {"grid": [0.1, 0.3]},
                                                "learning_rate": LEARNING_RATE}},
              model=MODEL, data=Data(validation=0.25), budget=Budget(epochs=1, batch_size=16),
              sampler="grid", workers=2, seed=1, engine=ENGINE)
'''


def write(folder, model="build", engine="optuna", learning_rate="0.01", width="4"):
    text = (SWEEP.replace("MODEL", model).replace("ENGINE", repr(engine))
            .replace("LEARNING_RATE", learning_rate).replace("WIDTH = 4", f"WIDTH = {width}"))
    (folder / "sweep.py").write_text(text)

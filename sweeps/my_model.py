"""Your own model on your own data: a plain Keras function with a small custom layer, its
dropout rate and learning rate swept by TPE, on the images of an .npz file (see README, "Your
own model and data").

Run it with: python -m cifar_search run sweeps/my_model.py (or --data other.npz).

The framework calls ``build(params, input_shape, num_classes)`` for each trial and compiles the
model it returns with the space's optimizer and learning rate; it adds augmentation and
test-time augmentation around it when the sweep asks for them.
"""

import keras
from keras import layers

from cifar_search import Budget, Data, Objective, Sweep

#: Widths of the two convolution blocks (a change here changes what `build` builds, so a
#: study made before refuses to resume: start it with another --study-name).
WIDTHS = (16, 32)


# A custom layer must be registered and give its constructor's arguments back, so that its
# checkpoints load and the registered model loads with mlflow.pyfunc in a fresh process.
@keras.saving.register_keras_serializable(package="my_model")
class Scale(layers.Layer):
    """Multiplies its input by a learned scalar (starts at `init`)."""

    def __init__(self, init: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.init))

    def call(self, x):
        return x * self.scale

    def get_config(self):
        return {**super().get_config(), "init": self.init}


def build(params, input_shape, num_classes):
    """A small functional CNN; `params` holds every parameter of the space."""
    inputs = keras.Input(shape=input_shape)
    x = Scale(1.0)(inputs)
    for width in WIDTHS:
        x = layers.Conv2D(width, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(params["dropout_rate"])(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)  # or logits: both are fine
    return keras.Model(inputs, outputs)  # uncompiled: the framework compiles it


sweep = Sweep(
    name="my_model",
    space="../search_spaces/my_model.yaml",
    model=build,
    # x_train, y_train, x_test, y_test (and optionally class_names), e.g. written by
    # numpy.savez; any image size, 1 or 3 channels, any number of classes; the path is
    # relative to this file
    data=Data(source="../data/my_data.npz", validation=0.2),
    budget=Budget(epochs=5, batch_size=32),
    objective=Objective("val_accuracy"),
    sampler="tpe",
    trials=8,
    workers="auto",
    seed=0,
)

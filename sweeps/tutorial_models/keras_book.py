"""The R/keras book's VGG-like model on 8 classes (sweeps/vgg_8class.py): two blocks of two
3x3 convolutions, max pooling and dropout, then two dense layers of 256 with dropout."""

import keras
from keras import layers


def vgg2(params, input_shape, num_classes):
    """conv32-conv32-pool-dropout .25, conv64-conv64-pool-dropout .25, flatten,
    2 x (dense 256-dropout .5), softmax (1,182,248 parameters for 8 classes)."""
    activation = params.get("activation", "relu")
    filters_1, filters_2 = params.get("filters_1", 32), params.get("filters_2", 64)
    dense_dropout = params.get("dense_dropout", 0.5)

    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(filters_1, 3, padding="same")(inputs)
    x = layers.Activation(activation)(x)
    x = layers.Conv2D(filters_1, 3, padding="same")(x)
    x = layers.Activation(activation)(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(params.get("dropout_1", 0.25))(x)

    x = layers.Conv2D(filters_2, 3, padding="same")(x)
    x = layers.Activation(activation)(x)
    x = layers.Conv2D(filters_2, 3, padding="same")(x)
    x = layers.Activation(activation)(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(params.get("dropout_2", 0.25))(x)

    x = layers.Flatten()(x)
    x = layers.Dense(params.get("units_1", 256))(x)
    x = layers.Activation(activation)(x)
    x = layers.Dropout(dense_dropout)(x)
    x = layers.Dense(params.get("units_2", 256))(x)
    x = layers.Activation(activation)(x)
    x = layers.Dropout(dense_dropout)(x)

    x = layers.Dense(num_classes)(x)
    outputs = layers.Activation("softmax", dtype="float32")(x)  # float32 under mixed precision
    return keras.Model(inputs, outputs, name="vgg2")

"""The Deep Learning Lab's three-block CNN (sweeps/cnn3_sgd.py): three blocks of a 3x3
convolution, max pooling and dropout, then a dense layer of 80 with dropout."""

import keras
from keras import layers


def cnn3(params, input_shape, num_classes):
    """conv32-pool-dropout .3, conv64-pool-dropout .3, conv128-pool-dropout .4 (same
    padding), flatten, dense 80-dropout .3, softmax (257,978 parameters for 10 classes)."""
    activation = params.get("activation", "relu")

    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(params.get("filters_1", 32), 3, padding="same")(inputs)
    x = layers.Activation(activation)(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(params.get("dropout_1", 0.3))(x)

    x = layers.Conv2D(params.get("filters_2", 64), 3, padding="same")(x)
    x = layers.Activation(activation)(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(params.get("dropout_2", 0.3))(x)

    x = layers.Conv2D(params.get("filters_3", 128), 3, padding="same")(x)
    x = layers.Activation(activation)(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(params.get("dropout_3", 0.4))(x)

    x = layers.Flatten()(x)
    x = layers.Dense(params.get("units_1", 80))(x)
    x = layers.Activation(activation)(x)
    x = layers.Dropout(params.get("dense_dropout", 0.3))(x)

    x = layers.Dense(num_classes)(x)
    outputs = layers.Activation("softmax", dtype="float32")(x)  # float32 under mixed precision
    return keras.Model(inputs, outputs, name="cnn3")

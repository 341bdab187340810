"""The Deep Learning Quick Reference's conv-batch-norm network
(sweeps/convbn_augmentation.py): two blocks of a 3x3 convolution (valid padding), batch
normalisation and max pooling, then dense 512 and 256 with dropout."""

import keras
from keras import layers

#: Momentum of batch norm's moving statistics: 0.9 rather than Keras' 0.99, for short
#: trainings (docs/reproductions.md names it among the differences from the book).
BN_MOMENTUM = 0.9


def convbn(params, input_shape, num_classes):
    """conv64-BN-pool, conv32-BN-pool (valid padding), flatten, dense 512-dropout .2,
    dense 256-dropout .2, softmax (744,874 parameters, 192 of them not trained)."""
    activation = params.get("activation", "relu")
    dropout = params.get("dense_dropout", 0.2)

    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(params.get("filters_1", 64), 3, activation=activation)(inputs)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.MaxPooling2D(2)(x)

    x = layers.Conv2D(params.get("filters_2", 32), 3, activation=activation)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    x = layers.MaxPooling2D(2)(x)

    x = layers.Flatten()(x)
    x = layers.Dense(params.get("units_1", 512), activation=activation)(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(params.get("units_2", 256), activation=activation)(x)
    x = layers.Dropout(dropout)(x)

    # float32 under mixed precision
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="convbn")

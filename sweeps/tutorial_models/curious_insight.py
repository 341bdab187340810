"""Curious Insight's four models, each a step on the one before: SimpleNet (dense layers
only), ConvNet (strided convolutions and global pooling), ConvNet2 (a 5x5 stem, then
strided conv-activation-batch-norm layers) and a small ResNet (residual layers added to
ConvNet2's). Sweeps: sweeps/convnet.py, convnet2.py and convnet_resnet.py.

Adam at learning rate 0.01, batch 256, flips and shifts of 0.1 are the sweeps' settings, not
the models'.
"""

import keras
from keras import layers

#: Momentum of batch norm's moving statistics: 0.9 rather than Keras' 0.99, for short
#: trainings (docs/reproductions.md names it among the differences from the tutorial).
BN_MOMENTUM = 0.9

#: The widths of ConvNet2's and the ResNet's five stages (``filters_1`` … ``filters_5``).
WIDTHS = (10, 20, 40, 80, 160)


def _global_pooling(params):
    """Global max pooling, as the tutorial's models end (``pooling: avg``: average)."""
    if params.get("pooling", "max") == "avg":
        return layers.GlobalAveragePooling2D()
    return layers.GlobalMaxPooling2D()


def _softmax(x, num_classes):
    x = layers.Dense(num_classes)(x)
    return layers.Activation("softmax", dtype="float32")(x)  # float32 under mixed precision


def simplenet(params, input_shape, num_classes):
    """flatten, ``dense_layers`` x (dense ``units_i``), softmax: 1 x 40 as the tutorial's
    first model (123,330 parameters)."""
    activation = params.get("activation", "relu")
    inputs = keras.Input(shape=input_shape)
    x = layers.Flatten()(inputs)
    for i in range(1, params.get("dense_layers", 1) + 1):
        x = layers.Dense(params.get(f"units_{i}", 40))(x)
        x = layers.Activation(activation)(x)
    return keras.Model(inputs, _softmax(x, num_classes), name="simplenet")


def convnet(params, input_shape, num_classes):
    """3 x conv(3x3, stride 2, valid padding) of 20, 40 and 80 filters, global max pooling,
    softmax (37,490 parameters)."""
    activation = params.get("activation", "relu")
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for i, width in enumerate((20, 40, 80), start=1):
        x = layers.Conv2D(params.get(f"filters_{i}", width), 3, strides=2)(x)
        x = layers.Activation(activation)(x)
    x = _global_pooling(params)(x)
    return keras.Model(inputs, _softmax(x, num_classes), name="convnet")


def _conv_layer(x, filters, strides, params, l2=0.0):
    """The tutorial's ConvLayer: conv 3x3 (same padding, no bias) - activation - batch norm."""
    regularizer = keras.regularizers.L2(l2) if l2 else None
    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                      kernel_regularizer=regularizer)(x)
    x = layers.Activation(params.get("activation", "relu"))(x)
    return layers.BatchNormalization(momentum=BN_MOMENTUM)(x)


def _res_layer(x, filters, params, l2=0.0):
    """The tutorial's ResLayer: x + ConvLayer(x), stride 1."""
    return layers.Add()([x, _conv_layer(x, filters, 1, params, l2)])


def _stem(inputs, kernel_size, params):
    """The first convolution (stride 1, same padding) at full resolution, and its activation."""
    x = layers.Conv2D(params.get("filters_1", WIDTHS[0]), kernel_size, padding="same")(inputs)
    return layers.Activation(params.get("activation", "relu"))(x)


def convnet2(params, input_shape, num_classes):
    """conv 5x5 of 10 filters, 4 x ConvLayer(stride 2) of 20, 40, 80 and 160 filters, global
    max pooling, softmax (156,570 parameters, 600 of them not trained)."""
    inputs = keras.Input(shape=input_shape)
    x = _stem(inputs, 5, params)
    for i, width in enumerate(WIDTHS[1:], start=2):
        x = _conv_layer(x, params.get(f"filters_{i}", width), 2, params)
    x = _global_pooling(params)(x)
    return keras.Model(inputs, _softmax(x, num_classes), name="convnet2")


def resnet_small(params, input_shape, num_classes):
    """conv 7x7 of 10 filters, then 4 stages of ConvLayer(stride 2) and ``res_layers`` (2)
    ResLayers, with an L2 penalty of ``l2`` (1e-6) on their convolutions; global max pooling,
    dropout .1, softmax (771,690 parameters, 1,800 of them not trained)."""
    l2 = params.get("l2", 1e-6)
    inputs = keras.Input(shape=input_shape)
    x = _stem(inputs, 7, params)
    for i, width in enumerate(WIDTHS[1:], start=2):
        filters = params.get(f"filters_{i}", width)
        x = _conv_layer(x, filters, 2, params, l2)
        for _ in range(params.get("res_layers", 2)):
            x = _res_layer(x, filters, params, l2)
    x = _global_pooling(params)(x)
    if params.get("dropout_rate", 0.1) > 0:
        x = layers.Dropout(params.get("dropout_rate", 0.1))(x)
    return keras.Model(inputs, _softmax(x, num_classes), name="resnet_small")

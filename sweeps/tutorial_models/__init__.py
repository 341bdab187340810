"""The tutorials' models, as a reader of each tutorial wrote them: plain Keras functions
``build(params, input_shape, num_classes)`` that the tutorial sweeps pass as ``model=``.

One module per tutorial (docs/reproductions.md compares each tutorial's figure with ours):

- ``keras_book``: the R/keras book's VGG-like model, ``vgg2`` (sweeps/vgg_8class.py);
- ``deep_learning_lab``: the Deep Learning Lab's three-block CNN, ``cnn3``
  (sweeps/cnn3_sgd.py);
- ``curious_insight``: Curious Insight's ``simplenet``, ``convnet``, ``convnet2`` and
  ``resnet_small`` (sweeps/convnet.py, convnet2.py, convnet_resnet.py);
- ``quick_reference``: the Deep Learning Quick Reference's conv-BN network, ``convbn``
  (sweeps/convbn_augmentation.py).

Each width, dropout rate and head size is read from ``params`` with the tutorial's value as
its default, so a space sweeps it by naming it (``units_1: {grid: [80, 160]}``); the
activation is ``params.get("activation", "relu")``. Each model ends in a softmax; the framework
compiles it with the trial's optimizer and adds the trial's augmentation in front of it.

The package is named ``tutorial_models`` rather than ``models``: a sweep file's folder goes
first on ``sys.path``, and a name as common as ``models`` would hide a user's own ``models``
module from every sweep kept beside these.
"""

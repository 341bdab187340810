"""Curious Insight's small ResNet: a 7x7 stem, then four stages of a strided conv-ReLU-BN
layer and two residual layers (x + conv-ReLU-BN(x)), global max pooling and dropout 0.1
(docs/reproductions.md).

First trial (the first grid point): widths 10-20-40-80-160, L2 1e-6 on the convolutions,
Adam learning rate 0.01, batch 256, flips and shifts of 0.1, validated on the test set (as
the tutorial did), 40 epochs in the tutorial (``--epochs 40``; its log reaches 0.74 validation
accuracy by epoch 28). The grid around it varies the residual layers per stage and the
learning rate.

Budget: not measured here; an epoch is about 4 times ConvNet2's arithmetic (ConvNet2 takes
about 30 seconds an epoch on 2 CPU cores), so the file's default is 10 epochs a trial and
4 trials.
"""

from tutorial_models.curious_insight import resnet_small

from cifar_search import Augmentation, Budget, Data, Objective, Sweep

sweep = Sweep(
    name="convnet_resnet",
    space="../search_spaces/convnet_resnet.yaml",
    model=resnet_small,
    data=Data(validation="test"),
    budget=Budget(epochs=10, batch_size=256),
    augmentation=Augmentation(flip=True, shift=0.1),
    objective=Objective("val_accuracy"),
    sampler="grid",
    trials=4,
    workers=1,
    seed=0,
)

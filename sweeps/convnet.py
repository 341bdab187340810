"""Curious Insight's ConvNet: three strided convolutions and global max pooling
(docs/reproductions.md).

First trial (the first grid point): conv 20-40-80, 3x3, stride 2, valid padding, global max
pooling, Adam learning rate 0.01, batch 256, flips and shifts of 0.1, 10 epochs, validated on
the test set (as the tutorial did: the validation score is a test score). Its figure: 0.516
validation accuracy after 10 epochs. The grid around it lowers the learning rate and swaps
the pooling.

Budget: 10 epochs of this small model take about 3 minutes on 2 CPU cores: the tutorial's
own budget is affordable.
"""

from tutorial_models.curious_insight import convnet

from cifar_search import Augmentation, Budget, Data, Objective, Sweep

sweep = Sweep(
    name="convnet",
    space="../search_spaces/convnet.yaml",
    model=convnet,
    data=Data(validation="test"),
    budget=Budget(epochs=10, batch_size=256),
    augmentation=Augmentation(flip=True, shift=0.1),
    objective=Objective("val_accuracy"),
    sampler="grid",
    trials=4,
    workers=1,
    seed=0,
)

"""Curious Insight's ConvNet2: a 5x5 stem, then strided conv-ReLU-batch-norm layers and global
max pooling (docs/reproductions.md).

First trial (the first grid point): widths 10-20-40-80-160, Adam learning rate 0.01, batch
256, flips and shifts of 0.1, 10 epochs, validated on the test set (as the tutorial did).
Its figure: 0.718 validation accuracy after 10 epochs. The grid around it lowers the learning
rate and doubles the widths.

Budget: 10 epochs take about 6 minutes on 2 CPU cores: the tutorial's own budget.
"""

from tutorial_models.curious_insight import convnet2

from cifar_search import Augmentation, Budget, Data, Objective, Sweep

sweep = Sweep(
    name="convnet2",
    space="../search_spaces/convnet2.yaml",
    model=convnet2,
    data=Data(validation="test"),
    budget=Budget(epochs=10, batch_size=256),
    augmentation=Augmentation(flip=True, shift=0.1),
    objective=Objective("val_accuracy"),
    sampler="grid",
    trials=4,
    workers=1,
    seed=0,
)

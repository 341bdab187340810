"""Depth of a VGG-style net (1 to 4 blocks), with and without batch norm, as a grid."""

from cifar_search import Budget, Objective, Sweep

sweep = Sweep(
    name="depth",
    space="../search_spaces/depth.yaml",
    model="vgg",
    budget=Budget(epochs=8, batch_size=64),
    objective=Objective("val_accuracy"),
    sampler="grid",
    workers=2,
)

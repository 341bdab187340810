"""Optimizers (and momentum where it applies) on the intro CNN; every one really trains."""

from cifar_search import Budget, Objective, Sweep

sweep = Sweep(
    name="optimizer",
    space="../search_spaces/optimizer.yaml",
    model="intro",
    budget=Budget(epochs=5, batch_size=32),
    objective=Objective("val_accuracy"),
    sampler="grid",
    workers=2,
)

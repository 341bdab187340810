"""The lesson's activation loop on its intro CNN, validation accuracy maximised."""

from cifar_search import Budget, Objective, Sweep

sweep = Sweep(
    name="activation",
    space="../search_spaces/activation.yaml",
    model="intro",
    budget=Budget(epochs=10, batch_size=32),
    objective=Objective("val_accuracy"),
    sampler="grid",
    workers=2,
)

"""The lesson's dropout loop: its dropout CNN at five dropout rates, val_loss minimised."""

from cifar_search import Budget, Objective, Sweep

sweep = Sweep(
    name="dropout",
    space="../search_spaces/dropout.yaml",
    model="dropout",
    budget=Budget(epochs=10, batch_size=32),
    objective=Objective("val_loss", "minimize"),
    sampler="grid",
    pruner="none",
    workers="auto",  # one single-threaded worker per core; the last trials take the free cores
    seed=0,
)

"""The lesson's dropout CNN over dropout rate x filters with two objectives: validation
accuracy against trainable parameters. The result is a Pareto front (the most accurate model of
each size that nothing smaller beats); a median pruner stops trials whose accuracy curve is
behind, as in a single-objective sweep, and the front's most accurate member is tested and
registered."""

from cifar_search import Budget, Objective, Sweep

sweep = Sweep(
    name="dropout_front",
    space={"parameters": {"dropout_rate": {"grid": [0.15, 0.30, 0.45, 0.60]},
                          "filters": {"grid": [8, 16, 32]}}},
    model="dropout",
    budget=Budget(epochs=10, batch_size=32),
    objective=Objective(["val_accuracy", "params"], pick="val_accuracy"),
    sampler="grid",
    pruner="median",
    workers="auto",
    seed=0,
)

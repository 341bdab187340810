"""Learning rate on a log scale: TPE proposes, the median pruner stops hopeless trials."""

from cifar_search import Budget, Objective, Pruner, Sampler, Sweep

sweep = Sweep(
    name="learning_rate",
    space="../search_spaces/learning_rate.yaml",
    model="dropout",
    budget=Budget(epochs=8, batch_size=64),
    objective=Objective("val_loss"),
    sampler=Sampler("tpe", {"n_startup_trials": 5}),
    pruner=Pruner("median", {"n_startup_trials": 3, "n_warmup_steps": 2}),
    trials=16,
    workers=2,
)

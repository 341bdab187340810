"""The best accuracy 2 CPU cores can afford: TPE over the combined space of a batch-normalised
conv net, Hyperband pruning from epoch 2, two single-threaded workers."""

from cifar_search import Budget, Objective, Pruner, Sampler, Sweep

sweep = Sweep(
    name="cifar",
    space="../search_spaces/cifar.yaml",
    model="bnnet",
    budget=Budget(epochs=12, batch_size=128),
    objective=Objective("val_accuracy"),
    sampler=Sampler("tpe", {"n_startup_trials": 4, "multivariate": True, "group": True}),
    pruner=Pruner("hyperband", {"min_resource": 2, "reduction_factor": 3}),
    trials=30,
    workers=2,
    seed=0,
)

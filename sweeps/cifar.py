"""The best accuracy this machine can afford: TPE over the combined space, Hyperband pruning."""

from cifar_search import Budget, Objective, Pruner, Sampler, Sweep

sweep = Sweep(
    name="cifar",
    space="../search_spaces/cifar.yaml",
    model="vgg",
    budget=Budget(epochs=15, batch_size=128),
    objective=Objective("val_accuracy"),
    sampler=Sampler("tpe", {"n_startup_trials": 6, "multivariate": True, "group": True}),
    pruner=Pruner("hyperband", {"min_resource": 2, "reduction_factor": 3}),
    trials=30,
    workers=2,
    seed=0,
)

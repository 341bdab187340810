"""The best accuracy 2 CPU cores can afford: TPE over a batch-normalised conv net trained with
augmentation and a cosine schedule, Hyperband pruning from epoch 3, two single-threaded
workers."""

from cifar_search import Budget, Objective, Pruner, Sampler, Sweep

sweep = Sweep(
    name="cifar",
    space="../search_spaces/cifar.yaml",
    model="bnnet",
    budget=Budget(epochs=15, batch_size=128),
    objective=Objective("val_accuracy"),
    sampler=Sampler("tpe", {"n_startup_trials": 4, "multivariate": True, "group": True}),
    pruner=Pruner("hyperband", {"min_resource": 3, "reduction_factor": 3}),
    trials=20,
    workers=2,
    seed=0,
)

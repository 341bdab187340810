"""The best accuracy 2 CPU cores reach in 30 minutes (B6 in docs/performance.md): the fastnet
recipe (48-96-192 filters, learning rate 0.1, weight decay 5e-4, label smoothing 0.2) as the
first trial, then TPE around it with successive halving from epoch 4 (the pruned search that
measured best in B4). One worker with both cores: a trial trains 1.85x faster on two threads
than on one, and the first trial to reach a target is what counts here; over hours,
`--workers 2` trains about 1.1x more images per second."""

from cifar_search import Budget, Data, Objective, Pruner, Sampler, Sweep

sweep = Sweep(
    name="cifar",
    space="../search_spaces/cifar.yaml",
    model="fastnet",
    data=Data(validation=0.1),
    budget=Budget(epochs=24, batch_size=256),
    objective=Objective("val_accuracy"),
    sampler=Sampler("tpe", {"n_startup_trials": 4, "multivariate": True, "group": True}),
    pruner=Pruner("successive_halving", {"min_resource": 4, "reduction_factor": 3}),
    options={"optuna": {"start": [{"filters": 48, "learning_rate": 0.1, "weight_decay": 5.0e-4,
                                   "label_smoothing": 0.2}]}},
    trials=20,
    workers=1,
    seed=0,
)

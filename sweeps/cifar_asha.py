"""The `cifar` sweep (the fastnet recipe first, then TPE around it) searched over budgets that
fit its half hour: pruner 'asha' trains a new trial for 4 epochs with its cosine schedule
ending at epoch 4, promotes the top third of each rung to 12 epochs and then to the full 24,
each time from scratch with the schedule scaled to the rung. A rung-4 score compares trials
whose learning rate has decayed, unlike `cifar`'s successive halving, which judges 24-epoch
runs at epoch 4 with the learning rate still near its peak. Beside `sweeps/cifar.py` (kept as
B6's earlier baseline) rather than in place of it: `benchmarks/bench_cifar.py --sweep
sweeps/cifar_asha.py` runs the reference and this sweep side by side."""

from cifar_search import Budget, Data, Objective, Pruner, Sampler, Sweep

sweep = Sweep(
    name="cifar_asha",
    space="../search_spaces/cifar.yaml",
    model="fastnet",
    data=Data(validation=0.1),
    budget=Budget(epochs=24, batch_size=256),
    objective=Objective("val_accuracy"),
    sampler=Sampler("tpe", {"n_startup_trials": 4, "multivariate": True, "group": True}),
    pruner=Pruner("asha", {"rungs": [4, 12, 24], "reduction_factor": 3}),
    options={"optuna": {"start": [{"filters": 48, "learning_rate": 0.1, "weight_decay": 5.0e-4,
                                   "label_smoothing": 0.2}]}},
    trials=40,
    workers=1,
    seed=0,
)

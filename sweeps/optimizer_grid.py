"""The lesson's GridSearchCV over optimizers: intro CNN, SGD / RMSprop / Adam, 2 epochs, batch
32, 3-fold cross-validation, accuracy.

Run it through both engines and compare:

    python -m cifar_search run sweeps/optimizer_grid.py --engine sklearn   # GridSearchCV
    python -m cifar_search run sweeps/optimizer_grid.py                    # Optuna grid
    python -m cifar_search run sweeps/optimizer_grid.py --engine sklearn --as-written
    python -m cifar_search compare sweeps/optimizer_grid.py
"""

from cifar_search import Budget, Objective, Sweep

sweep = Sweep(
    name="optimizer_grid",
    space="../search_spaces/optimizer_grid.yaml",
    model="intro",
    budget=Budget(epochs=2, batch_size=32),
    objective=Objective("val_accuracy"),
    sampler="grid",
    options={"sklearn": {"cv": 3}},  # the --engine sklearn run: 3-fold cross-validation
    workers=2,
    seed=0,
)

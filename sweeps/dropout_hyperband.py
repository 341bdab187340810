"""The lesson's dropout CNN with KerasTuner's Hyperband choosing the dropout rate (engine
'kerastuner'): 9 epochs at most, rungs at 1, 3 and 9 epochs; a trial of a later round goes on
from the earlier trial's checkpoint.

    python -m cifar_search run sweeps/dropout_hyperband.py
    python -m cifar_search compare sweeps/dropout_hyperband.py
"""

from cifar_search import Budget, Objective, Oracle, Sweep

sweep = Sweep(
    name="dropout_hyperband",
    space={"parameters": {"dropout_rate": {"type": "float", "low": 0.0, "high": 0.8}}},
    model="dropout",
    budget=Budget(epochs=9, batch_size=32),
    objective=Objective("val_loss"),
    engine="kerastuner",
    options={"kerastuner": {"oracle": Oracle("hyperband", {"factor": 3})}},
    workers=2,
    seed=0,
)

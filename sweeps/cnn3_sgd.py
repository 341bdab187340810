"""The Deep Learning Lab's three-block CNN with SGD (docs/reproductions.md).

First trial (the first grid point): 3 x (conv-pool-dropout: 32/.3, 64/.3, 128/.4, same
padding), dense 80 with dropout .3, SGD learning rate 0.01 with momentum 0.9, batch 64,
40,000 images to train and 10,000 to validate. Its figure: 77.37% test accuracy after 100
epochs (78.22% at 150). The grid around it varies the learning rate and the dense width.

Budget: the tutorial's 100 epochs are a GPU budget (``--epochs 100``). On 2 CPU cores an
epoch takes about a minute, so the file's default is 10 epochs a trial and 6 trials.
"""

from tutorial_models.deep_learning_lab import cnn3

from cifar_search import Budget, Data, Objective, Sweep

sweep = Sweep(
    name="cnn3_sgd",
    space="../search_spaces/cnn3_sgd.yaml",
    model=cnn3,
    data=Data(validation=0.2),
    budget=Budget(epochs=10, batch_size=64),
    objective=Objective("val_accuracy"),
    sampler="grid",
    trials=6,
    workers=1,
    seed=0,
)

"""The R/keras book's VGG-like model on 8 of the 10 classes (docs/reproductions.md).

Its configuration is the first trial (the first grid point): 2 x (conv-conv-pool-dropout .25),
2 x dense 256 with dropout .5, Adam, batch 50, flips, shifts of 0.2 and rotations of 15
degrees, validated on the 8000 test images of its 8 classes (as the book's valid/ folder
was), early stopping on validation accuracy with patience 10, ending with the weights of the
best epoch by validation loss (the book's best-only checkpoint), at most 100 epochs. Its
figure: validation accuracy about 0.80 at epoch 64. The grid around it varies the dropout
and the dense width.

Budget: the book's 100 epochs are a GPU budget (``--epochs 100``). On 2 CPU cores an epoch
of the 40,000 images takes about 3 minutes, so the file's default is 10 epochs a trial and
4 trials, about 2 hours; ``--subset 8000`` makes it about 5 times cheaper.

The book does not say which 8 classes its folder held: these are CIFAR-10's first 8.
"""

from tutorial_models.keras_book import vgg2

from cifar_search import Augmentation, Budget, Data, EarlyStopping, Objective, Sweep

sweep = Sweep(
    name="vgg_8class",
    space="../search_spaces/vgg_8class.yaml",
    model=vgg2,
    data=Data(classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                       "horse"), validation="test"),
    budget=Budget(epochs=10, batch_size=50,
                  early_stopping=EarlyStopping("val_accuracy", 10, keep_best="val_loss")),
    augmentation=Augmentation(flip=True, shift=0.2, rotation=15),
    objective=Objective("val_accuracy"),
    sampler="grid",
    trials=4,
    workers=1,
    seed=0,
)

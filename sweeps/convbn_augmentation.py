"""The Deep Learning Quick Reference's conv-batch-norm network, with and without augmentation
(docs/reproductions.md).

First trial (the first grid point): conv 64 and conv 32 (3x3, valid padding), each with ReLU,
batch norm and max pooling, dense 512 and 256 with dropout 0.2, Adam, batch 32, flips,
rotations of 20 degrees and shifts of 0.02; trained on the 50,000 training images, validated
on a seeded half of the test set (5,000 images; the other half is the test set). The second
grid point is the same network without augmentation: the book's two curves (it reports no
figure: without augmentation it overfits much earlier). Then both again with more dropout.

Budget: the book's 200 epochs are a GPU budget (``--epochs 200``); an epoch of the 50,000
images takes over a minute on 2 CPU cores, so the file's default is 10 epochs a trial and 4 trials.
``compute=Compute(data_parallel=True)`` trains each trial on all of a worker's GPUs at
once, as the book's multi_gpu_model did.
"""

from tutorial_models.quick_reference import convbn

from cifar_search import Budget, Data, Objective, Sweep

sweep = Sweep(
    name="convbn_augmentation",
    space="../search_spaces/convbn_augmentation.yaml",
    model=convbn,
    data=Data(validation="test_half"),
    budget=Budget(epochs=10, batch_size=32),
    objective=Objective("val_loss"),
    sampler="grid",
    trials=4,
    workers=1,
    seed=0,
)

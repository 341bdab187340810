"""The trial input pipeline: every image once per epoch, reshuffled, threads capped."""

import numpy as np
import pytest

from cifar_search.model.pipeline import batches, worker_threads


def arrays(n=10):
    x = np.arange(n, dtype="float32").reshape(n, 1, 1, 1) * np.ones((1, 2, 2, 3), "float32")
    return x, np.arange(n, dtype="int32")


def epoch(dataset):
    """The labels of one pass, in order, and the batch sizes."""
    labels, sizes = [], []
    for images, y in dataset:
        assert np.array_equal(images.numpy()[:, 0, 0, 0], y.numpy())  # images stay with labels
        labels += y.numpy().tolist()
        sizes.append(int(y.shape[0]))
    return labels, sizes


def test_every_image_once_per_epoch_in_batches():
    labels, sizes = epoch(batches(*arrays(10), 4, seed=0))
    assert sorted(labels) == list(range(10))
    assert sizes == [4, 4, 2]


def test_reshuffled_every_epoch_and_reproducible_by_seed():
    dataset = batches(*arrays(50), 8, seed=3)
    first, second = epoch(dataset)[0], epoch(dataset)[0]
    assert first != second and sorted(first) == sorted(second)
    assert epoch(batches(*arrays(50), 8, seed=3))[0] == first
    assert epoch(batches(*arrays(50), 8, seed=4))[0] != first


def test_an_epochs_order_depends_only_on_the_seed_and_the_epoch():
    dataset = batches(*arrays(50), 8, seed=3)
    orders = [epoch(dataset)[0] for _ in range(3)]
    resumed = batches(*arrays(50), 8, seed=3, first_epoch=1)  # a trial resumed at epoch 1
    assert [epoch(resumed)[0] for _ in range(2)] == orders[1:]
    assert resumed.cardinality() == 7


def test_without_seed_the_order_is_kept():
    assert epoch(batches(*arrays(10), 3))[0] == list(range(10))


def test_the_thread_pool_is_the_workers_share():
    options = batches(*arrays(), 4, threads=1).options()
    assert options.threading.private_threadpool_size == 1
    assert options.threading.max_intra_op_parallelism == 1
    default = batches(*arrays(), 4).options().threading.private_threadpool_size
    assert default == worker_threads() >= 1


def test_mismatched_lengths_are_refused():
    x, y = arrays(5)
    with pytest.raises(ValueError, match="x has 5 images but y has 4 labels"):
        batches(x, y[:4], 2)


def test_arrays_are_converted_once_and_new_arrays_are_not_confused():
    x, y = arrays(6)
    first = next(iter(batches(x, y, 6)))[1].numpy().tolist()
    again = next(iter(batches(x, y, 6)))[1].numpy().tolist()
    other = next(iter(batches(x, y[::-1].copy(), 6)))[1].numpy().tolist()
    assert first == again == list(range(6))
    assert other == list(range(5, -1, -1))


def test_the_tensor_of_an_array_is_made_once():
    from cifar_search.model import pipeline

    x, _ = arrays(4)
    assert pipeline._tensor(x) is pipeline._tensor(x)
    assert pipeline._tensor(x.copy()) is not pipeline._tensor(x)


def test_uint8_images_are_scaled_to_the_same_floats_as_the_cached_split():
    pixels = np.arange(256, dtype="uint8").reshape(4, 8, 8, 1).repeat(3, axis=-1)
    labels = np.arange(4, dtype="int32")
    images = np.concatenate([b.numpy() for b, _ in batches(pixels, labels, 3)])
    assert images.dtype == np.float32
    assert np.array_equal(images, np.divide(pixels, 255, dtype=np.float32))

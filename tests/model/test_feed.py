"""How a trial's arrays reach the model: the choice of path (pure), and the ``PyDataset`` of
Keras's JAX backend without TensorFlow, with the pipeline's semantics."""

import keras
import numpy as np
import pytest

from cifar_search.execution.backend import InputPath, input_path, tensorflow_installed
from cifar_search.model import feed
from cifar_search.model.feed import ArrayBatches, EpochOrder


@pytest.mark.parametrize("backend, tensorflow, path", [
    ("tensorflow", True, InputPath.TF_DATA),
    ("tensorflow", False, InputPath.TF_DATA),  # it cannot train there anyway: TF's own error
    ("jax", True, InputPath.TF_DATA),          # as before: tf.data where TensorFlow is
    ("jax", False, InputPath.ARRAYS),
])
def test_the_input_path_is_tf_data_wherever_tensorflow_is(backend, tensorflow, path):
    assert input_path(backend, tensorflow) is path


def test_a_blocked_tensorflow_reads_as_not_installed(monkeypatch):
    assert tensorflow_installed()  # this environment's
    monkeypatch.setitem(__import__("sys").modules, "tensorflow", None)
    assert not tensorflow_installed()


def arrays(n=10, dtype="float32"):
    x = np.arange(n).reshape(n, 1, 1, 1) * np.ones((1, 2, 2, 3))
    return x.astype(dtype), np.arange(n, dtype="int32")


def epoch(dataset, number=None):
    """The labels of one pass at epoch ``number`` (as :class:`EpochOrder` sets it), and the
    batch sizes."""
    if number is not None:
        EpochOrder(dataset).on_epoch_begin(number)
    labels, sizes = [], []
    for i in range(len(dataset)):
        images, y = dataset[i]
        assert np.array_equal(images[:, 0, 0, 0], y)  # images stay with labels
        labels += y.tolist()
        sizes.append(len(y))
    return labels, sizes


def test_every_image_once_per_epoch_in_batches():
    labels, sizes = epoch(ArrayBatches(*arrays(10), 4, seed=0))
    assert sorted(labels) == list(range(10)) and sizes == [4, 4, 2]


def test_an_epochs_order_depends_only_on_the_seed_and_the_epoch():
    dataset = ArrayBatches(*arrays(50), 8, seed=3)
    orders = [epoch(dataset, e)[0] for e in range(3)]
    assert len({tuple(o) for o in orders}) == 3
    assert all(sorted(o) == list(range(50)) for o in orders)
    resumed = ArrayBatches(*arrays(50), 8, seed=3, first_epoch=1)  # a trial resumed at 1
    assert epoch(resumed)[0] == orders[1]
    assert [epoch(resumed, e)[0] for e in (1, 2)] == orders[1:]
    assert epoch(ArrayBatches(*arrays(50), 8, seed=4), 0)[0] != orders[0]


def test_without_seed_the_order_is_kept():
    assert epoch(ArrayBatches(*arrays(10), 3), 5)[0] == list(range(10))


def test_uint8_images_are_scaled_as_the_pipeline_scales_them():
    x, y = arrays(6, "uint8")
    x[:] = np.arange(6, dtype="uint8").reshape(6, 1, 1, 1) * 40
    images, _ = ArrayBatches(x, y, 6)[0]
    assert images.dtype == np.float32
    np.testing.assert_array_equal(images, np.divide(x, 255, dtype="float32"))


def test_mismatched_lengths_are_refused():
    x, y = arrays(5)
    with pytest.raises(ValueError, match="x has 5 images but y has 4 labels"):
        ArrayBatches(x, y[:4], 2)


def test_fit_sets_each_epochs_order_through_its_callback():
    """Keras reads a batch before the first epoch and calls the dataset's own hooks more than
    once per epoch: the callback gives each epoch its number from ``initial_epoch`` on."""
    dataset = ArrayBatches(*arrays(12), 4, seed=1, first_epoch=2)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(("begin", epoch))

        def on_train_batch_begin(self, batch, logs=None):
            seen.append(("read", dataset.epoch))

    model = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(12)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(dataset, epochs=4, initial_epoch=2, verbose=0,
              callbacks=[*feed.callbacks(dataset), Record()])
    assert [e for kind, e in seen if kind == "begin"] == [2, 3]
    assert {e for kind, e in seen if kind == "read"} == {2, 3}
    assert feed.callbacks(object()) == []

"""Data sets named by their Keras name (``cifar10``, ``cifar100``, ``mnist``,
``fashion_mnist``), downloaded through ``keras.datasets.<name>.load_data()``.

Keras keeps what it downloads in ``~/.keras/datasets``, so a machine downloads each once. A
machine without internet gets one line saying how to give a local copy instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from cifar_search.config.specs import KERAS_DATASETS
from cifar_search.errors import DataError
from cifar_search.model.sources.arrays import from_arrays
from cifar_search.model.sources.base import ACCEPTED, ENV_VAR, Decoded, Limits, fine_only, reason

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
#: CIFAR-100's 100 fine classes (its meta file's order).
CIFAR100_FINE = tuple("""apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl
boy bridge bus butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud
cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster
house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle
mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain
plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk
skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone
television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman
worm""".split())
#: CIFAR-100's 20 coarse classes (superclasses).
CIFAR100_COARSE = tuple("""aquatic_mammals fish flowers food_containers fruit_and_vegetables
household_electrical_devices household_furniture insects large_carnivores
large_man-made_outdoor_things large_natural_outdoor_scenes large_omnivores_and_herbivores
medium_mammals non-insect_invertebrates people reptiles small_mammals trees vehicles_1
vehicles_2""".split())
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
#: What to download elsewhere and give with --data, by Keras name.
_LOCAL_COPY = {
    "cifar100": "download cifar-100-python.tar.gz (https://www.cs.toronto.edu/~kriz/"
                "cifar.html) on a machine with internet and give --data "
                "/path/to/cifar-100-python.tar.gz",
    "mnist": "download mnist.npz (https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
             "mnist.npz) on a machine with internet and give --data /path/to/mnist.npz",
    "fashion_mnist": "on a machine with internet, save keras.datasets.fashion_mnist.load_data()"
                     " with numpy.savez('fashion_mnist.npz', x_train=..., y_train=..., "
                     "x_test=..., y_test=...) and give --data /path/to/fashion_mnist.npz",
}


@dataclass(frozen=True)
class KerasDataset:
    """A data set named by its Keras name, downloaded when it is first prepared.

    Example:
        >>> str(KerasDataset("mnist"))
        'keras.datasets.mnist'
    """

    name: str

    def __str__(self) -> str:
        return f"keras.datasets.{self.name}"


def keras_dataset(text: str) -> KerasDataset | None:
    """The Keras data set named by ``text`` (exactly one of :data:`KERAS_DATASETS`), else None.

    Example:
        >>> keras_dataset("fashion_mnist"), keras_dataset("./mnist")
        (KerasDataset(name='fashion_mnist'), None)
    """
    return KerasDataset(text) if text in KERAS_DATASETS else None


def download(dataset: KerasDataset | None = None, labels: str = "fine",
             limits: Limits | None = None) -> Decoded:
    """A Keras data set (None: CIFAR-10), or a DataError saying how to give a local copy.

    Args:
        dataset: which one; None is CIFAR-10, as when no source is given.
        labels: ``fine`` or ``coarse`` (CIFAR-100 only).
        limits: what the data may cost (the defaults when None).

    Raises:
        DataError: the download failed (no internet, a proxy, a broken file), or ``labels``
            is ``coarse`` for another data set than CIFAR-100.
    """
    name = "cifar10" if dataset is None else dataset.name
    where = str(KerasDataset(name))
    if name != "cifar100":
        fine_only(labels, where)
    try:
        (x_train, y_train), (x_test, y_test) = _keras_load(name, labels)
    except Exception as error:  # noqa: BLE001 (no network, proxy, broken download: one error)
        raise _cannot_download(name, error) from None
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test,
              "class_names": _class_names(name, labels)}
    return from_arrays(arrays, where, limits or Limits())


def _keras_load(name: str, labels: str) -> tuple:
    """``keras.datasets.<name>.load_data()``, TensorFlow imported quietly (none on JAX without
    TensorFlow: :func:`cifar_search.execution.backend.uses_tensorflow`) and Keras' own lines
    ("Downloading data from …", its byte counter) kept off the terminal: the session's step
    line says the data is loading."""
    from cifar_search import quiet
    from cifar_search.execution.backend import uses_tensorflow

    if uses_tensorflow():
        quiet.import_tensorflow()
    else:
        quiet.import_keras()
    import keras

    module = getattr(keras.datasets, name)
    interactive = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()  # its messages go to absl's INFO log instead
    try:
        return module.load_data(label_mode=labels) if name == "cifar100" else module.load_data()
    finally:
        if interactive:
            keras.config.enable_interactive_logging()


def _class_names(name: str, labels: str) -> tuple[str, ...]:
    """The class names of a Keras data set, in label order."""
    if name == "cifar100":
        return CIFAR100_FINE if labels == "fine" else CIFAR100_COARSE
    return {"cifar10": CIFAR10_CLASSES, "fashion_mnist": FASHION_CLASSES}.get(
        name, tuple(str(k) for k in range(10)))


def _cannot_download(name: str, error: BaseException) -> DataError:
    """The error of a failed download, saying how to give a local copy."""
    why = f"{type(error).__name__}: {reason(error)}"
    if name == "cifar10":
        return DataError(f"CIFAR-10 could not be downloaded ({why}); supply it with --data "
                         f"PATH or {ENV_VAR}=PATH pointing at {ACCEPTED}")
    return DataError(f"cannot download {name} ({why}); {_LOCAL_COPY[name]}")

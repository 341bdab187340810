"""What each model family and each hyperparameter accepts: plain data, no TensorFlow.

This module is the single place where the names that a search space may use are declared, so
that validating a space or a sweep never imports Keras. :mod:`cifar_search.model.build` builds the
networks described here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Optimizer names a space may use, mapped to the Keras class that trains with them.
OPTIMIZERS: dict[str, str] = {
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "nadam": "Nadam",
    "adagrad": "Adagrad",
    "adamax": "Adamax",
}

#: Optimizers that take a ``momentum`` argument.
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")

#: Activation names a space may use (``keras.activations`` names).
ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "gelu", "tanh", "sigmoid", "swish")

#: Learning-rate schedules over a trial's budget: ``constant``, or ``cosine`` (linear warm-up
#: over the first :data:`WARMUP_FRACTION` of the training steps, then cosine decay to 0).
LR_SCHEDULES = ("constant", "cosine")
WARMUP_FRACTION = 0.15

#: Largest number of per-block filter parameters (``filters_1`` … ``filters_8``), and the
#: largest ``depth`` a space may name (each family then allows at most its ``max_depth``).
MAX_BLOCKS = 8

# Upper bounds of the numeric hyperparameters. Each lies well beyond anything that trains
# usefully on 32x32 images, so that a typo (1e12 for 128) or an infinity is refused when the
# space is read instead of failing every trial (docs/robustness.md gives the reasons).

#: Filters of one convolution (any block; ``filters`` doubles per block where a family
#: doubles it). 4096 is 8x the widest VGG layer; a 3x3 4096->4096 convolution alone is 151M
#: weights (604 MB in float32), and its activations at 32x32 take 16 MiB per image.
MAX_FILTERS = 4096
#: Dense units: 4096 is the widest classic fully connected layer (AlexNet, VGG).
MAX_UNITS = 4096
#: Images per step: 65536 (2**16) exceeds CIFAR-10's 50,000 training images, so a larger
#: batch trains exactly as the whole set in one step would; it is 805 MB of float32 pixels.
MAX_BATCH_SIZE = 65536
#: Learning rate: no optimizer here trains a CNN above 10 (SGD diverges well before it).
MAX_LEARNING_RATE = 10.0
#: Weight decay: above 1, decay outweighs the weights it decays (Keras' decoupled decay
#: shrinks each weight by learning_rate x weight_decay per step).
MAX_WEIGHT_DECAY = 1.0

#: Metrics early stopping may monitor and keep the best epoch of (Keras history names).
STOP_METRICS = ("val_loss", "val_accuracy", "loss", "accuracy")
#: Largest early-stopping patience, epochs (as the largest epoch budget).
MAX_PATIENCE = 10_000
#: Largest random rotation, degrees: 180 turns an image upside down.
MAX_ROTATION = 180.0

#: ``tta: true`` evaluates (validation, test, predictions) on each image and its mirror image,
#: averaging the two logits: horizontal-flip test-time augmentation. Training is unchanged.

#: Augmentation parameters (Keras preprocessing layers, active in training only): ``flip``
#: horizontal flips, ``shift`` the largest translation as a fraction of height and width,
#: ``rotation`` the largest rotation in degrees, ``zoom`` the largest zoom as a fraction.
AUGMENTATION_PARAMS = ("flip", "shift", "rotation", "zoom")

#: Training settings that a sweep sets (``Data(classes=...)``, ``EarlyStopping``,
#: ``Compute(data_parallel=...)``) and that travel to the worker with the trial's parameters:
#: ``classes`` (comma-separated class names, '' for all), ``stop_monitor``,
#: ``stop_patience`` (0: no early stopping), ``keep_best`` (the metric whose best epoch's
#: weights are kept, '' for the last epoch's) and ``data_parallel``.
SETTING_PARAMS = ("classes", "stop_monitor", "stop_patience", "keep_best", "data_parallel")

#: Parameters every family accepts: they shape training, not the network.
TRAINING_PARAMS = frozenset(
    {"optimizer", "learning_rate", "momentum", "weight_decay", "batch_size", "augmentation",
     "lr_schedule", "label_smoothing", "tta", *AUGMENTATION_PARAMS, *SETTING_PARAMS}
)

#: The training parameters the framework's compile reads (optimizer, learning rate and its
#: schedule, loss): a model whose own ``compile`` function compiles it may not set them.
COMPILE_PARAMS = ("optimizer", "learning_rate", "momentum", "weight_decay", "lr_schedule",
                  "label_smoothing")

#: Defaults of the training parameters (``learning_rate`` None: the optimizer's Keras default).
TRAINING_DEFAULTS: dict[str, object] = {
    "optimizer": "adam",
    "learning_rate": None,
    "momentum": 0.0,
    "weight_decay": None,
    "augmentation": False,
    "lr_schedule": "constant",
    "label_smoothing": 0.0,
    "tta": False,
    "flip": False,
    "shift": 0.0,
    "rotation": 0.0,
    "zoom": 0.0,
    "classes": "",
    "stop_monitor": "",
    "stop_patience": 0,
    "keep_best": "",
    "data_parallel": False,
}


@dataclass(frozen=True)
class Family:
    """A model family: the parameters it reads and their defaults.

    Attributes:
        name: the name a sweep uses (``model="vgg"``).
        description: one line for ``--help`` and the README.
        defaults: every architecture parameter the family reads, with its default.
        max_depth: the largest ``depth`` that fits a 32x32 input (None: depth is fixed).
        widths: where depth is fixed, the multiples of ``filters`` its convolutions have;
            where it varies, block ``i`` has ``filters * 2**(i-1)`` unless ``filters_i``.
    """

    name: str
    description: str
    defaults: dict[str, object] = field(default_factory=dict)
    max_depth: int | None = None
    widths: tuple[int, ...] = (1,)

    def block_filters(self, filters: int, depth: int | None) -> list[int]:
        """Filters of each convolution block for base ``filters`` (no ``filters_i``).

        Example:
            >>> FAMILIES["vgg"].block_filters(32, 3)
            [32, 64, 128]
        """
        if self.max_depth is None or depth is None:
            return [filters * m for m in self.widths]
        return [filters * 2 ** (i - 1) for i in range(1, depth + 1)]

    @property
    def params(self) -> frozenset[str]:
        """Every parameter name this family accepts (architecture and training)."""
        names = set(self.defaults) | TRAINING_PARAMS
        if self.max_depth is not None:
            names |= {f"filters_{i}" for i in range(1, self.max_depth + 1)}
        return frozenset(names)

    @property
    def fixed_depth(self) -> bool:
        """Whether the family's blocks are fixed (its ``depth`` is not a parameter)."""
        return self.max_depth is None


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family(
            "intro",
            "the lesson's intro CNN: 3x conv(filters)-pool, flatten, dense(units), dense(10)",
            {"activation": "relu", "filters": 50, "units": 50},
            widths=(1, 1, 1),
        ),
        Family(
            "dropout",
            "the lesson's dropout CNN: conv16-pool-conv32-pool-conv64-dropout-flatten-dense10",
            {"activation": "relu", "filters": 16, "dropout_rate": 0.5},
            widths=(1, 2, 4),
        ),
        Family(
            "vgg",
            "VGG-style: depth x (conv-conv-pool-dropout), filters doubling, dense(units)-dropout",
            {
                "activation": "relu",
                "depth": 3,
                "filters": 32,
                "units": 128,
                "dropout_rate": 0.25,
                "batch_norm": False,
            },
            max_depth=5,
        ),
        Family(
            "bnnet",
            "depth x (conv-batchnorm-activation-pool), filters doubling, dense(units)-dropout",
            {"activation": "relu", "depth": 3, "filters": 32, "units": 128, "dropout_rate": 0.0},
            max_depth=5,
        ),
        Family(
            "fastnet",
            "airbench-style, fast on CPU: depth x (conv-pool-BN-act-conv-BN-act), filters "
            "doubling, global max pooling",
            {"activation": "relu", "depth": 3, "filters": 32},
            max_depth=5,
        ),
        Family(
            "resnet",
            "small ResNet: stem conv, depth stages of 2 residual blocks, global pooling, dense",
            {
                "activation": "relu",
                "depth": 3,
                "filters": 16,
                "dropout_rate": 0.0,
                "batch_norm": True,
            },
            max_depth=5,
        ),
    )
}

"""cifar_search: declarative hyperparameter sweeps of Keras CNNs, in Optuna studies, tracked in
MLflow.

The public surface is small: sweep files build a :class:`Sweep` from :class:`Data`,
:class:`Budget`, :class:`Objective`, :class:`Compute`, :class:`Sampler`, :class:`Pruner` and
:class:`Oracle` (engine ``kerastuner``), and a model of the sweep file's own with
:class:`Model`;
:func:`load_sweep` (a sweep file, with every engine's checks) and :func:`load_space` read and
validate files. Importing this package does not import TensorFlow.
"""

from cifar_search.config.parts import Oracle, Pruner, Sampler
from cifar_search.config.space import Space, load_space
from cifar_search.config.specs import Augmentation, Budget, Compute, Data, EarlyStopping, Objective
from cifar_search.config.sweep import Sweep
from cifar_search.config.user_model import Model
from cifar_search.engines import load as load_sweep
from cifar_search.errors import CifarSearchError, ConfigError, DataError, TrialError

__all__ = [
    "Augmentation",
    "Budget",
    "CifarSearchError",
    "Compute",
    "ConfigError",
    "Data",
    "DataError",
    "EarlyStopping",
    "Model",
    "Objective",
    "Oracle",
    "Pruner",
    "Sampler",
    "Space",
    "Sweep",
    "TrialError",
    "load_space",
    "load_sweep",
]

__version__ = "0.1.0"

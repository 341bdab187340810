"""What the Optuna engine checks of a sweep, whichever engine runs it: its training settings
(messages pinned)."""

import pytest

from cifar_search import Data, Sweep, engines
from cifar_search.errors import ConfigError

SPACE = {"parameters": {"dropout_rate": {"grid": [0.2, 0.4]}}}


@pytest.mark.parametrize("data", [Data(classes=["a", "b"]), Data(validation="test")])
def test_the_settings_are_for_the_optuna_engine(data):
    with pytest.raises(ConfigError, match="^engine: 'sklearn' is not allowed; data.classes, a "
                                          "test-set validation, early_stopping and data_parallel"):
        engines.check(Sweep("s", SPACE, "dropout", data=data, engine="sklearn", sampler="grid"))

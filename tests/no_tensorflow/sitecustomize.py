"""Imported at start-up by every Python process whose ``PYTHONPATH`` holds this folder (a
command a test starts, its fork server and workers): ``import tensorflow`` fails there as
where TensorFlow is not installed."""

import importlib.abc
import sys


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` and its submodules nowhere, before any other finder looks."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoTensorFlow())

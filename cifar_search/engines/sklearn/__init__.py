"""The sklearn engine: scikeras' KerasClassifier in GridSearchCV / RandomizedSearchCV."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cifar_search.errors import ConfigError

if TYPE_CHECKING:
    from cifar_search.config.sweep import Sweep
    from cifar_search.engines.base import Candidates, RunReport, Say
    from cifar_search.workspace import Workspace


def _refuse(key: str, value: Any, allowed: str) -> None:
    raise ConfigError(key, f"{value!r} is not allowed; {allowed}")


class SklearnEngine:
    """Cross-validates every candidate in one process (or joblib's); not resumable."""

    name: ClassVar[str] = "sklearn"

    def check(self, sweep: "Sweep") -> None:
        """GridSearchCV and RandomizedSearchCV, no pruner."""
        if sweep.sampler.kind not in ("grid", "random"):
            _refuse("sampler", sweep.sampler.kind, "engine 'sklearn' runs sampler 'grid' "
                    "(GridSearchCV) or 'random' (RandomizedSearchCV)")
        if sweep.pruner.kind != "none":
            _refuse("pruner", sweep.pruner.kind, "engine 'sklearn' cross-validates every "
                    "candidate fully; use pruner 'none'")

    def run(self, sweep: "Sweep", workspace: "Workspace", say: "Say",
            progress: Any = None) -> "RunReport":
        """Cross-validate every candidate and record the search in MLflow."""
        raise NotImplementedError  # filled in by engines/sklearn/engine.py (being split)

    def candidates(self, sweep: "Sweep", workspace: "Workspace") -> list["Candidates"]:
        """The newest finished search of each variant (fixed, as written)."""
        raise NotImplementedError

"""What a worker is handed: everything it needs to train one seed run, nothing it must look up."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from cifar_search.config.constraints import known_before_training
from cifar_search.config.sweep import Sweep
from cifar_search.execution.protocol import RunEnd, TrialResult, TrialTask


class Drawn(Protocol):
    """A trial as an engine holds it: its number and every parameter it trains with."""

    @property
    def number(self) -> int: ...

    @property
    def params(self) -> dict[str, Any]: ...


def trial_task(sweep: Sweep, trial: Drawn, repeat: int, seed: int, data_dir: Path,
               trial_dir: Path, resume_dir: str | None, epochs: int | None = None) -> TrialTask:
    """What a worker needs to train one seed run of ``trial`` (to ``epochs``, by default the
    sweep's budget)."""
    return TrialTask(
        number=trial.number, params=trial.params, family=sweep.model_name,
        epochs=sweep.budget.epochs if epochs is None else epochs,
        batch_size=sweep.budget.batch_size,
        patience=sweep.budget.patience, metric=sweep.objective.metric,
        direction=sweep.objective.direction, seed=seed, data_dir=str(data_dir),
        validation=sweep.data.validation, subset=sweep.data.subset, split_seed=sweep.seed,
        trial_dir=str(trial_dir), resume_dir=resume_dir,
        repeat=repeat, mixed_precision=sweep.compute.mixed_precision, xla=sweep.compute.xla,
        steps_per_execution=sweep.compute.steps_per_execution, user_model=sweep.user_model,
        constraints=known_before_training(sweep.parsed_constraints),
        measures=tuple(dict.fromkeys([  # a constraint's measure too (latency_ms alone)
            *(sweep.objective.metrics if sweep.objective.several else ()),
            *(c.measure for c in sweep.parsed_constraints)])),
    )


def no_result(epochs: int) -> TrialResult:
    """The result of a continued trial pruned on the epochs it already had."""
    return TrialResult(RunEnd.PRUNED, None, epochs)

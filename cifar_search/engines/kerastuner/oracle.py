"""The KerasTuner adapter: the only module that builds and drives a KerasTuner oracle.

The oracle chooses; it never trains. The coordinator asks it for a trial
(:meth:`OracleStore.create`), reports each epoch's metrics (:meth:`OracleStore.update`) and
ends the trial (:meth:`OracleStore.end`); KerasTuner writes its own state
(``oracle.json``, ``trial_*/trial.json``) into the sweep's folder after each call, and
:meth:`OracleStore.open` reloads it, so a run after a crash goes on where the oracle stood
(KerasTuner queues the trials that were in flight again).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cifar_search.engines.kerastuner import scheduler
from cifar_search.engines.kerastuner.options import ORACLE_CLASSES
from cifar_search.engines.kerastuner.space import hyperparameters
from cifar_search.search.states import TrialOutcome

#: Failed trials in a row after which KerasTuner would stop a search: the engine decides
#: instead (a failing trial is recorded and the sweep goes on).
NO_FAILURE_LIMIT = 1_000_000


@dataclass(frozen=True)
class Asked:
    """What the oracle answered: a trial to run (``trial``), or ``idle`` (Hyperband waits for
    a round to finish) or ``stopped`` (the search is over)."""

    trial: Any = None
    idle: bool = False
    stopped: bool = False


def build_oracle(sweep: Any, target: int) -> Any:
    """The sweep's KerasTuner oracle: its space, objective, seed, options and ``max_trials``."""
    import keras_tuner

    kind = scheduler.oracle_kind(sweep)
    direction = "min" if sweep.objective.direction == "minimize" else "max"
    cls = getattr(keras_tuner.oracles, ORACLE_CLASSES[kind])
    options = scheduler.oracle_options(sweep)
    if kind != "hyperband":  # Hyperband's brackets set its number of trials
        options["max_trials"] = target
    oracle = cls(objective=keras_tuner.Objective(sweep.objective.metric, direction),
                 hyperparameters=hyperparameters(sweep.space),
                 allow_new_entries=False, tune_new_entries=False,
                 seed=sweep.seed + 1,  # KerasTuner takes 0 for "draw a seed"
                 max_consecutive_failed_trials=NO_FAILURE_LIMIT, **options)
    if kind == "hyperband" and sweep.trials is not None:
        oracle.max_trials = target  # the base oracle stops there (HyperbandOracle has no
        # such argument, but Oracle.create_trial reads the attribute)
    return oracle


class OracleStore:
    """A sweep's oracle, its state in ``folder/oracle/``.

    Args:
        sweep: the sweep.
        folder: the engine's folder of the sweep (KerasTuner's ``directory``).
        target: trials the sweep ends with.
    """

    def __init__(self, sweep: Any, folder: Path, target: int) -> None:
        self.oracle = build_oracle(sweep, target)
        self.oracle.verbose = 0
        self.oracle._set_project_dir(str(folder), "oracle")  # what a Tuner does
        self.asked = 0

    def open(self) -> bool:
        """Reload the saved state if there is one; return whether there was."""
        if not Path(self.oracle._get_oracle_fname()).is_file():
            return False
        self.oracle.reload()
        return True

    def create(self) -> Asked:
        """Ask for the next trial (a trial that was in flight first)."""
        self.asked += 1
        trial = self.oracle.create_trial(f"cifar-search-{os.getpid()}-{self.asked}")
        if trial.status == "RUNNING":
            return Asked(trial)
        return Asked(idle=trial.status == "IDLE", stopped=trial.status == "STOPPED")

    def update(self, kt_id: str, logs: dict[str, float], step: int) -> None:
        """Report one epoch's metrics (``step``: epochs completed)."""
        self.oracle.update_trial(kt_id, dict(logs), step=step)

    def end(self, kt_id: str, outcome: TrialOutcome, reason: str | None = None) -> None:
        """End a trial as complete or failed (KerasTuner then scores it and saves itself)."""
        trial = self.oracle.get_trial(kt_id)
        trial.status = scheduler.KT_STATUS[outcome]
        trial.message = reason
        self.oracle.end_trial(trial)
        self.oracle.save()  # end_trial saves before it drops the trial from ongoing_trials

    def trial(self, kt_id: str) -> Any:
        """A trial by id (one in flight, to hand out again after its worker died)."""
        return self.oracle.get_trial(kt_id)

    def values(self, trial: Any) -> dict[str, Any]:
        """A trial's values (KerasTuner's ``tuner/…`` entries included)."""
        return dict(trial.hyperparameters.values)

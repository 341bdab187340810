"""What an engine's coordinator supplies to the session loop: its store and its decisions.

:class:`EngineHooks` is the engine's side of :class:`cifar_search.session.loop.Session`: how
its store is created, loaded, opened, counted and marked finished, what an idle worker does,
and what an epoch, an end, a failure, a fault of the machine or a worker's death means for its
trials. The methods with a body are defaults an engine may keep.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from cifar_search.execution.protocol import Done, EpochEnd, TrialTask
from cifar_search.session.best import BestStore
from cifar_search.workspace import Workspace

if TYPE_CHECKING:
    import optuna

__all__ = ["EngineHooks", "RunningT"]

#: What an engine holds of a trial in flight.
RunningT = TypeVar("RunningT")


class EngineHooks(abc.ABC, Generic[RunningT]):
    """The engine's store and decisions, called by the session loop."""

    #: Whether a run in flight may move to a wider worker at the sweep's tail.
    widens_tail: ClassVar[bool] = True

    workspace: Workspace

    def _create_stores(self) -> None:
        """Create the workspace (and stores the engine needs before its lock is taken)."""
        self.workspace.create()

    @abc.abstractmethod
    def _load(self) -> None:
        """Load the engine's store (under the lock, before anything is decided)."""

    @abc.abstractmethod
    def _open(self) -> None:
        """Open the parent run and recorder, recover a crash, say how the sweep starts."""

    @abc.abstractmethod
    def _study(self) -> optuna.Study:
        """The engine's trials as an Optuna study (for the summary and the best trial)."""

    @abc.abstractmethod
    def _trials(self) -> list[Any]:
        """The engine's trials as its :attr:`scheduler` reads them."""

    @abc.abstractmethod
    def _study_store(self) -> BestStore:
        """The study's attributes and best trial, as the engine's store keeps them."""

    @abc.abstractmethod
    def _is_done(self) -> bool:
        """Whether the study has reached its end (its parent run closes FINISHED)."""

    def _finalises(self) -> bool:
        """Whether this machine summarises the study and closes its parent run."""
        return True

    def _locate(self, number: int, recorded: str) -> str:
        """Where this machine finds trial ``number``'s model, recorded at ``recorded``."""
        return recorded

    @abc.abstractmethod
    def _give_work(self) -> None:
        """Hand idle workers what the engine decides they do next."""

    @abc.abstractmethod
    def _nothing_left(self) -> bool:
        """Whether, with no worker busy, the loop may end."""

    def _before_work(self) -> None:
        """Called at each turn of the loop before work is handed out."""

    @abc.abstractmethod
    def _record_epoch(self, running: RunningT, task: TrialTask, message: EpochEnd) -> bool:
        """Record one epoch of a run in flight; whether the trial is pruned."""

    @abc.abstractmethod
    def _on_done(self, task: TrialTask, message: Done) -> None:
        """A run ended (complete, pruned or stopped)."""

    @abc.abstractmethod
    def _on_failed(self, running: RunningT, task: TrialTask, reason: str) -> None:
        """A run of ``running`` (no longer in flight) raised ``reason``."""

    @abc.abstractmethod
    def _trial_died(self, number: int, reason: str, out_of_memory: bool = False) -> None:
        """The worker of trial ``number`` (in flight) died of ``reason``; ``out_of_memory``:
        the kernel's OOM killer ended it (the trial fails at once)."""

    @abc.abstractmethod
    def _interrupt(self, running: RunningT) -> None:
        """Record ``running`` (no longer in flight) as interrupted; its checkpoint stays."""

    def _work_waiting(self) -> bool:
        """Whether a trial would start on an idle worker (its cores are then not free)."""
        return False

    def _trained(self, task: TrialTask) -> int | None:
        """Epochs the run of ``task`` has trained (None: not a run in flight)."""
        return None

    def _moved(self, running: RunningT, task: TrialTask, threads: int) -> None:
        """The run of ``task`` goes on in a worker of ``threads`` threads."""

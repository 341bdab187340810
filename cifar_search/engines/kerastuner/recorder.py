"""What happens to a KerasTuner trial, written to the engine's records, MLflow and the oracle.

The coordinator decides (with :mod:`.scheduler`); the recorder writes: a run's record and its
MLflow child run when it starts (with the epochs it takes over from a checkpoint), each epoch
(MLflow history, the oracle's ``update_trial``), and its end (record, MLflow run, the oracle's
``end_trial``, one line for the user) or its interruption. The record is written first at each
step, so that a crash in between leaves a record that resume knows what to do with.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cifar_search.engines.kerastuner import scheduler
from cifar_search.engines.kerastuner.oracle import OracleStore
from cifar_search.engines.kerastuner.record import RecordStore, TrialRecord
from cifar_search.engines.kerastuner.scheduler import Plan, Train
from cifar_search.engines.kerastuner.study_view import tags_of
from cifar_search.model.checkpoint import read_sound_state
from cifar_search.search.labels import params_text
from cifar_search.search.states import TrialOutcome
from cifar_search.tracking.protocol import TrialTracker


@dataclass
class Running:
    """A record being trained, and when it started."""

    record: TrialRecord
    started: float = field(default_factory=time.perf_counter)


class Recorder:
    """Writes one sweep's runs to its records, its MLflow runs and its oracle.

    Args:
        store: the engine's records; oracle: the oracle adapter; tracker: the MLflow runs
        (:class:`cifar_search.tracking.protocol.TrialTracker`); plan: the sweep's settings;
        swept: the parameters that vary; say: prints one line; progress: bars, or None.
    """

    def __init__(self, store: RecordStore, oracle: OracleStore, tracker: TrialTracker,
                 plan: Plan,
                 swept: tuple[str, ...], say: Callable[[str], None], progress: Any) -> None:
        self.store, self.oracle, self.tracker, self.plan = store, oracle, tracker, plan
        self.swept, self.say, self.progress = swept, say, progress

    def start(self, start: Train) -> tuple[Running, str | None]:
        """Record a run of a trial and open its MLflow run; the checkpoint folder it goes on
        from (None: afresh)."""
        records = self.store.records()
        record = TrialRecord(
            number=max((r.number for r in records), default=-1) + 1, kt_id=start.kt_id,
            outcome=TrialOutcome.RUNNING, params=start.params, seed=start.seed,
            epochs=start.epochs, retry_of=start.retry_of, continues=start.continues,
            bracket=start.bracket, round=start.round, started=datetime.now().isoformat())
        self.store.save(record)  # first: a crash after it leaves a record that resume ends
        # a run that takes over a checkpoint of all its epochs trains none, yet saves its model
        self.store.trial_dir(record.number).mkdir(parents=True, exist_ok=True)
        record.run_id = self.tracker.start_trial(record.number, record.params, record.seed,
                                                 record.retry_of, record.continues)
        self.tracker.set_tags(record.run_id, tags_of(record))
        resume_dir = self._replay(record, {r.number: r for r in records})
        self.store.save(record)
        return Running(record), resume_dir

    def _replay(self, record: TrialRecord, records: dict[int, TrialRecord]) -> str | None:
        """The checkpoint folder a run goes on from; its epochs go to the run's MLflow history,
        and for a continued interrupted run to the oracle again (the same steps: idempotent)."""
        source = scheduler.checkpoint_source(
            scheduler.predecessor(record), records,
            lambda n: read_sound_state(self.store.trial_dir(n), self.say) is not None)
        if source is None:
            return None
        folder = self.store.trial_dir(source)
        state = read_sound_state(folder, self.say)
        if state is None:  # gone since it was chosen: the run starts afresh
            return None
        for epoch, logs in enumerate(state["history"], start=1):
            self.tracker.log_epoch(_run_id(record), epoch, logs)
            if record.retry_of is not None and self.plan.metric in logs:
                self.oracle.update(record.kt_id, logs, epoch)
            record.curve.append(logs.get(self.plan.metric, float("nan")))
        record.resumed_at_epoch = int(state["epochs"])
        return str(folder)

    def epoch(self, record: TrialRecord, epoch: int, logs: dict[str, float]) -> None:
        """One epoch (counted from 0) to MLflow and to the oracle."""
        self.tracker.log_epoch(_run_id(record), epoch + 1, logs)
        del record.curve[epoch:]
        record.curve.append(logs.get(self.plan.metric, float("nan")))
        record.epochs_trained += 1
        if self.plan.metric in logs:
            self.oracle.update(record.kt_id, logs, epoch + 1)
        if self.progress:
            self.progress.epoch()

    def finish(self, running: Running, outcome: TrialOutcome, value: float | None = None,
               info: dict[str, Any] | None = None, reason: str | None = None) -> None:
        """End a run and its trial: the record, its MLflow run, the oracle, one line."""
        record = running.record
        seconds = round(time.perf_counter() - running.started, 3)
        record.outcome, record.fail_reason, record.duration_s = outcome, reason, seconds
        record.value = value if outcome == TrialOutcome.COMPLETE else None
        record.ended = datetime.now().isoformat()
        self.store.save(record)
        self.tracker.end_trial(_run_id(record), outcome, record.value,
                               {**(info or {}), "duration_s": seconds,
                                "epochs_trained": record.epochs_trained}, reason)
        self.oracle.end(record.kt_id, outcome, reason)
        if self.progress:
            self.progress.trial(record.epochs_trained)
        self.say(self.line(record, seconds))

    def interrupt(self, record: TrialRecord, reason: str) -> None:
        """Mark a run interrupted (its trial continues from its checkpoint) and kill its run."""
        record.outcome, record.fail_reason = TrialOutcome.INTERRUPTED, reason
        record.ended = datetime.now().isoformat()
        if not record.run_id:  # the process died before recording its run: found or made,
            # and given the tags it may have died before writing
            record.run_id = self.tracker.recorded_run(record.number, record.params, record.seed)
            self.tracker.set_tags(record.run_id, tags_of(record))
        self.store.save(record)
        self.tracker.kill_run(record.run_id, reason)

    def line(self, record: TrialRecord, seconds: float) -> str:
        """``trial   4 complete val_loss=2.2407 dropout_rate=0.07 (kerastuner 0004, …)``."""
        score = f"{self.plan.metric}={record.value:.4f}" if record.value is not None else ""
        extra = [f"(kerastuner {record.kt_id}", f"{record.epochs_trained} epochs",
                 f"{seconds:.1f} s)"]
        if record.continues is not None:
            extra.insert(1, f"continues trial {record.continues} from epoch "
                            f"{record.resumed_at_epoch}")
        tail = ", ".join(extra) + (f" reason: {record.fail_reason}" if record.fail_reason
                                   else "")
        return " ".join(p for p in (f"trial {record.number:>3} {record.outcome:<8}", score,
                                    params_text(record.params, self.swept, sep=" "), tail) if p)


def _run_id(record: TrialRecord) -> str:
    """The record's MLflow run, started before its first epoch."""
    if record.run_id is None:
        raise RuntimeError(f"trial {record.number} has no MLflow run")
    return record.run_id

"""Trial outcomes, the names of what is recorded about a trial, and how outcomes map onto
Optuna trial states and MLflow run statuses.

Every module that reads or writes a user attribute, a study attribute or an MLflow tag names it
through these constants, so that a key is spelt once. The values are the strings stored in
studies and runs: changing one would make recorded studies unreadable.
"""

from __future__ import annotations

import enum
from typing import Any


class TrialOutcome(enum.StrEnum):
    """How a trial stands. ``INTERRUPTED`` is an Optuna FAIL whose sweep stopped under it (its
    parameters are queued again), or whose machine stopped beating (taken over by another);
    the other failed trials failed for a reason of their own. ``IMPORTED`` is an Optuna
    COMPLETE trial added from an earlier study (a warm start): it informs the sampler, is not
    trained here and does not count. ``INFEASIBLE`` breaks one of the sweep's constraints
    (:attr:`Attr.INFEASIBLE` says which): an Optuna PRUNED trial when its built model broke
    a limit known before training (it was never trained), or a COMPLETE one when a measure
    known only after training broke one; either way it counts, like a pruned trial, and is
    never the best."""

    COMPLETE = "complete"
    PRUNED = "pruned"
    INFEASIBLE = "infeasible"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    RUNNING = "running"
    WAITING = "waiting"
    IMPORTED = "imported"

    @property
    def run_status(self) -> RunStatus:
        """The MLflow run status of a trial's run in this outcome."""
        return RUN_STATUS[self]

    @property
    def counts(self) -> bool:
        """Whether a trial in this outcome counts toward a sweep's number of trials (a failed
        trial does not: a space that fails on this machine does not use up the budget;
        ``Budget.max_failures`` bounds the failures instead)."""
        return self in (TrialOutcome.COMPLETE, TrialOutcome.PRUNED, TrialOutcome.INFEASIBLE)

    @property
    def ended(self) -> bool:
        """Whether a trial in this outcome ended for a reason of its own (complete, pruned,
        infeasible or failed), as opposed to interrupted, running or waiting."""
        return self in (TrialOutcome.COMPLETE, TrialOutcome.PRUNED, TrialOutcome.INFEASIBLE,
                        TrialOutcome.FAILED)


class RunStatus(enum.StrEnum):
    """MLflow run statuses (``RunStatus`` names in MLflow), as cifar_search writes and reads
    them."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def ended(self) -> bool:
        """Whether a run in this status has ended."""
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


#: MLflow run status of a child run for each outcome.
RUN_STATUS = {
    TrialOutcome.COMPLETE: RunStatus.FINISHED,
    TrialOutcome.PRUNED: RunStatus.FINISHED,
    TrialOutcome.INFEASIBLE: RunStatus.FINISHED,
    TrialOutcome.FAILED: RunStatus.FAILED,
    TrialOutcome.INTERRUPTED: RunStatus.KILLED,
    TrialOutcome.RUNNING: RunStatus.RUNNING,
    TrialOutcome.WAITING: RunStatus.SCHEDULED,
    TrialOutcome.IMPORTED: RunStatus.FINISHED,
}


class Attr(enum.StrEnum):
    """User attributes of a trial (Optuna ``user_attrs``)."""

    PARAMS = "params"                      # every parameter, fixed ones included
    MLFLOW_RUN_ID = "mlflow_run_id"        # the trial's MLflow child run
    REPEAT_RUN_IDS = "repeat_run_ids"      # one nested run per seed (repeats > 1)
    SEED = "seed"                          # the seed the trial trains from
    RETRY_OF = "retry_of"                  # the interrupted trial this one continues
    CONTINUES = "continues"                # same_seed: the pruned trial this one goes on from
    DUPLICATE_OF = "duplicate_of"          # same_seed: the complete trial whose result it took
    INTERRUPTED = "interrupted"            # True on a FAIL caused by an interruption
    FAIL_REASON = "fail_reason"
    DEATHS = "deaths"                      # worker processes that died under this trial's chain
    MODEL_PATH = "model_path"              # the saved model of a complete trial
    REPEAT_VALUES = "repeat_values"        # each seed's value (repeats > 1)
    REPEAT_MEASURES = "repeat_measures"    # each seed's measures, by name (repeats > 1)
    VALUE_STD = "value_std"
    DURATION_S = "duration_s"
    EPOCHS_TRAINED = "epochs_trained"
    RESUMED_AT_EPOCH = "resumed_at_epoch"  # epochs taken over from a predecessor's checkpoint
    WORKER_PID = "worker_pid"
    MACHINE = "machine"                    # host:pid of the coordinator that ran the trial
    SAMPLER_SALT = "sampler_salt"          # its sampler's salt (several machines)
    RELEASED = "released"                  # asked for beyond the target, released untrained
    WIDENED = "widened"                    # [{"epoch", "threads"}]: moves to a wider worker
    IMPORTED_FROM = "imported_from"        # warm start: {"study", "trial", "mlflow_run_id"}
    STATE = "state"                        # the outcome as cifar_search names it (a dashboard
    #                                        shows Optuna's state, where interrupted is FAIL)
    MLFLOW_RUN_URL = "mlflow_run_url"      # the run's page on the tracking server (one known)
    MEASURES = "measures"                  # {"params": n, ...}: constraints and objectives read
    INFEASIBLE = "infeasible"              # why it breaks a constraint: "params 2,000 > 1,000"
    CURVE = "curve"                        # several objectives: the pruned metric per epoch
    RUNG = "rung"                          # pruner 'asha': the rung it trained at (0: lowest)
    RUNG_EPOCHS = "rung_epochs"            # pruner 'asha': that rung's epochs (its schedule's)
    PROMOTED_FROM = "promoted_from"        # pruner 'asha': the trial one rung below it repeats


class StudyAttr(enum.StrEnum):
    """User attributes of a study."""

    FINGERPRINT = "fingerprint"                    # settings a resume must match (JSON)
    METRIC = "metric"
    MLFLOW_PARENT_RUN_ID = "mlflow_parent_run_id"
    MLFLOW_TOKEN = "mlflow_token"                  # tag of the parent run, set before it exists
    TEST_EVALUATED_TRIAL = "test_evaluated_trial"  # the best trial evaluated on the test set
    FINALISED = "finalised"                        # finished trials when last summarised
    FINALISER = "finaliser"                        # the machine that claimed finalisation
    DEADLINE = "deadline"                          # the time budget's end (seconds since 1970)
    TIME_BUDGET = "time_budget_s"                  # the time budget of that window, seconds
    WARM_START = "warm_start"                      # {"study", "imported", "of"}: imported once
    OBJECTIVES = "objectives"                      # several objectives: their measures' names
    PICK = "pick"                                  # several: the measure that picks the model


class Tag(enum.StrEnum):
    """MLflow tags written by cifar_search."""

    KIND = "cifar_search.kind"                # a RunKind: study, seed, candidate
    ENGINE = "cifar_search.engine"
    VARIANT = "cifar_search.variant"
    STUDY_TOKEN = "cifar_search.study_token"
    STATE = "state"
    FAIL_REASON = "fail_reason"
    PRUNED_AT = "pruned_at"                   # a pruned trial's run: "epoch 3 of 10"
    INFEASIBLE = "infeasible"                 # an infeasible trial's run: the broken limit
    SEED = "seed"
    REPEAT = "repeat"
    RETRY_OF = "retry_of"
    CONTINUES = "continues"
    DUPLICATE_OF = "duplicate_of"
    REPAIRED = "repaired"
    PARENT_RUN_ID = "mlflow.parentRunId"
    TRIAL_NUMBER = "optuna.trial_number"
    STUDY_NAME = "optuna.study_name"
    SWEEP_FILE = "sweep_file"
    BEST_MODEL_TRIAL = "best_model_trial"
    CANDIDATE = "candidate"                   # sklearn engine: a candidate's label
    CANDIDATE_NUMBER = "candidate_number"
    TRAINED_OPTIMIZER = "trained_optimizer"   # the optimizer that really trained
    REQUESTED_OPTIMIZER = "requested_optimizer"
    BEST_CANDIDATE = "best_candidate"         # on a search's parent run
    THREADS = "threads"                       # a moved run: the threads it went on with
    WIDENED_AT_EPOCH = "widened_at_epoch"     # a moved run: the epochs it had before moving
    BEST_TRAINED_OPTIMIZER = "best_trained_optimizer"
    BEST = "best"                             # "true" on the best trial's run
    RUNG = "rung"                             # pruner 'asha': a trial's rung (0: the lowest)
    RUNG_EPOCHS = "rung_epochs"               # pruner 'asha': the epochs of that rung
    PROMOTED_FROM = "promoted_from"           # pruner 'asha': the trial promoted to this one
    PARETO_FRONT = "pareto_front"             # "true" on the runs of the front's members
    IMPORTED_FROM_STUDY = "imported_from_study"  # an imported trial's run: the study,
    IMPORTED_FROM_TRIAL = "imported_from_trial"  # the trial number there,
    IMPORTED_FROM_RUN = "imported_from_run"      # and that trial's MLflow run id
    WARM_START = "warm_start"                 # on a parent run: the study it imported from
    NOTE = "mlflow.note.content"              # a run's or experiment's markdown description
    RUN_COLOR = "mlflow.runColor"             # a run's colour in the UI's charts
    SOURCE_NAME = "mlflow.source.name"        # the sweep file, the UI's Source column
    SOURCE_TYPE = "mlflow.source.type"


class RunKind(enum.StrEnum):
    """What an MLflow run stands for (its :attr:`Tag.KIND`)."""

    STUDY = "study"          # the parent run of a study or of a search
    SEED = "seed"            # one seed of a repeated trial, nested in the trial's run
    CANDIDATE = "candidate"  # one candidate of a search (sklearn engine)


#: Optuna trial state names (``TrialState.name``) of the outcomes other than a failure.
_OUTCOME_OF_STATE = {
    "COMPLETE": TrialOutcome.COMPLETE,
    "PRUNED": TrialOutcome.PRUNED,
    "RUNNING": TrialOutcome.RUNNING,
    "WAITING": TrialOutcome.WAITING,
}


def outcome_of(trial: Any) -> TrialOutcome:
    """The outcome of an Optuna trial (frozen or live): a FAIL is ``interrupted`` when its
    sweep stopped under it, else ``failed``; a COMPLETE trial added by a warm start is
    ``imported``.

    Example:
        >>> from types import SimpleNamespace as T
        >>> outcome_of(T(state=T(name="FAIL"), user_attrs={"interrupted": True}))
        <TrialOutcome.INTERRUPTED: 'interrupted'>
    """
    if trial.state.name == "FAIL":
        attrs = trial.user_attrs
        # a trial failed by a heartbeat check carries no reason: its machine stopped beating
        lost = Attr.MACHINE in attrs and Attr.FAIL_REASON not in attrs
        return (TrialOutcome.INTERRUPTED if attrs.get(Attr.INTERRUPTED) or lost
                else TrialOutcome.FAILED)
    if trial.state.name == "COMPLETE" and Attr.IMPORTED_FROM in trial.user_attrs:
        return TrialOutcome.IMPORTED
    if trial.state.name in ("COMPLETE", "PRUNED") and Attr.INFEASIBLE in trial.user_attrs:
        return TrialOutcome.INFEASIBLE
    return _OUTCOME_OF_STATE[trial.state.name]

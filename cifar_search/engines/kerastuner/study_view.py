"""The KerasTuner engine's records seen as an Optuna study, in memory and read-only.

``status``, ``best``, ``export``, ``check``, ``compare`` and the parent run's summary read a
sweep's trials as an Optuna study (see :meth:`cifar_search.engines.base.Engine.study`). This
module builds one from the engine's records: each record becomes a frozen trial with its
state, value, parameters, per-epoch objective and the same user attributes the Optuna engine
records (plus KerasTuner's trial id, bracket and round). Nothing is written to any store.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import optuna
from optuna.trial import TrialState

from cifar_search.engines.kerastuner.record import TrialRecord
from cifar_search.search.distributions import distribution
from cifar_search.search.states import Attr, StudyAttr, TrialOutcome

optuna.logging.set_verbosity(optuna.logging.WARNING)


class KtKey(enum.StrEnum):
    """KerasTuner's part of a trial, as a user attribute of the view and an MLflow tag."""

    TRIAL_ID = "kerastuner.trial_id"
    BRACKET = "kerastuner.bracket"
    ROUND = "kerastuner.round"
    ORACLE = "kerastuner.oracle"


#: Optuna state of each outcome.
STATE = {TrialOutcome.COMPLETE: TrialState.COMPLETE, TrialOutcome.FAILED: TrialState.FAIL,
         TrialOutcome.INTERRUPTED: TrialState.FAIL, TrialOutcome.RUNNING: TrialState.RUNNING}


def tags_of(record: TrialRecord) -> dict[str, Any]:
    """KerasTuner's trial id and, for Hyperband, its bracket and round."""
    tags: dict[str, Any] = {KtKey.TRIAL_ID: record.kt_id}
    if record.bracket is not None:
        tags.update({KtKey.BRACKET: record.bracket, KtKey.ROUND: record.round})
    return tags


def user_attrs(record: TrialRecord) -> dict[str, Any]:
    """The record as the Optuna engine's user attributes (None values left out)."""
    attrs = {Attr.PARAMS: record.params, Attr.MLFLOW_RUN_ID: record.run_id,
             Attr.SEED: record.seed, Attr.RETRY_OF: record.retry_of,
             Attr.CONTINUES: record.continues, Attr.MODEL_PATH: record.model_path,
             Attr.FAIL_REASON: record.fail_reason, Attr.DURATION_S: record.duration_s,
             Attr.EPOCHS_TRAINED: record.epochs_trained,
             Attr.RESUMED_AT_EPOCH: record.resumed_at_epoch or None,
             Attr.INTERRUPTED: True if record.outcome == TrialOutcome.INTERRUPTED else None,
             **tags_of(record)}
    return {str(k): v for k, v in attrs.items() if v is not None}


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def frozen(record: TrialRecord, space: Any) -> optuna.trial.FrozenTrial:
    """One record as a frozen trial (the swept parameters with their distributions)."""
    found = {k: distribution(space[k].spec()) for k in record.params}
    distributions = {k: dist for k, dist in found.items() if dist is not None}
    params = {k: v for k, v in record.params.items() if k in distributions}
    complete = record.outcome == TrialOutcome.COMPLETE
    ended = record.outcome != TrialOutcome.RUNNING
    return optuna.trial.FrozenTrial(
        number=record.number, trial_id=record.number, state=STATE[record.outcome],
        value=record.value if complete else None,
        datetime_start=_time(record.started) or datetime.now(),
        datetime_complete=(_time(record.ended) or datetime.now()) if ended else None,
        params=params, distributions=distributions,
        user_attrs=user_attrs(record), system_attrs={},
        intermediate_values={step: v for step, v in enumerate(record.curve, start=1)})


def study_of(records: Iterable[TrialRecord], attrs: dict[str, Any], sweep: Any) -> optuna.Study:
    """The records as an in-memory study named like the sweep, with the study attributes
    (``mlflow_parent_run_id``, …) that readers look for."""
    study = optuna.create_study(study_name=sweep.name, direction=sweep.objective.direction)
    for record in records:
        study.add_trial(frozen(record, sweep.space))
    for key in (StudyAttr.MLFLOW_PARENT_RUN_ID, StudyAttr.FINGERPRINT, StudyAttr.FINALISED,
                StudyAttr.TEST_EVALUATED_TRIAL, StudyAttr.DEADLINE, StudyAttr.TIME_BUDGET):
        if attrs.get(key) is not None:
            study.set_user_attr(key, attrs[key])
    study.set_user_attr(StudyAttr.METRIC, sweep.objective.metric)
    return study

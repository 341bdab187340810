"""Outcomes, their MLflow statuses and how Optuna trial states read as outcomes."""

from __future__ import annotations

from types import SimpleNamespace as T

import pytest

from cifar_search.search.states import RUN_STATUS, RunStatus, TrialOutcome, outcome_of


@pytest.mark.parametrize("state, attrs, outcome", [
    ("COMPLETE", {}, TrialOutcome.COMPLETE),
    ("PRUNED", {}, TrialOutcome.PRUNED),
    ("RUNNING", {}, TrialOutcome.RUNNING),
    ("WAITING", {}, TrialOutcome.WAITING),
    ("FAIL", {"fail_reason": "out of memory"}, TrialOutcome.FAILED),
    ("FAIL", {"interrupted": True}, TrialOutcome.INTERRUPTED),
    # failed by a heartbeat check: its machine is recorded, no reason of its own
    ("FAIL", {"machine": "host:12"}, TrialOutcome.INTERRUPTED),
    ("FAIL", {"machine": "host:12", "fail_reason": "nan loss"}, TrialOutcome.FAILED),
    # added by a warm start from an earlier study
    ("COMPLETE", {"imported_from": {"study": "old", "trial": 3}}, TrialOutcome.IMPORTED),
    # broke a constraint: before training (never trained) or after it
    ("PRUNED", {"infeasible": "params 9 > 5"}, TrialOutcome.INFEASIBLE),
    ("COMPLETE", {"infeasible": "latency_ms 3 > 2"}, TrialOutcome.INFEASIBLE),
])
def test_outcome_of_a_trial(state: str, attrs: dict, outcome: TrialOutcome) -> None:
    assert outcome_of(T(state=T(name=state), user_attrs=attrs)) is outcome


def test_every_outcome_has_a_run_status_and_only_complete_pruned_or_infeasible_ones_count(
        ) -> None:
    assert set(RUN_STATUS) == set(TrialOutcome)
    for outcome in TrialOutcome:
        assert outcome.ended == outcome.run_status.ended or outcome in (
            TrialOutcome.INTERRUPTED, TrialOutcome.IMPORTED)
    # an infeasible trial counts as a pruned one does: an answer, cheap, bounded by trials
    assert [o for o in TrialOutcome if o.counts] == [TrialOutcome.COMPLETE, TrialOutcome.PRUNED,
                                                      TrialOutcome.INFEASIBLE]
    assert TrialOutcome.INTERRUPTED.run_status is RunStatus.KILLED
    assert not TrialOutcome.INTERRUPTED.counts
    # an imported trial's run ends as a complete one's, but it was not trained here
    assert TrialOutcome.IMPORTED.run_status is RunStatus.FINISHED
    assert not TrialOutcome.IMPORTED.counts


def test_statuses_are_mlflow_s_names() -> None:
    from mlflow.entities import RunStatus as MlflowStatus

    for status in RunStatus:
        assert MlflowStatus.from_string(status.value) is not None

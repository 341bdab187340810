"""Links into the MLflow UI and the view it opens on: pure."""

import json

from cifar_search.tracking import links
from cifar_search.tracking.view import BOOKKEEPING, VIEW_NAME, charts, runs_view, saved_view, \
    view_state

TRAINING = "workflowType=machine_learning"


def test_every_link_keeps_the_model_training_mode():
    assert links.run_link("3", "abc") == f"#/experiments/3/runs/abc?{TRAINING}"
    assert links.experiment_link("3") == f"#/experiments/3/runs?{TRAINING}"
    assert links.experiment_link("3", "cifar-search") == (
        f"#/experiments/3/runs?{TRAINING}&viewStateShareKey=cifar-search")
    assert links.experiment_link() == f"#/experiments?{TRAINING}"
    assert links.model_link("my sweep", 2) == f"#/models/my%20sweep/versions/2?{TRAINING}"
    assert links.ui_address(5001, links.run_link("1", "r")) == (
        f"http://127.0.0.1:5001/#/experiments/1/runs/r?{TRAINING}")
    assert links.markdown_link("trial-0001", None) == "trial-0001"


def test_the_charts_start_with_the_objective_then_one_per_swept_parameter():
    cards = charts(["learning_rate", "optimizer"], "val_accuracy")
    shown = [card for card in cards if not card["deleted"]]
    assert [(c["type"], c.get("metricKey")) for c in shown[:1]] == [("LINE", "val_accuracy")]
    assert [(c["xaxis"], c["yaxis"]) for c in shown[1:3]] == [
        ({"key": "learning_rate", "type": "PARAM"}, {"key": "objective", "type": "METRIC"}),
        ({"key": "optimizer", "type": "PARAM"}, {"key": "objective", "type": "METRIC"})]
    assert [c["metricKey"] for c in shown[3:]] == ["val_loss", "loss", "accuracy"]
    # a metric with a chart, even a deleted one, gets no chart of the UI's own
    assert {c["metricKey"] for c in cards if c["deleted"]} == set(BOOKKEEPING)
    assert len({c["uuid"] for c in cards}) == len(cards)


def test_the_view_is_a_saved_view_without_a_duplicate_objective_column():
    state = runs_view(["p1"], ["dropout_rate"], "val_loss")
    value = saved_view(state, now_ms=2000, before=saved_view("{}", now_ms=1000))
    envelope = json.loads(value)
    assert (envelope["name"], envelope["createdAt"], envelope["updatedAt"]) == (
        VIEW_NAME, 1000, 2000)
    view = view_state(value)
    assert view == json.loads(state) == view_state(state)
    assert "metrics.`val_loss`" not in view["selectedColumns"]
    assert "tags.`pruned_at`" in view["selectedColumns"]
    assert view["compareRunSections"][0]["isReordered"]  # new metrics go after ours

"""What the MLflow UI shows first on a sweep's runs; pure.

The UI keeps a view (the runs table's columns, its order, its charts) as an experiment tag
``mlflow.sharedViewState.<key>`` that a URL names with ``viewStateShareKey=<key>``. Written as
MLflow 3's *saved view* (a named envelope around the state), it is also listed under the runs
page's "Saved views", so that a user who navigated away gets it back with one click.

How long it lasts is MLflow's rule: the UI applies a shared view when its URL names the key
and no sort or filter; once applied, the UI writes the sort into the URL, so the same URL
reached again by the browser's Back button shows the browser's own view. Choosing "Override
my view" in the view's banner keeps it as the browser's own view, which then survives every
navigation.

The view: the objective, the best mark, the trial's state and the swept parameters as
columns, newest first; charts headed by the objective's learning curve and one chart of the
objective against each swept parameter, then the other learning curves; bookkeeping metrics
(one bar per run: durations, counts, the parent's totals) not charted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cifar_search.search.states import RunKind, Tag

if TYPE_CHECKING:
    from mlflow import MlflowClient

#: The view's key: the experiment tag ``mlflow.sharedViewState.cifar-search``.
VIEW_KEY = "cifar-search"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"

#: The view's name in the UI's "Saved views".
VIEW_NAME = "cifar-search: trials"

#: Metrics of one value per run that a chart would show as a lone bar: kept off the charts.
BOOKKEEPING = ("objective", "duration_s", "epochs_trained", "startup_seconds", "value_std",
               "repeats", "best_value", "test_loss", "test_accuracy")

#: Per-epoch metrics that Keras logs, drawn as learning curves after the objective's own.
CURVES = ("val_loss", "val_accuracy", "loss", "accuracy")

#: The UI's section of model metrics (every metric without a ``/`` in its name).
SECTION = "Model metrics"


def column(kind: str, name: str) -> str:
    """The UI's name of a column, e.g. ``metrics.`objective```."""
    return f"{kind}.`{name}`"


def _card(kind: str, number: int, **fields: Any) -> dict[str, Any]:
    """One chart as the UI stores it (every field its constructor sets)."""
    return {"uuid": f"cifar-search-{number}", "type": kind, "metricSectionId": SECTION,
            "deleted": False, "isGenerated": False, "runsCountToCompare": 100, **fields}


def _line(number: int, metric: str) -> dict[str, Any]:
    """A learning curve: ``metric`` per epoch, one line per run."""
    return _card("LINE", number, metricKey=metric, selectedMetricKeys=[metric],
                 displayName=metric, lineSmoothness=0, xAxisScaleType="linear",
                 scaleType="linear", range={}, xAxisKey="step", selectedXAxisMetricKey="",
                 yAxisKey="metric", yAxisExpressions=[], ignoreOutliers=False,
                 useGlobalXaxisKey=True, useGlobalLineSmoothing=True)


def _scatter(number: int, param: str) -> dict[str, Any]:
    """The objective against one parameter, one point per run."""
    return _card("SCATTER", number, xaxis={"key": param, "type": "PARAM"},
                 yaxis={"key": "objective", "type": "METRIC"})


def charts(swept: Sequence[str], metric: str) -> list[dict[str, Any]]:
    """The view's charts, in order: ``metric``'s learning curve, the objective against each
    swept parameter, the other learning curves; then the bookkeeping metrics as deleted
    charts (a metric with a chart, even a deleted one, gets no chart of its own).

    Example:
        >>> [(c["type"], c.get("metricKey") or c["xaxis"]["key"])
        ...  for c in charts(["dropout_rate"], "val_loss")][:3]
        [('LINE', 'val_loss'), ('SCATTER', 'dropout_rate'), ('LINE', 'val_accuracy')]
    """
    cards = [_line(0, metric)]
    cards += [_scatter(len(cards) + i, param) for i, param in enumerate(swept)]
    for name in CURVES:
        if name != metric:
            cards.append(_line(len(cards), name))
    for name in BOOKKEEPING:
        cards.append({**_card("BAR", len(cards), metricKey=name, displayName=name),
                      "deleted": True})
    return cards


def runs_view(parent_ids: Sequence[str], swept: Sequence[str], metric: str) -> str:
    """The view's state as JSON, as the UI reads it.

    Args:
        parent_ids: the study's parent runs (expanded, so their trials show).
        swept: the swept parameters (a column and a chart each).
        metric: the objective's metric (its learning curve heads the charts; the
            ``objective`` column holds its value).
    """
    columns = [column("metrics", "objective"), column("tags", "best"), column("tags", "state"),
               *(column("params", name) for name in swept), column("tags", "pruned_at"),
               column("attributes", "Models")]
    return json.dumps({
        "orderByKey": column("attributes", "start_time"), "orderByAsc": False,
        "selectedColumns": list(dict.fromkeys(columns)),
        "runsExpanded": {run_id: True for run_id in parent_ids},
        "runsHiddenMode": "SHOW_ALL",
        "compareRunCharts": charts(swept, metric),
        "compareRunSections": [{"uuid": SECTION, "name": SECTION, "display": True,
                                "isReordered": True, "deleted": False, "isGenerated": False}],
        "isAccordionReordered": True, "hideEmptyCharts": True,
    }, sort_keys=True)


def saved_view(state: str, now_ms: int, before: str | None = None) -> str:
    """The tag's value: the state (JSON text, see :func:`runs_view`) in MLflow's saved-view
    envelope, with its name and its creation and update times in milliseconds (created when
    the tag's value ``before`` was, if it was a saved view).

    Example:
        >>> first = saved_view('{"orderByAsc": false}', 1000)
        >>> json.loads(saved_view('{"orderByAsc": true}', 2000, first))["createdAt"]
        1000
    """
    created = json.loads(before).get("createdAt") if before else None
    return json.dumps({"name": VIEW_NAME, "createdAt": created or now_ms,
                       "updatedAt": now_ms, "state": state}, sort_keys=True)


def view_state(value: str) -> dict[str, Any]:
    """The state held in a tag's value (a saved-view envelope, or a bare state)."""
    data = json.loads(value)
    return json.loads(data["state"]) if isinstance(data.get("state"), str) else data


def save_view(client: MlflowClient, experiment_id: str, swept: Sequence[str], metric: str,
              max_runs: int) -> None:
    """Write the UI's first view of the experiment's runs as a saved view (columns, order and
    charts), over its study runs (at most ``max_runs``) and keeping what the view had."""
    parents = client.search_runs(
        [experiment_id], filter_string=f"tags.`{Tag.KIND}` = '{RunKind.STUDY}'",
        max_results=max_runs)
    view = runs_view([run.info.run_id for run in parents], swept, metric)
    before = client.get_experiment(experiment_id).tags.get(VIEW_TAG)
    client.set_experiment_tag(experiment_id, VIEW_TAG, saved_view(view, int(time.time() * 1000),
                                                                  before))

"""What the MLflow UI shows first on a sweep's runs; pure.

The UI keeps a view (the runs table's columns, its order, which parent runs are expanded) as
a *shared view state*: an experiment tag ``mlflow.sharedViewState.<key>`` that a URL names with
``viewStateShareKey=<key>``. Each study writes one, so that the URL ``ui`` prints opens on its
trials (the parent run expanded), with the objective, the swept parameters, the best mark and
the trial's state as columns, newest first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

#: The view's key: the experiment tag ``mlflow.sharedViewState.cifar-search``.
VIEW_KEY = "cifar-search"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"


def column(kind: str, name: str) -> str:
    """The UI's name of a column, e.g. ``metrics.`objective```."""
    return f"{kind}.`{name}`"


def runs_view(parent_ids: Sequence[str], swept: Sequence[str], metric: str) -> str:
    """The view as the tag's JSON value.

    Args:
        parent_ids: the study's parent runs (expanded, so their trials show).
        swept: the swept parameters (a column each).
        metric: the objective's metric (its column beside ``objective``).
    """
    columns = [column("metrics", "objective"), column("tags", "best"), column("tags", "state"),
               *(column("params", name) for name in swept), column("metrics", metric),
               column("attributes", "Models")]
    view = {
        "orderByKey": column("attributes", "start_time"), "orderByAsc": False,
        "selectedColumns": list(dict.fromkeys(columns)),
        "runsExpanded": {run_id: True for run_id in parent_ids},
        "runsHiddenMode": "SHOW_ALL",
    }
    return json.dumps(view, sort_keys=True)

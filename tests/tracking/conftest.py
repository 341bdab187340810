"""A recorded workspace shared by the reader's and the writer's tests."""

import pytest

from cifar_search.tracking.writer import SearchTracker, Tracker
from cifar_search.workspace import Workspace
from tests.tracking.runs import SWEEP


@pytest.fixture(scope="package")
def recorded(tmp_path_factory):
    """A workspace with a study's parent run (sweep.json) and an sklearn search
    (candidates.csv), made once; each test copies it."""
    root = tmp_path_factory.mktemp("recorded") / "ws"
    workspace = Workspace.at(root)
    tracker = Tracker(workspace, SWEEP)
    parent = tracker.open_parent(None, "token")
    tracker.update_parent({"trials": 2, "workers": 1})
    search = SearchTracker(workspace, SWEEP, "sklearn", "fixed")
    search.open("moved-sklearn", {"cv": 2})
    table = root.parent / "candidates.csv"
    table.write_text("candidate,mean_score\noptimizer=sgd,0.5\n")
    search.log_summary({"best_score": 0.5}, {}, [table])
    search.close("FINISHED")
    return root, parent

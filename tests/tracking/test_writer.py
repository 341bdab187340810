"""The run writer keeps a workspace's artifacts in that workspace, wherever it has been moved
or copied, and records what the engines ran."""

import dataclasses
import shutil
import tarfile

from cifar_search import load_sweep
from cifar_search.tracking.reader import RunReader
from cifar_search.tracking.writer import Tracker, readable, sweep_params
from cifar_search.workspace import Workspace
from tests.helpers import ROOT
from tests.tracking.runs import SWEEP, listing

LEGACY = ROOT / "tests" / "data" / "legacy-14511ce.tar.gz"


def test_a_copied_workspace_writes_its_artifacts_into_the_copy(recorded, tmp_path):
    original, parent = recorded
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    before = listing(original)
    tracker = Tracker(Workspace.at(copy), SWEEP)
    assert tracker.open_parent(parent, "token") == parent
    tracker.update_parent({"trials": 3, "workers": 1})
    summary = tmp_path / "trials.csv"
    summary.write_text("number,value\n0,0.5\n")
    tracker.log_summary({"best_value": 0.5}, [summary])
    run = tracker.start_trial(0, {"optimizer": "sgd"}, seed=1)
    tracker.log_artifacts(run, [summary], "tables")
    own = copy / "artifacts" / "moved"
    assert {"sweep.json", "summary.json", "trials.csv"} <= {
        p.name for p in (own / parent / "artifacts").iterdir()}
    assert (own / run / "artifacts" / "tables" / "trials.csv").is_file()
    assert listing(original) == before  # the original is untouched


def test_new_experiments_in_a_database_keep_artifacts_in_the_workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    workspace = Workspace.at("ws", tracking_uri=f"sqlite:///{tmp_path / 'other.db'}")
    tracker = Tracker(workspace, SWEEP)
    parent = tracker.open_parent(None, "token")
    tracker.update_parent({"trials": 1, "workers": 1})
    location = tracker.client.get_experiment(tracker.experiment_id).artifact_location
    assert location == (tmp_path / "ws" / "artifacts" / "moved").as_uri()
    assert (tmp_path / "ws" / "artifacts" / "moved" / parent / "artifacts" / "sweep.json").is_file()
    assert not (tmp_path / "mlruns").exists()


def test_a_legacy_workspace_unpacked_elsewhere_writes_into_itself(tmp_path):
    """The previous release's workspace stores absolute locations under the folder it was
    made in; unpacked anywhere else, it still writes and reads its own files."""
    with tarfile.open(LEGACY) as archive:
        archive.extractall(tmp_path, filter="data")
    workspace = Workspace.at(tmp_path / "ws")
    tracker = Tracker(workspace, load_sweep(str(tmp_path / "sweep.py")))
    parent = tracker.client.search_runs([tracker.experiment_id],
                                        filter_string="attributes.run_name = 'legacy'")[0]
    assert parent.info.artifact_uri.startswith("file:///tmp/cifar-search-legacy/")
    tracker.parent_id = parent.info.run_id
    tracker.update_parent({"trials": 4, "workers": 1})
    written = tmp_path / "ws" / "artifacts" / "legacy" / parent.info.run_id / "artifacts"
    assert (written / "sweep.json").is_file()
    assert RunReader.of(workspace, "legacy").artifact(parent.info.run_id, "sweep.json",
                                                      tmp_path) == written / "sweep.json"


def test_the_best_tag_and_name_move_to_a_new_best_and_colours_are_set(tmp_path):
    tracker = Tracker(Workspace.at(tmp_path / "ws"), SWEEP)
    tracker.open_parent(None, "token")
    first, second = (tracker.start_trial(n, {"optimizer": o}, seed=n)
                     for n, o in enumerate(("sgd", "adam")))
    tracker.mark_runs(first, {first: "#000001", second: "#000002"})
    tracker.mark_runs(second, {first: "#000001", second: "#000002"})
    runs = {run.run_id: run for run in tracker.child_runs(tracker.parent_id).values()}
    assert runs[second].name == "trial-0001 (best)" and runs[second].tags["best"] == "true"
    assert runs[first].name == "trial-0000" and "best" not in runs[first].tags
    assert runs[first].tags["mlflow.runColor"] == "#000001"


def test_floats_read_back_from_keras_are_rounded_to_what_was_asked():
    assert readable(0.0010000000474974513) == 0.001 and readable(0.9) == 0.9
    assert readable("adam") == "adam" and readable(3) == 3


def test_the_parent_records_the_oracle_that_chooses_not_the_idle_sampler():
    assert sweep_params(SWEEP)["sampler"] == "grid" and "oracle" not in sweep_params(SWEEP)
    tuned = dataclasses.replace(SWEEP, engine="kerastuner", trials=None,
                                options={"kerastuner": {"oracle": "hyperband"}})
    assert sweep_params(tuned)["oracle"] == "hyperband" and "sampler" not in sweep_params(tuned)


def test_a_run_found_for_a_trial_whose_process_died_gets_the_params_it_lacked(recorded, tmp_path):
    """The process may die between creating a trial's run and logging its params: the run
    found again gets them, and what it had is kept."""
    original, parent = recorded
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    tracker = Tracker(Workspace.at(copy), SWEEP)
    tracker.open_parent(parent, "token")
    run = tracker.start_trial(3, {"optimizer": "sgd"}, seed=1)
    found = tracker.recorded_run(3, {"optimizer": "sgd", "dropout_rate": 0.25}, seed=1)
    assert found == run
    assert tracker.client.get_run(run).data.params == {"optimizer": "sgd", "dropout_rate": "0.25"}


def test_a_pruned_runs_tags_say_the_epoch_it_stopped_at_of_its_budget(tmp_path):
    tracker = Tracker(Workspace.at(tmp_path / "ws"), SWEEP)
    tracker.open_parent(None, "token")
    pruned, complete = (tracker.start_trial(n, {"optimizer": "sgd"}, seed=n) for n in (0, 1))
    tracker.end_trial(pruned, "pruned", 0.9, {"epochs_trained": 2})
    tracker.end_trial(complete, "complete", 0.5, {"epochs_trained": SWEEP.budget.epochs})
    tags = {run: tracker.client.get_run(run).data.tags for run in (pruned, complete)}
    assert tags[pruned]["pruned_at"] == f"epoch 2 of {SWEEP.budget.epochs}"
    assert tags[pruned]["state"] == "pruned" and "pruned_at" not in tags[complete]


def _mlflow_model(folder):
    """A minimal MLflow Model folder (an MLmodel file): what is logged, not what loads."""
    from mlflow.models import Model

    folder.mkdir(parents=True)
    Model(flavors={"python_function": {"loader_module": "none"}}).save(str(folder / "MLmodel"))
    return folder


def test_each_new_best_trial_is_a_version_the_alias_best_moves_and_none_is_registered_twice(
        recorded, tmp_path):
    from cifar_search.tracking.registry import BestVersion

    shutil.copytree(recorded[0], tmp_path / "ws")
    tracker = Tracker(Workspace.at(tmp_path / "ws"), dataclasses.replace(SWEEP, register=True))
    tracker.open_parent(recorded[1], "token")
    keras_file = tmp_path / "model.keras"
    keras_file.write_text("weights")
    versions = []
    for number, value, again in ((0, 0.9, False), (1, 0.7, False), (1, 0.7, True)):
        run = tracker.trial_run(number) if again else tracker.start_trial(
            number, {"optimizer": "sgd"}, seed=number)
        best = BestVersion("moved", "moved", number, "val_loss", "minimize", value,
                           {"optimizer": "sgd"}, 0.5, 1.0, "optuna", run, ("a", "b"))
        versions.append(tracker.log_best_model(
            {"trial": number, "test_loss": 1.0, "test_accuracy": 0.5}, keras_file, [],
            _mlflow_model(tmp_path / f"mlflow-{len(versions)}"), best))
    assert versions == ["1", "2", "2"]  # the same trial again keeps its version
    client = tracker.client
    assert str(client.get_model_version_by_alias("moved", "best").version) == "2"
    assert client.get_model_version("moved", "1").aliases == []  # moved to the better one
    logged = client.search_logged_models([tracker.experiment_id])
    assert len(logged) == 2  # none logged for the trial registered already
    assert {model.tags["mlflow.modelVersions"] for model in logged} == {
        '[{"name": "moved", "version": "1"}]', '[{"name": "moved", "version": "2"}]'}
    second = client.get_model_version("moved", "2")
    assert second.run_id == tracker.trial_run(1) and second.tags["trial"] == "1"

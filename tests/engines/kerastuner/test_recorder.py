"""The recorder's writes when a run starts (the record first, its folder, its MLflow run and
KerasTuner's tags) and when a run left behind is interrupted (a stand-in tracker records the
calls)."""

from cifar_search.engines.kerastuner.record import RecordStore
from cifar_search.engines.kerastuner.recorder import Recorder
from cifar_search.engines.kerastuner.scheduler import Plan, Train
from cifar_search.search.states import TrialOutcome


class Tracker:
    """Records the MLflow calls a run's start makes."""

    def __init__(self):
        self.calls = []

    def start_trial(self, number, params, seed, retry_of=None, continues=None):
        self.calls.append(("start_trial", number, seed, retry_of, continues))
        return f"run-{number}"

    def set_tags(self, run_id, tags):
        self.calls.append(("set_tags", run_id, dict(tags)))

    def recorded_run(self, number, params, seed):
        self.calls.append(("recorded_run", number, seed))
        return f"found-{number}"

    def kill_run(self, run_id, reason):
        self.calls.append(("kill_run", run_id, reason))


def test_a_run_starts_with_its_record_its_folder_and_its_tagged_mlflow_run(tmp_path):
    store, tracker = RecordStore(tmp_path), Tracker()
    recorder = Recorder(store, None, tracker, Plan(target=2, kind="hyperband", epochs=3),
                        ("dropout_rate",), print, None)
    running, resume_dir = recorder.start(Train("0002", {"dropout_rate": 0.1}, 7, 3,
                                               bracket=1, round=0))
    (record,) = store.records()
    assert (record.number, record.kt_id, record.outcome, record.run_id) == (
        0, "0002", TrialOutcome.RUNNING, "run-0")
    assert running.record.number == 0 and resume_dir is None
    # a run taking over a checkpoint of all its epochs trains none, yet saves its model there
    assert store.trial_dir(0).is_dir()
    assert tracker.calls == [("start_trial", 0, 7, None, None), ("set_tags", "run-0", {
        "kerastuner.trial_id": "0002", "kerastuner.bracket": 1, "kerastuner.round": 0})]


def test_a_run_killed_before_its_id_was_recorded_is_found_tagged_and_killed(tmp_path):
    """The process died between opening the MLflow run and recording its id: the run found
    (or made) gets KerasTuner's tags, which it may never have received."""
    store, tracker = RecordStore(tmp_path), Tracker()
    recorder = Recorder(store, None, tracker, Plan(target=2, kind="hyperband", epochs=3),
                        ("dropout_rate",), print, None)
    recorder.start(Train("0004", {"dropout_rate": 0.1}, 7, 3, bracket=0, round=0))
    (record,) = store.records()
    record.run_id, tracker.calls = None, []
    recorder.interrupt(record, "interrupted")
    assert tracker.calls == [("recorded_run", 0, 7), ("set_tags", "found-0", {
        "kerastuner.trial_id": "0004", "kerastuner.bracket": 0, "kerastuner.round": 0}),
        ("kill_run", "found-0", "interrupted")]
    (saved,) = store.records()
    assert (saved.outcome, saved.run_id) == (TrialOutcome.INTERRUPTED, "found-0")

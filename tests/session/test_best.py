"""The best model's test-set evaluation as a session asks for it, with a stand-in pool:
what is sent, what runs while the worker evaluates, and when nothing is asked."""

from types import SimpleNamespace

from cifar_search.execution.protocol import Evaluated, EvaluateTask, Failed
from cifar_search.search.states import Attr, StudyAttr
from cifar_search.session.best import evaluate_best


class Store:
    def __init__(self, best, evaluated=None):
        self._best, self.attrs = best, {StudyAttr.TEST_EVALUATED_TRIAL: evaluated}

    def best(self):
        return self._best

    def attr(self, key, default=None):
        return self.attrs.get(key, default)

    def set_attr(self, key, value):
        self.attrs[key] = value


class Pool:
    """Records the order of events; the worker answers ``reply``."""

    def __init__(self, events, reply):
        self.events, self.reply = events, reply
        self.worker = SimpleNamespace(send=lambda task: events.append(("send", task)))

    def wait_idle(self, timeout):
        return self.worker

    def result_of(self, worker, timeout):
        self.events.append(("result", None))
        return self.reply


def best(number, tmp_path):
    model = tmp_path / f"trial-{number}" / "model.keras"
    return SimpleNamespace(number=number, user_attrs={Attr.MODEL_PATH: str(model)})


def test_the_summary_is_drawn_while_the_worker_evaluates(tmp_path):
    events = []
    store = Store(best(3, tmp_path))
    pool = Pool(events, Evaluated({"test_accuracy": 0.5}))
    results = evaluate_best(store, pool, tmp_path / "data", print,
                            meanwhile=lambda: events.append(("meanwhile", None)))
    assert [kind for kind, _ in events] == ["send", "meanwhile", "result"]
    task = events[0][1]
    assert isinstance(task, EvaluateTask) and task.model_path.endswith("trial-3/model.keras")
    assert results == {"test_accuracy": 0.5, "trial": 3, "model_path": task.model_path}
    assert store.attr(StudyAttr.TEST_EVALUATED_TRIAL) == 3


def test_a_best_already_evaluated_asks_nothing_and_draws_nothing_ahead(tmp_path):
    events = []
    results = evaluate_best(Store(best(3, tmp_path), evaluated=3), Pool(events, None),
                            tmp_path, print, meanwhile=lambda: events.append(("meanwhile",)))
    assert results is None and events == []


def test_a_failed_evaluation_is_said_and_records_nothing(tmp_path):
    said, events = [], []
    store = Store(best(2, tmp_path))
    results = evaluate_best(store, Pool(events, Failed(None, "out of memory")), tmp_path,
                            said.append)
    assert results is None and store.attr(StudyAttr.TEST_EVALUATED_TRIAL) is None
    assert said == ["could not evaluate trial 2 on the test set: out of memory"]

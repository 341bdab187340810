"""What a worker runs for a task, with a stand-in pipe: a failing task is sent, not raised."""

from cifar_search.execution.protocol import EvaluateTask, Failed
from cifar_search.session.worker import run_task


class Pipe:
    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)


def test_an_evaluation_of_a_missing_model_is_sent_as_a_failure(tmp_path):
    pipe = Pipe()
    run_task(pipe, EvaluateTask(str(tmp_path / "missing.keras"), str(tmp_path / "data")))
    (failed,) = pipe.sent
    assert isinstance(failed, Failed) and failed.number is None
    assert failed.reason and "Traceback" in failed.traceback

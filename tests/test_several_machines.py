"""Several machines on one study, for real: a PostgreSQL server, an ``mlflow server`` backed
by it, and three coordinators (separate processes and workspaces, one worker each, a shared
checkpoints folder) started at the same instant. The study ends with exactly its target, no
parameter set twice, one parent run, one test evaluation and ``check`` clean; a machine killed
with ``kill -9`` mid-trial has its trial taken over by another after the grace period, going
on from its last epoch, and no live trial of another machine is ever failed. The kill test
trains the sweep file's own model (a custom layer) on its own 1-channel ``.npz``.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import gray_arrays, make_npz
from tests.helpers import ROOT, cli_inline
from tests.servers import mlflow_server, postgres

pytestmark = pytest.mark.processes

#: Heartbeat and grace period of the simulated machines (seconds).
HEARTBEAT_S, GRACE_S = 1, 6  # a coordinator stalled 6 s on a loaded machine is rare

SWEEP = """
from cifar_search import Budget, Objective, Sweep

sweep = Sweep(
    name="machines",
    space={"parameters": {"dropout_rate": DROPOUT, "filters": 4}},
    model="dropout",
    budget=Budget(epochs=EPOCHS, batch_size=4),
    objective=Objective("val_loss"),
    sampler="SAMPLER",
    trials=TRIALS,
    workers=1,
)
"""

#: The sweep file's own functional model with a custom layer, on its own 28x28 grey images.
OWN_MODEL = """
import keras
from keras import layers


@keras.saving.register_keras_serializable(package="machines")
class Brightness(layers.Layer):
    def __init__(self, shift=0.0, **kwargs):
        super().__init__(**kwargs)
        self.shift = shift

    def call(self, x):
        return x + self.shift

    def get_config(self):
        return {**super().get_config(), "shift": self.shift}


def build(params, input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(params["filters"], 3, activation="relu")(Brightness(0.1)(inputs))
    x = layers.MaxPooling2D()(x)
    x = layers.Dropout(params["dropout_rate"])(layers.Flatten()(x))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))
"""


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """(Optuna storage URL, MLflow server URL), both on 127.0.0.1, for the module."""
    folder = tmp_path_factory.mktemp("servers")
    with postgres() as server:
        optuna_url = server.create("optuna")
        backend = server.create("mlflow")
        (folder / "artifacts").mkdir()
        with mlflow_server(backend, folder / "artifacts") as tracking:
            yield optuna_url, tracking


def make_sweep(folder, sampler, dropout, epochs, trials, own=False):
    """The sweep file; ``own``: with the file's own model (:data:`OWN_MODEL`)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (SWEEP.replace("DROPOUT", dropout).replace("EPOCHS", str(epochs))
            .replace("SAMPLER", sampler).replace("TRIALS", str(trials)))
    if own:
        text = OWN_MODEL + text.replace('model="dropout"', "model=build")
    (folder / "sweep.py").write_text(text)


class Machines:
    """Coordinators of one study, each in its own workspace ``ws-<name>`` of ``folder``."""

    def __init__(self, folder, study, stores, data):
        self.folder, self.study, self.data = folder, study, data
        self.optuna_url, self.tracking = stores
        self._storage = None  # the test's own connection to the study, made once
        self.processes: dict[str, subprocess.Popen] = {}
        self.killed: list[str] = []  # host:pid of machines killed
        self.logs: list[Path] = []

    def running_trials(self):
        """The study's RUNNING trials, read through one storage object kept for the test
        (a new one per read connects again: too slow to catch a trial between two epochs)."""
        import optuna
        from optuna.trial import TrialState

        if self._storage is None:
            self._storage = optuna.storages.RDBStorage(self.optuna_url)
        try:
            study_id = self._storage.get_study_id_from_name(self.study)
        except KeyError:  # not made yet
            return []
        return self._storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))

    def flags(self, name):
        return ["--study-name", self.study, "--storage", self.optuna_url, "--tracking-uri",
                self.tracking, "--workspace", f"ws-{name}"]

    def start(self, name):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "CIFAR_SEARCH_DATA": "",
               "CIFAR_SEARCH_HEARTBEAT_S": str(HEARTBEAT_S), "CIFAR_SEARCH_GRACE_S": str(GRACE_S)}
        env.pop("MLFLOW_TRACKING_URI", None)
        log = self.folder / f"{name}-{len(self.logs)}.log"
        self.logs.append(log)
        command = [sys.executable, "-m", "cifar_search", "run", "sweep.py", "--data",
                   str(self.data), "--checkpoints", str(self.folder / "shared"),
                   *self.flags(name)]
        with open(log, "w") as out:  # a session of its own: kill -9 takes its workers too
            self.processes[name] = subprocess.Popen(command, cwd=self.folder, env=env,
                                                    stdout=out, stderr=subprocess.STDOUT,
                                                    start_new_session=True)

    def kill(self, name):
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.killed.append(f"{os.uname().nodename}:{process.pid}")

    def wait(self, timeout=400):
        for process in self.processes.values():
            assert process.wait(timeout) == 0, self.output()

    def output(self):
        return "\n".join(f"== {log.name}\n{log.read_text()}" for log in self.logs)

    def cli(self, *args):
        return cli_inline(*args, "sweep.py", *self.flags("A"), cwd=self.folder, check=False)

    def status(self):
        result = self.cli("status", "--json")
        return json.loads(result.stdout) if result.returncode == 0 else None


def assert_study(machines, target, epochs):
    """Exactly ``target`` finished trials with distinct parameters, nothing RUNNING or
    WAITING, interrupted trials only of killed machines (or released untrained by a machine
    that asked at the same moment as the others reached the target), one parent run tested once,
    each complete run's history 1..epochs once, ``check`` clean."""
    import optuna
    from mlflow import MlflowClient

    status = machines.status()
    trials = status["trials"]
    finished = [t for t in trials if t["state"] in ("complete", "pruned", "failed")]
    assert len(finished) == target, machines.output()
    assert len({json.dumps(t["params"], sort_keys=True) for t in finished}) == target
    assert {t["state"] for t in trials} <= {"complete", "interrupted"}, trials
    for trial in trials:
        if trial["state"] == "interrupted" and trial["released"]:
            assert trial["params"] == {} and trial["machine"] is not None, trial
        elif trial["state"] == "interrupted":
            assert trial["machine"] in machines.killed, (trial, machines.killed)
    client = MlflowClient(tracking_uri=machines.tracking)
    experiment = client.get_experiment_by_name(machines.study)
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert "test_accuracy" in parents[0].data.metrics
    assert not [r for r in runs if r.info.status == "RUNNING"]
    assert machines.output().count("test set: trial") == 1
    study = optuna.load_study(study_name=machines.study, storage=machines.optuna_url)
    for trial in study.trials:
        if trial.state.name == "COMPLETE":
            run_id = trial.user_attrs["mlflow_run_id"]
            steps = [m.step for m in client.get_metric_history(run_id, "val_loss")]
            assert sorted(steps) == list(range(1, epochs + 1)), (trial.number, steps)
    check = machines.cli("check")
    assert check.returncode == 0, check.stdout + check.stderr
    return study


def test_a_grid_on_three_machines_runs_each_point_once(tmp_path, stores, tiny_data):
    make_sweep(tmp_path, "grid", '{"grid": [0.1, 0.2, 0.3, 0.4]}', epochs=2, trials=None)
    machines = Machines(tmp_path, "grid3", stores, tiny_data)
    for name in "ABC":  # at the same instant: one creates the study, the others load it
        machines.start(name)
    machines.wait()
    study = assert_study(machines, target=4, epochs=2)
    # two machines asking at once for the last point: one trial beyond the target is asked and
    # released untrained (params {}, checked by assert_study); every point is trained once
    trained = [t for t in study.trials if not t.user_attrs.get("released")]
    assert sorted(t.params["dropout_rate"] for t in trained) == [0.1, 0.2, 0.3, 0.4]
    assert len({t.user_attrs["machine"] for t in trained}) >= 2  # they shared the work


def wait_for(condition, machines, timeout=180, or_done=False):
    """What ``condition`` finds; with ``or_done``, None once every machine has exited (the
    study ended first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found is not None:
            return found
        if or_done and all(p.poll() is not None for p in machines.processes.values()):
            return None
        time.sleep(0.1)
    raise AssertionError("timed out\n" + machines.output())


def running_trial_with_epochs(machines, epochs, total):
    """(machine name, trial number) of a trial in flight that saved at least ``epochs``
    epochs and fewer than ``total``, or None. Read from the Optuna storage and the checkpoint
    folder directly (a ``status`` command takes seconds on a busy machine, in which a trial
    may save its last epoch)."""
    owners = {f":{p.pid}": name for name, p in machines.processes.items() if p.poll() is None}
    for trial in machines.running_trials():
        machine = str(trial.user_attrs.get("machine", ""))
        owner = next((n for pid, n in owners.items() if machine.endswith(pid)), None)
        state = machines.folder / "shared" / machines.study / f"{trial.number:05d}" / "state.json"
        if owner is not None and state.is_file():
            if epochs <= json.loads(state.read_text())["epochs"] < total:
                return owner, trial.number
    return None


def test_tpe_on_three_machines_with_kill_9_mid_trial(tmp_path, stores):
    epochs = 3
    make_sweep(tmp_path, "tpe", '{"type": "float", "low": 0.0, "high": 0.5}', epochs=epochs,
               trials=5, own=True)
    # enough images for an epoch of a second or so: the kill must find a trial mid-way
    grey = make_npz(tmp_path / "grey.npz",
                    **gray_arrays(classes=3, size=28, train_per_class=150))
    machines = Machines(tmp_path, "tpe3", stores, grey)
    for name in "ABC":
        machines.start(name)
    rng = random.Random(14)
    taken = []
    for restart in (True, False):  # a machine killed mid-trial, after a random epoch: the
        at = rng.randint(1, epochs - 1)  # first comes back as a new process, the second not
        found = wait_for(lambda at=at: running_trial_with_epochs(machines, at, epochs), machines,
                         or_done=not restart)  # on a busy machine the study may end first
        if found is None:
            break
        victim, number = found
        machines.kill(victim)
        taken.append(number)
        if restart:
            machines.start(victim)
        else:
            del machines.processes[victim]
    machines.wait()
    study = assert_study(machines, target=5, epochs=epochs)
    retries = {t.user_attrs.get("retry_of"): t for t in study.trials}
    assert taken[0] in retries, machines.output()  # the first kill comes early: taken over
    for number in taken:  # each taken over, and continued from the epochs it had saved
        if number not in retries:  # the others reached the target before it went stale:
            assert study.trials[number].state.name == "FAIL", machines.output()  # no retry
            continue
        retry = retries[number]
        assert retry.user_attrs.get("resumed_at_epoch", 0) >= 1, retry.user_attrs
        assert retry.params == study.trials[number].params
        while retry.number in retries:  # the retry itself may have been killed later
            retry = retries[retry.number]
        # its last retry completed, or was the second kill's victim, ended once the target
        # was reached before it went stale (the branch above, for a retry)
        assert retry.state.name == "COMPLETE" or (
            retry.number in taken and retry.state.name == "FAIL"), (taken, retry.user_attrs)


def on_database(url, database):
    """``url`` (of one database of the server) with another database."""
    return url.rsplit("/", 1)[0] + f"/{database}"


def test_of_machines_claiming_the_end_at_the_same_instant_on_postgresql_one_wins(stores):
    import threading

    import sqlalchemy

    from cifar_search.engines.optuna import claims
    from cifar_search.engines.optuna.machines import Machine, claim

    optuna_url, _ = stores
    engines = [sqlalchemy.create_engine(optuna_url) for _ in range(6)]  # a machine each
    claims.create(engines[0])
    start, won = threading.Barrier(len(engines)), []

    def machine(i):
        start.wait()
        won.append(claims.claim(engines[i], 999, claim(Machine(f"m{i}", i, i), 3, 100.0),
                                600.0))

    threads = [threading.Thread(target=machine, args=(i,)) for i in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert sorted(won) == [False] * 5 + [True]


def test_a_database_user_who_cannot_create_tables_is_refused_before_any_trial(stores,
                                                                             tmp_path):
    import sqlalchemy

    from cifar_search.engines.optuna.study import StudyStore, create_storage
    from cifar_search.errors import ConfigError
    from cifar_search.workspace import Workspace
    from tests.engines.optuna.test_peers import sweep

    optuna_url, _ = stores
    admin = sqlalchemy.create_engine(on_database(optuna_url, "postgres"),
                                     isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text('create database "locked"'))
        connection.execute(sqlalchemy.text("create role reader login"))
    admin.dispose()
    create_storage(on_database(optuna_url, "locked"))  # Optuna's tables, made by their owner
    owner = sqlalchemy.create_engine(on_database(optuna_url, "locked"))
    with owner.begin() as connection:  # PostgreSQL 15: only the owner creates in public
        connection.execute(sqlalchemy.text(
            "grant all on all tables in schema public to reader; "
            "grant all on all sequences in schema public to reader"))
    owner.dispose()
    url = on_database(optuna_url, "locked").replace("postgres@", "reader@")
    with pytest.raises(ConfigError) as error:
        StudyStore(sweep(), Workspace.at(tmp_path / "ws", storage=url))
    assert str(error.value).startswith(
        f"--storage: {url}: cannot create the table 'cifar_search_finalisers' that machines "
        "claim the study's end in (")
    assert str(error.value).endswith("); give the database user the right to create tables, "
                                     "as Optuna's own need")
    assert "permission denied" in str(error.value)
    import optuna

    assert optuna.study.get_all_study_names(url) == []  # nothing was written

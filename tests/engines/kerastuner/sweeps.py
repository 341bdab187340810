"""Helpers of the KerasTuner engine's CLI tests: sweep files on tiny generated images with 2
workers, and the checks that its records, KerasTuner's trials and MLflow agree."""

import json

from cifar_search.engines.kerastuner.record import RecordStore
from cifar_search.search.states import TrialOutcome
from tests.helpers import cli_inline, mlflow_runs

SWEEP = """
from cifar_search import Budget, Data, Objective, Sweep
from cifar_search.config.parts import Oracle

sweep = Sweep(
    name="{name}",
    space={{"parameters": {space}}},
    model="dropout",
    data=Data(validation=0.25),
    budget=Budget(epochs={epochs}, batch_size={batch}),
    objective=Objective("val_loss"),
    sampler="{sampler}",
    engine="kerastuner",
    options={{"kerastuner": {{"oracle": {oracle}}}}},
    trials={trials},
    workers=2,
    same_seed={same_seed},
    seed=3,
)
"""

GRID = '{"dropout_rate": {"grid": [0.1, 0.5]}, "filters": 4}'
RANGE = '{"dropout_rate": {"type": "float", "low": 0.0, "high": 0.5}, "filters": 4}'


def write(folder, name, space=RANGE, oracle="None", trials="None", epochs=1, batch=8,
          same_seed=False):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(SWEEP.format(
        name=name, space=space, oracle=oracle, trials=trials, epochs=epochs, batch=batch,
        same_seed=same_seed, sampler="grid" if oracle == "None" else "random"))
    return f"{name}.py"


def records(folder, name):
    return RecordStore(folder / "ws" / "kerastuner" / name).records()


def status(folder, sweep):
    return json.loads(cli_inline("status", sweep, "--json", "--workspace", "ws",
                                 cwd=folder).stdout)


def assert_recorded(folder, name, sweep, epochs):
    """Records, KerasTuner's trials, MLflow runs and check agree; nothing left running."""
    found = status(folder, sweep)
    client, runs = mlflow_runs(folder / "ws", name)
    parents = [r for r in runs if r.data.tags.get("cifar_search.engine") == "kerastuner"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    children = {r.info.run_id: r for r in runs
                if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id}
    assert set(children) == {t["mlflow_run_id"] for t in found["trials"]}
    assert not [r for r in runs if r.info.status == "RUNNING"]
    for record in records(folder, name):
        run = children[record.run_id]
        assert run.data.tags["kerastuner.trial_id"] == record.kt_id
        assert run.data.tags["state"] == record.outcome
        assert run.data.params["dropout_rate"] == str(record.params["dropout_rate"])
        if record.outcome == TrialOutcome.COMPLETE:
            steps = [m.step for m in client.get_metric_history(record.run_id, "val_loss")]
            assert steps == list(range(1, record.epochs + 1))  # each epoch once
    assert cli_inline("check", sweep, "--workspace", "ws", cwd=folder).returncode == 0
    return found

"""The command line end to end: real worker processes training tiny models on generated
images, then Optuna and MLflow checked against each other."""

import json

import pytest

from tests.helpers import assert_quiet, cli, cli_inline, mlflow_runs

pytestmark = pytest.mark.processes

GRID_SWEEP = """
from cifar_search import Budget, Data, Objective, Sweep

sweep = Sweep(
    name="tiny-grid",
    space={"parameters": {"dropout_rate": {"grid": [0.1, 0.3, 0.5]}, "activation": "elu"}},
    model="dropout",
    data=Data(validation=0.25),
    budget=Budget(epochs=2, batch_size=8),
    objective=Objective("val_loss"),
    sampler="grid",
    workers=2,
    seed=3,
)
"""

TPE_SWEEP = """
from cifar_search import Budget, Objective, Pruner, Sampler, Sweep

sweep = Sweep(
    name="tiny-tpe",
    space={"parameters": {
        "optimizer": {"choices": ["sgd", "adam"]},
        "momentum": {"type": "float", "low": 0.0, "high": 0.9, "when": {"optimizer": "sgd"}},
        "learning_rate": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
        "units": {"choices": [8, 16]},
        "filters": 4,
    }},
    model="intro",
    budget=Budget(epochs=3, batch_size=16),
    objective=Objective("val_accuracy"),
    sampler=Sampler("tpe", {"n_startup_trials": 2}),
    pruner=Pruner("median", {"n_startup_trials": 1, "n_warmup_steps": 0}),
    trials=4,
    seed=1,
)
"""


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory, tiny_data):
    folder = tmp_path_factory.mktemp("grid")
    (folder / "sweep.py").write_text(GRID_SWEEP)
    workspace = folder / "ws"
    first = cli("run", "sweep.py", "--data", tiny_data, "--workspace", workspace, cwd=folder)
    return folder, workspace, first, tiny_data


def test_grid_sweep_runs_every_point_once(grid_run):
    folder, workspace, first, _ = grid_run
    assert "new study 'tiny-grid': 3 trials, 2 worker(s)" in first.stdout
    assert first.stdout.count(" complete ") == 3
    status = json.loads(cli_inline("status", "sweep.py", "--json", "--workspace", workspace,
                            cwd=folder).stdout)
    assert status["study"] == "tiny-grid" and status["direction"] == "minimize"
    assert status["counts"] == {"complete": 3}
    rates = sorted(t["params"]["dropout_rate"] for t in status["trials"])
    assert rates == [0.1, 0.3, 0.5]
    assert all(t["params"]["activation"] == "elu" for t in status["trials"])


def test_the_terminal_shows_cifar_search_only_and_the_workspace_keeps_tensorflows_log(grid_run):
    folder, workspace, first, _ = grid_run
    assert_quiet(first)
    assert (workspace / "logs" / "tiny-grid.log").is_file()
    assert "test set: trial " in first.stdout and " accuracy=" in first.stdout


def test_optuna_trials_and_mlflow_runs_agree(grid_run):
    folder, workspace, _, _ = grid_run
    status = json.loads(cli_inline("status", "sweep.py", "--json", "--workspace", workspace,
                            cwd=folder).stdout)
    client, runs = mlflow_runs(workspace, "tiny-grid")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = {r.info.run_id: r for r in runs if "mlflow.parentRunId" in r.data.tags}
    assert len(parents) == 1 and len(children) == 3
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    for trial in status["trials"]:
        run = children[trial["mlflow_run_id"]]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.info.status == "FINISHED" and run.data.tags["state"] == "complete"
        assert int(run.data.tags["optuna.trial_number"]) == trial["number"]
        assert float(run.data.params["dropout_rate"]) == trial["params"]["dropout_rate"]
        assert run.data.params["activation"] == "elu"
        assert run.data.metrics["objective"] == pytest.approx(trial["value"])
        history = client.get_metric_history(run.info.run_id, "val_loss")
        assert [m.step for m in history] == [1, 2]
        assert history[-1].value == pytest.approx(trial["value"])
        for key in ("loss", "accuracy", "val_accuracy"):
            assert len(client.get_metric_history(run.info.run_id, key)) == 2
        assert run.data.params["resolved.optimizer"] == "Adam"
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"trials.csv", "optimization_history.png", "val_loss_vs_dropout_rate.png",
            "confusion_matrix.png", "summary.json", "sweep.json", "best_model"} <= artifacts
    assert 0 <= parent.data.metrics["test_accuracy"] <= 1
    best = json.loads(cli_inline("best", "sweep.py", "--json", "--workspace", workspace,
                          cwd=folder).stdout)["best"]
    assert parent.data.metrics["best_value"] == pytest.approx(best["value"])
    assert best["value"] == min(t["value"] for t in status["trials"])


def test_runs_explain_themselves_in_the_mlflow_ui(grid_run):
    folder, workspace, first, tiny_data = grid_run
    client, runs = mlflow_runs(workspace, "tiny-grid")
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    best = min(children, key=lambda r: r.data.metrics["objective"])
    assert [r.info.run_name for r in children if r.data.tags.get("best") == "true"] == [
        best.info.run_name] and best.info.run_name.endswith(" (best)")
    assert len({r.data.tags["mlflow.runColor"] for r in children}) == 3
    by_rate = sorted(children, key=lambda r: float(r.data.params["dropout_rate"]))
    assert by_rate[0].data.tags["mlflow.runColor"] == "#363dd9"  # the ramp's blue end
    note = parent.data.tags["mlflow.note.content"]
    assert (f"(#/experiments/{parent.info.experiment_id}/runs/{best.info.run_id}"
            "?workflowType=machine_learning)") in note
    assert "**Test accuracy** of trial " in note and "**Trials:** 3 (3 complete)" in note
    assert "**Verdict:** none possible, each candidate has one score; for one, train" in note
    assert client.get_experiment(parent.info.experiment_id).tags["mlflow.note.content"] == note
    for run in runs:
        assert run.data.tags["mlflow.source.name"] == "sweep.py"
        (dataset,) = [d.dataset for d in run.inputs.dataset_inputs]
        assert dataset.name == tiny_data.name and json.loads(dataset.profile) == {
            "classes": 10, "test": 20, "train": 45, "validation": 15}
    params = {k for r in runs for k in r.data.params}
    assert not params & {k for r in runs for k in (*r.data.metrics, *r.data.tags)}
    learning_rate = float(children[0].data.params["resolved.learning_rate"])
    assert learning_rate == 0.001  # as asked, not float32's 0.0010000000474974513
    experiments = client.search_experiments()  # active ones, as the UI lists them
    assert [e.name for e in experiments] == ["tiny-grid"]


def test_the_best_model_loads_back_from_the_model_registry(grid_run, capfd):
    import mlflow
    import numpy as np

    folder, workspace, first, tiny_data = grid_run
    assert "best model registered: models:/tiny-grid/1 " in first.stdout
    mlflow.set_tracking_uri(f"sqlite:///{workspace / 'mlflow.db'}")
    try:
        model = mlflow.pyfunc.load_model("models:/tiny-grid@best")
        keras_model = mlflow.keras.load_model("models:/tiny-grid/latest")
    finally:
        mlflow.set_tracking_uri(None)
    images = np.random.default_rng(0).random((3, 32, 32, 3), dtype=np.float32)
    capfd.readouterr()
    logits = model.predict(images)
    assert capfd.readouterr() == ("", "")  # no Keras progress bar
    assert logits.shape == (3, 10) and np.isfinite(logits).all()
    assert np.allclose(keras_model.predict(images, verbose=0), logits, atol=1e-6)
    classes = model.metadata.metadata["class_names"]  # the outputs' names, in order
    assert sorted(classes) == sorted(p.name for p in (tiny_data / "train").iterdir())
    client, runs = mlflow_runs(workspace, "tiny-grid")
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    (best,) = [r for r in runs if r.data.tags.get("best") == "true"]
    (output,) = parent.outputs.model_outputs  # the UI's Models column
    version = client.get_model_version("tiny-grid", "1")
    assert version.run_id == best.info.run_id  # the trial that trained it, not the parent
    assert version.aliases == ["best"]
    logged = client.get_logged_model(output.model_id)
    assert version.source == f"models:/{logged.model_id}"  # the version page's Source Model
    assert client.get_model_version_download_uri("tiny-grid", "1") == logged.artifact_location
    assert logged.source_run_id == best.info.run_id
    assert {m.key: m.value for m in logged.metrics} == {
        k: parent.data.metrics[k] for k in ("test_loss", "test_accuracy")}
    assert [o.model_id for o in client.get_run(best.info.run_id).outputs.model_outputs] == [
        logged.model_id]
    # what mlflow.register_model writes: the logged-model page shows it registered
    assert json.loads(logged.tags["mlflow.modelVersions"]) == [
        {"name": "tiny-grid", "version": "1"}]
    # the best trial's run page lists the versions whose run is its own
    assert [str(v.version) for v in client.search_model_versions(
        f"run_id = '{best.info.run_id}'")] == ["1"]
    trial = best.info.run_name.split()[0]
    assert version.description.startswith(f"{trial}, the best of study tiny-grid (")
    assert "models:/tiny-grid@best" in version.description
    assert {k: version.tags[k] for k in ("study", "trial_run", "objective", "engine")} == {
        "study": "tiny-grid", "trial_run": trial, "objective": "val_loss", "engine": "optuna"}
    assert float(version.tags["test_accuracy"]) == parent.data.metrics["test_accuracy"]
    assert tuple(model.metadata.signature.inputs.to_dict()[0]["tensor-spec"]["shape"]) == (
        -1, 32, 32, 3)
    from cifar_search.tracking.registry import registered

    # a resumed study finds its best trial registered already: no second version
    assert registered(client, "tiny-grid", best.info.run_id) == "1"


def test_running_again_resumes_instead_of_starting_over(grid_run):
    folder, workspace, _, tiny_data = grid_run
    again = cli_inline("run", "sweep.py", "--workspace", workspace, "--data", "unused-when-cached",
                cwd=folder, check=False)
    # the data path is checked before anything else: a wrong one is a clear error
    assert again.returncode == 1 and "unused-when-cached" in again.stderr
    stores = {name: (workspace / name).read_bytes() for name in ("optuna.db", "mlflow.db")}
    again = cli_inline("run", "sweep.py", "--workspace", workspace, "--data", tiny_data, cwd=folder)
    assert "resuming study 'tiny-grid': 3 complete, 0 left; nothing to do" in again.stdout
    assert stores == {name: (workspace / name).read_bytes() for name in stores}  # no write
    assert " complete " not in again.stdout.replace("3 complete", "")
    status = json.loads(cli_inline("status", "sweep.py", "--json", "--workspace", workspace,
                            cwd=folder).stdout)
    assert len(status["trials"]) == 3
    _, runs = mlflow_runs(workspace, "tiny-grid")
    assert len(runs) == 4


def test_tpe_sweep_with_pruner_and_one_worker(tmp_path, tiny_data):
    (tmp_path / "sweep.py").write_text(TPE_SWEEP)
    workspace = tmp_path / "ws"
    result = cli_inline("run", "sweep.py", "--data", tiny_data, "--workspace", workspace,
                        cwd=tmp_path)
    status = json.loads(cli_inline("status", "sweep.py", "--json", "--workspace", workspace,
                                   cwd=tmp_path).stdout)
    finished = [t for t in status["trials"] if t["state"] in ("complete", "pruned")]
    assert len(finished) == 4, result.stdout
    for trial in status["trials"]:
        assert ("momentum" in trial["params"]) == (trial["params"]["optimizer"] == "sgd")
    _, runs = mlflow_runs(workspace, "tiny-tpe")
    resolved = {r.data.params.get("resolved.optimizer") for r in runs} - {None}
    wanted = {{"sgd": "SGD", "adam": "Adam"}[t["params"]["optimizer"]] for t in status["trials"]}
    assert resolved == wanted


def test_usage_error_prints_one_line_and_the_subcommand_help(tmp_path):
    result = cli("run", cwd=tmp_path, check=False)
    assert result.returncode == 2
    first, *rest = result.stderr.splitlines()
    assert first == "error: the following arguments are required: sweep"
    assert "usage: python -m cifar_search run" in result.stderr
    bad = cli("run", "x.py", "--workers", "0", cwd=tmp_path, check=False)
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[0] == (
        "error: argument --workers: '0' is not allowed; give a whole number >= 1, or 'auto' "
        "(one worker per core)")


def test_bad_sweep_is_one_line_and_creates_nothing(tmp_path):
    (tmp_path / "sweep.py").write_text(GRID_SWEEP.replace('"dropout"', '"lenet"'))
    result = cli_inline("run", "sweep.py", "--workspace", tmp_path / "ws", cwd=tmp_path,
                        check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: sweep.py: model: 'lenet' is not allowed; model families are intro, dropout, "
        "vgg, bnnet, fastnet, resnet; or your own: a function defined at the top level of the "
        "sweep file, or 'package.module:function'")
    assert not (tmp_path / "ws").exists()


def test_gpus_that_are_not_there_are_one_line_and_create_nothing(tmp_path, monkeypatch):
    from cifar_search.execution import devices
    from cifar_search.execution.gpus import Gpu

    (tmp_path / "sweep.py").write_text(GRID_SWEEP)
    monkeypatch.setattr(devices, "discover", lambda: ())
    result = cli_inline("run", "sweep.py", "--gpus", "0", "--workspace", tmp_path / "ws",
                        cwd=tmp_path, check=False)
    assert (result.returncode, result.stderr.strip()) == (1, (
        "error: --gpus: [0] is not allowed; GPU 0 is not one of this machine's visible GPUs "
        "(none, as nvidia-smi numbers them)"))
    two = (Gpu(0, "NVIDIA L4", 22491), Gpu(1, "NVIDIA L4", 22491))
    monkeypatch.setattr(devices, "discover", lambda: two)
    (tmp_path / "packed.py").write_text(GRID_SWEEP.replace(
        "workers=2", "workers=3, compute=Compute(gpus_per_trial=1)"
    ).replace("import ", "import Compute, "))
    result = cli_inline("run", "packed.py", "--workspace", tmp_path / "ws", cwd=tmp_path,
                        check=False)
    assert result.stderr.strip() == (
        "error: packed.py: compute.gpus_per_trial: 3 workers at gpus_per_trial=1 need 3 GPUs "
        "and 2 are visible (0,1); at most 2 workers fit, or lower gpus_per_trial")
    assert not (tmp_path / "ws").exists()


def test_the_first_line_says_when_tensorflow_cannot_use_the_gpu(tmp_path, monkeypatch):
    from cifar_search import cli as command
    from cifar_search.execution import devices, gpu_build
    from cifar_search.execution.gpus import Gpu

    (tmp_path / "sweep.py").write_text(GRID_SWEEP)
    monkeypatch.setattr(devices, "discover", lambda: (Gpu(0, "NVIDIA L4", 22491),))
    monkeypatch.setattr(gpu_build, "installed", lambda backend: gpu_build.Installed(
        "tensorflow-cpu", "2.21.0", cuda_build=False) if backend == "tensorflow" else
        gpu_build.Installed("jax", "0.10.2", cuda_build=False))
    args = command.build_parser().parse_args(["run", str(tmp_path / "sweep.py")])
    line = command._check_devices(args, command._run_sweep(args))
    assert line is not None and line.startswith("GPU: this machine has 1 GPU (NVIDIA L4) but ")
    assert line.endswith(gpu_build.FIX_GPU_BUILD)
    args = command.build_parser().parse_args(["run", str(tmp_path / "sweep.py"),
                                              "--backend", "jax"])
    line = command._check_devices(args, command._run_sweep(args))
    assert line is not None and line.endswith(gpu_build.FIX_JAX_GPU)  # JAX's, not TF's


def test_missing_data_is_a_clear_error(tmp_path):
    (tmp_path / "sweep.py").write_text(GRID_SWEEP)
    result = cli_inline("run", "sweep.py", "--data", tmp_path / "nothing.tar.gz",
                        "--workspace", tmp_path / "ws", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "nothing.tar.gz" in result.stderr
    assert "Traceback" not in result.stderr


FAILING_SWEEP = """
from cifar_search import Budget, Objective, Sweep

sweep = Sweep(
    name="tiny-fail",
    space={"parameters": {"depth": {"grid": [2, 4]}, "filters": 4}},
    model="vgg",
    budget=Budget(epochs=1, batch_size=8),
    sampler="grid",
)
"""


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(tmp_path, tiny_data):
    from tests.conftest import make_image_folder

    small = make_image_folder(tmp_path / "small", size=8)  # depth 4 halves 8x8 too often
    (tmp_path / "sweep.py").write_text(FAILING_SWEEP)
    workspace = tmp_path / "ws"
    result = cli_inline("run", "sweep.py", "--data", small, "--workspace", workspace, cwd=tmp_path)
    assert "depth=4 is too deep for 8x8 images" in result.stdout
    status = json.loads(cli_inline("status", "sweep.py", "--json", "--workspace", workspace,
                                   cwd=tmp_path).stdout)
    states = {t["params"]["depth"]: t["state"] for t in status["trials"]}
    assert states == {2: "complete", 4: "failed"}
    _, runs = mlflow_runs(workspace, "tiny-fail")
    failed = [r for r in runs if r.data.tags.get("state") == "failed"]
    assert len(failed) == 1 and failed[0].info.status == "FAILED"
    assert "too deep" in failed[0].data.tags["fail_reason"]


GRAY_SWEEP = """
from cifar_search import Budget, Data, Sweep

sweep = Sweep(
    name="tiny-gray",
    space={"parameters": {"units": {"choices": [8, 16]}, "filters": 4}},
    model="intro",
    data=Data(source="gray.npz", validation=0.25),
    budget=Budget(epochs=1, batch_size=8),
    sampler="grid",
    trials=2,
    workers=1,
    seed=5,
)
"""


def test_a_sweep_on_a_one_channel_npz_of_three_classes(tmp_path):
    from tests.conftest import make_npz

    make_npz(tmp_path / "gray.npz")  # 28x28x1 images of 3 classes
    (tmp_path / "sweep.py").write_text(GRAY_SWEEP)
    cli_inline("run", "sweep.py", "--workspace", "ws", cwd=tmp_path)  # read back only
    status = json.loads(cli_inline("status", "sweep.py", "--json", "--workspace", "ws",
                                   cwd=tmp_path).stdout)
    assert status["counts"] == {"complete": 2}
    assert sorted(t["params"]["units"] for t in status["trials"]) == [8, 16]

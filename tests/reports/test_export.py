"""``export`` end to end on one tiny real sweep (the lesson's activation loop on two
activations), the trials table checked against Optuna and MLflow, and the parent run's
learning curves."""

import io
import json
import tarfile
from datetime import datetime

import optuna
import pandas as pd
import pytest

from cifar_search.cli import main
from cifar_search.errors import ConfigError
from cifar_search.reports import export
from cifar_search.tracking.reader import RunReader
from tests.helpers import ROOT, cli_inline

pytestmark = pytest.mark.processes

LEGACY = ROOT / "tests" / "data" / "legacy-14511ce.tar.gz"

SWEEP = """
from cifar_search import Budget, Data, Objective, Sweep

sweep = Sweep(
    name="tiny-export",
    space={"parameters": {"activation": {"grid": ["relu", "tanh"]}, "filters": 4, "units": 8}},
    model="intro",
    data=Data(validation=0.25),
    budget=Budget(epochs=2, batch_size=16),
    objective=Objective("val_loss"),
    sampler="grid",
    workers=1,
    seed=5,
)
"""

FORMATS = ("csv", "parquet", "json")


@pytest.fixture(scope="module")
def swept(tmp_path_factory, tiny_data):
    """(sweep file, workspace, study, MLflow client) after a 2-trial, 2-epoch grid sweep."""
    from mlflow import MlflowClient

    folder = tmp_path_factory.mktemp("export")
    (folder / "sweep.py").write_text(SWEEP)
    workspace = folder / "ws"
    cli_inline("run", "sweep.py", "--data", tiny_data, "--workspace", workspace, cwd=folder)
    study = optuna.load_study(study_name="tiny-export",
                              storage=f"sqlite:///{workspace / 'optuna.db'}")
    client = MlflowClient(tracking_uri=f"sqlite:///{workspace / 'mlflow.db'}")
    return folder / "sweep.py", workspace, study, client


@pytest.fixture(autouse=True)
def _no_tracking_server(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def export_cli(swept, *args):
    sweep, workspace, _, _ = swept
    return main(["export", str(sweep), "--workspace", str(workspace), *map(str, args)])


def read(path_or_text, fmt):
    """A written table read back with pandas, as a user would."""
    if fmt == "csv":
        return pd.read_csv(path_or_text)
    if fmt == "json":
        return pd.read_json(path_or_text, orient="records", dtype=False, convert_dates=False,
                            precise_float=True)
    return pd.read_parquet(path_or_text)


def missing(value):
    return value is None or (not isinstance(value, str) and pd.isna(value))


def assert_same_table(actual, expected):
    """Same columns in the same order, same rows and values (numbers compared as numbers,
    any kind of missing value equal to any other)."""
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected)
    for column in expected.columns:
        for got, want in zip(actual[column], expected[column], strict=True):
            if missing(want):
                assert missing(got), (column, got)
            elif isinstance(want, float):
                assert float(got) == pytest.approx(want, rel=1e-12), column
            else:
                assert got == want, (column, got, want)


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_round_trips(swept, fmt, tmp_path, capsys):
    _, _, study, client = swept
    path = tmp_path / f"trials.{fmt}"
    assert export_cli(swept, "--format", fmt, "--output", path) == 0
    assert capsys.readouterr().out == f"wrote 2 trials to {path}\n"
    expected = export.export_table(study, RunReader(client.tracking_uri))
    back = read(path, fmt)
    assert_same_table(back, expected)
    if fmt == "parquet":  # Parquet keeps the column types too
        pd.testing.assert_frame_equal(back, expected)


def test_table_matches_optuna_and_mlflow(swept):
    _, _, study, client = swept
    table = export.export_table(study, RunReader(client.tracking_uri)).set_index("number")
    assert list(table.columns[:5]) == ["state", "value", "value_std", "repeats",
                                       "repeat_values"]
    assert list(table.columns[-10:]) == list(export.TAIL_COLUMNS)
    assert {"param.activation", "param.filters", "param.units"} <= set(table.columns)
    assert {"metric.loss", "metric.accuracy", "metric.val_loss", "metric.val_accuracy",
            "metric.epoch_seconds", "metric.objective", "metric.duration_s"} <= set(table.columns)
    trials = study.get_trials()
    assert sorted(table.index) == [t.number for t in trials]
    for trial in trials:
        row = table.loc[trial.number]
        run_id = trial.user_attrs["mlflow_run_id"]
        assert row["state"] == "complete" and row["value"] == trial.value
        assert row["mlflow_run_id"] == run_id
        assert row["param.activation"] == trial.params["activation"]
        assert (row["param.filters"], row["param.units"]) == (4, 8)
        run = client.get_run(run_id)
        for name, value in run.data.metrics.items():
            assert row[f"metric.{name}"] == value
        assert row["metric.val_loss"] == client.get_metric_history(run_id, "val_loss")[-1].value
        assert row["metric.val_loss"] == pytest.approx(trial.value)
        assert row["epochs_trained"] == 2 and row["seed"] == trial.user_attrs["seed"]
        assert row["duration_s"] == trial.user_attrs["duration_s"]
        assert missing(row["retry_of"]) and missing(row["fail_reason"])
        assert missing(row["duplicate_of"]) and missing(row["continues"])
        assert missing(row["value_std"]) and missing(row["repeats"])
        start = datetime.fromisoformat(row["datetime_start"]).astimezone()
        assert start.replace(tzinfo=None) == trial.datetime_start
        end = datetime.fromisoformat(row["datetime_complete"]).astimezone()
        assert end.replace(tzinfo=None) == trial.datetime_complete
    assert sorted(table["param.activation"]) == ["relu", "tanh"]


def test_default_output_is_named_after_the_sweep(swept, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert export_cli(swept) == 0
    assert capsys.readouterr().out == "wrote 2 trials to tiny-export-trials.csv\n"
    assert len(pd.read_csv(tmp_path / "tiny-export-trials.csv")) == 2
    assert export_cli(swept, "--format", "json") == 0
    assert json.loads((tmp_path / "tiny-export-trials.json").read_text())[0]["number"] == 0


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_dash_writes_to_stdout(swept, fmt, capsys):
    _, _, study, client = swept
    assert export_cli(swept, "--format", fmt, "--output", "-") == 0
    out, err = capsys.readouterr()
    assert err == "wrote 2 trials to stdout\n"
    expected = export.export_table(study, RunReader(client.tracking_uri))
    assert_same_table(read(io.StringIO(out), fmt), expected)
    if fmt == "json":
        records = json.loads(out)  # one array, NaN written as null
        assert isinstance(records, list) and records[0]["value_std"] is None


def test_parquet_to_stdout_is_refused_in_one_line(swept, capsys):
    assert export_cli(swept, "--format", "parquet", "--output", "-") == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("error: --output: '-' writes to stdout, which takes csv or json; parquet is "
                   "binary: give a file, e.g. --output tiny-export-trials.parquet\n")


def test_unknown_format_is_a_usage_error(swept, capsys):
    assert export_cli(swept, "--format", "xlsx") == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("error: argument --format: invalid choice: 'xlsx' (choose from ")


def test_parent_run_has_learning_curves(swept):
    _, _, study, client = swept
    parent = study.user_attrs["mlflow_parent_run_id"]
    artifacts = {a.path: a.file_size for a in client.list_artifacts(parent)}
    for name in ("learning_curves_val_loss.png", "learning_curves_val_accuracy.png"):
        assert artifacts.get(name, 0) > 0, sorted(artifacts)


# --------------------------------------------------------------------------------------------
# the table from synthetic trials (no training)
# --------------------------------------------------------------------------------------------


class NoRuns:
    """Runs that are all gone."""

    def final_metrics(self, run_id):
        return {}


def synthetic_study():
    study = optuna.create_study(direction="maximize")
    dist = optuna.distributions
    space = {"units": dist.CategoricalDistribution([64, "auto"]),
             "batch_norm": dist.CategoricalDistribution([True, False])}
    for number, (units, batch_norm) in enumerate([(64, True), ("auto", None)]):
        params = {"units": units, **({} if batch_norm is None else {"batch_norm": batch_norm})}
        attrs = {"params": params, "mlflow_run_id": f"gone{number}", "seed": 10 + number}
        if number == 0:
            attrs.update(value_std=0.02, repeat_values=[0.5, 0.54, float("nan")])
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions={k: space[k] for k in params}, value=0.5 + number,
            user_attrs=attrs))
    return study


def test_synthetic_table_types_repeats_and_missing_runs(tmp_path):
    table = export.export_table(synthetic_study(), NoRuns())
    assert not any(c.startswith("metric.") for c in table.columns)
    assert table["value_std"].tolist()[0] == 0.02 and missing(table["value_std"][1])
    assert table["repeats"].tolist()[0] == 3 and missing(table["repeats"][1])
    assert json.loads(table["repeat_values"][0]) == [0.5, 0.54, None]
    assert str(table["seed"].dtype) == "Int64"
    assert str(table["param.batch_norm"].dtype) == "boolean"
    for fmt in FORMATS:  # a column mixing 64 and "auto" is written as text in Parquet
        export.write_table(table, tmp_path / f"t.{fmt}", fmt)
        back = read(tmp_path / f"t.{fmt}", fmt)
        assert back["param.units"].astype(str).tolist() == ["64", "auto"]
        assert len(back) == 2


def test_empty_study_exports_the_header(tmp_path):
    table = export.export_table(optuna.create_study(), NoRuns())
    assert table.empty and list(table.columns) == [*export.HEAD_COLUMNS, *export.TAIL_COLUMNS]
    export.write_table(table, tmp_path / "t.json", "json")
    assert json.loads((tmp_path / "t.json").read_text()) == []
    export.write_table(table, tmp_path / "t.csv", "csv")
    assert list(pd.read_csv(tmp_path / "t.csv").columns) == list(table.columns)


def test_write_table_refuses_unknown_format_and_parquet_to_stdout():
    table = export.export_table(optuna.create_study(), NoRuns())
    with pytest.raises(ConfigError, match=r"^--format: 'xlsx' is not a format; formats "
                                                 r"are csv, parquet, json$"):
        export.write_table(table, "x.xlsx", "xlsx")
    with pytest.raises(ConfigError, match=r"parquet is binary: give a file, e\.g\. "
                                                 r"--output trials\.parquet$"):
        export.write_table(table, "-", "parquet")


# --------------------------------------------------------------------------------------------
# a sweep recorded before the redesign (3 trials, the last one left RUNNING)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def legacy(tmp_path, monkeypatch):
    """The recorded sweep unpacked, its folder the working directory."""
    with tarfile.open(LEGACY) as archive:
        archive.extractall(tmp_path, filter="data")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_legacy_sweep_exports(legacy, capsys):
    assert main(["export", "sweep.py", "--workspace", "ws", "--format", "json"]) == 0
    assert capsys.readouterr().out == "wrote 3 trials to legacy-trials.json\n"
    records = json.loads((legacy / "legacy-trials.json").read_text())
    assert [r["state"] for r in records] == ["complete", "complete", "running"]
    assert [r["param.dropout_rate"] for r in records] == [0.1, 0.2, 0.3]
    assert records[0]["metric.val_loss"] == records[0]["value"]
    assert records[2]["metric.val_loss"] is not None and records[2]["epochs_trained"] is None
    assert list(records[0])[-10:] == list(export.TAIL_COLUMNS)


def test_reader_of_a_run_that_is_gone(legacy):
    reader = RunReader(f"sqlite:///{legacy / 'ws' / 'mlflow.db'}")
    assert reader.final_metrics("0" * 32) == {} and reader.final_metrics(None) == {}

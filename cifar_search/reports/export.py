"""A study's full trials table, for analysis elsewhere: ``python -m cifar_search export``.

One row per trial, joining the Optuna trial with its MLflow child run: number, state, value
(with ``value_std``, ``repeats`` and ``repeat_values`` for trials scored over several seeds),
every parameter as ``param.<name>``, the child run's final metrics as ``metric.<name>``, start
and end times (ISO 8601 text with the UTC offset), duration, epochs, failure reason, retry
chain, seed and the MLflow run id. Written as CSV, Parquet or JSON (one array of records).
This module reads the stores (MLflow through a
:class:`~cifar_search.tracking.reader.RunReader`) and never writes to them.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Hashable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from cifar_search.errors import ConfigError
from cifar_search.search.fidelity import RUNG_KEYS  # pruner 'asha': last, where a study has them
from cifar_search.search.states import Attr, outcome_of
from cifar_search.tracking.objectives import single_value
from cifar_search.tracking.tables import trial_params

if TYPE_CHECKING:
    import optuna

#: Output formats; each is also its file extension.
FORMATS = ("csv", "parquet", "json")

#: Leading columns, before the parameters.
HEAD_COLUMNS = ("number", "state", "value", Attr.VALUE_STD.value, "repeats", "repeat_values")

#: Trial user attributes written as the last columns, after the times.
TAIL_ATTRS = (Attr.DURATION_S, Attr.EPOCHS_TRAINED, Attr.FAIL_REASON, Attr.RETRY_OF,
              Attr.CONTINUES, Attr.DUPLICATE_OF, Attr.SEED, Attr.MLFLOW_RUN_ID)

#: Trailing columns, after the metrics.
TAIL_COLUMNS = ("datetime_start", "datetime_complete", *(attr.value for attr in TAIL_ATTRS))

#: Columns of whole numbers and of reals (metrics are reals too); missing values allowed.
INT_COLUMNS = ("number", "repeats", Attr.EPOCHS_TRAINED, Attr.RETRY_OF, Attr.CONTINUES,
               Attr.DUPLICATE_OF, Attr.SEED, *RUNG_KEYS)
FLOAT_COLUMNS = ("value", Attr.VALUE_STD, Attr.DURATION_S)


def _time(moment: datetime | None) -> str | None:
    """ISO 8601 with the UTC offset (Optuna stores naive local times)."""
    return moment.astimezone().isoformat() if moment is not None else None


class Runs(Protocol):
    """Where the runs' final metrics are read from (a ``RunReader``, or a test's stand-in)."""

    def final_metrics(self, run_id: str | None) -> dict[str, float]:
        """The latest value of each metric of a run; empty when there is none."""


def _repeat_columns(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """value_std, the number of seeds and their values (JSON text) of a repeated trial."""
    values = trial.user_attrs.get(Attr.REPEAT_VALUES)
    value_std = trial.user_attrs.get(Attr.VALUE_STD)
    if not values:
        return {Attr.VALUE_STD.value: value_std, "repeats": None, "repeat_values": None}
    finite = [v if isinstance(v, (int, float)) and math.isfinite(v) else None for v in values]
    return {Attr.VALUE_STD.value: value_std, "repeats": len(values),
            "repeat_values": json.dumps(finite)}


def _row(trial: optuna.trial.FrozenTrial, metrics: dict[str, float]) -> dict[str, Any]:
    attrs = trial.user_attrs
    row: dict[str, Any] = {"number": trial.number, "state": outcome_of(trial).value,
                           "value": single_value(trial), **_repeat_columns(trial)}
    row.update({f"param.{k}": v for k, v in trial_params(trial).items()})
    row.update({f"metric.{k}": v for k, v in metrics.items()})
    row.update(datetime_start=_time(trial.datetime_start),
               datetime_complete=_time(trial.datetime_complete))
    row.update({attr.value: attrs.get(attr) for attr in (*TAIL_ATTRS, *RUNG_KEYS)})
    return row


def _typed(column: pd.Series) -> pd.Series:
    """A column of Python objects with its natural type: whole numbers as nullable integers
    (a missing value must not turn ``64`` into ``64.0``), flags as nullable booleans."""
    if column.name in FLOAT_COLUMNS or str(column.name).startswith("metric."):
        return column.astype("float64")
    present = column.dropna()
    if column.name in INT_COLUMNS or (len(present) and all(type(v) is int for v in present)):
        return column.astype("Int64")
    if len(present) and all(type(v) is bool for v in present):
        return column.astype("boolean")
    return column.infer_objects()


def export_table(study: optuna.Study, runs: Runs) -> pd.DataFrame:
    """Every trial of ``study`` with its parameters and its MLflow run's final metrics.

    Args:
        study: the sweep's study.
        runs: reads the runs' final metrics, e.g. a
            :class:`~cifar_search.tracking.reader.RunReader` on the workspace's tracking URI.

    Returns:
        One row per trial, in trial order; the columns are ``number``, ``state``, ``value``,
        ``value_std``, ``repeats``, ``repeat_values``, ``param.<name>`` …, ``metric.<name>`` …,
        ``datetime_start``, ``datetime_complete``, ``duration_s``, ``epochs_trained``,
        ``fail_reason``, ``retry_of``, ``continues``, ``duplicate_of``, ``seed``,
        ``mlflow_run_id`` (and, pruner 'asha', ``rung``, ``rung_epochs``, ``promoted_from``).
        A value a trial lacks (a conditional parameter, a metric of a failed
        run) is missing (NaN / None).

    Example:
        >>> runs = RunReader(workspace.mlflow_url)  # doctest: +SKIP
        >>> export_table(study, runs)[["param.dropout_rate", "metric.val_loss"]]  # doctest: +SKIP
    """
    rows = [_row(trial, runs.final_metrics(trial.user_attrs.get(Attr.MLFLOW_RUN_ID)))
            for trial in study.get_trials(deepcopy=False)]
    params = list(dict.fromkeys(k for row in rows for k in row if k.startswith("param.")))
    metrics = sorted({k for row in rows for k in row if k.startswith("metric.")})
    rungs = [a.value for a in RUNG_KEYS  # pruner 'asha' only
             if any(Attr.RUNG in t.user_attrs for t in study.get_trials(deepcopy=False))]
    columns = [*HEAD_COLUMNS, *params, *metrics, *TAIL_COLUMNS, *rungs]
    table = pd.DataFrame(rows, columns=columns, dtype=object)
    return pd.DataFrame({column: _typed(table[column]) for column in columns})


def default_path(sweep_name: str, fmt: str) -> str:
    """``<sweep name>-trials.<fmt>``, in the current directory."""
    return f"{sweep_name}-trials.{fmt}"


def check_output(path: str | Path, fmt: str, example: str = "trials.parquet") -> None:
    """Refuse an unknown format, and Parquet to stdout (``-``), before any work is done."""
    if fmt not in FORMATS:
        raise ConfigError("--format", f"{fmt!r} is not a format; formats are "
                          + ", ".join(FORMATS))
    if str(path) == "-":
        if fmt == "parquet":
            raise ConfigError("--output", "'-' writes to stdout, which takes csv or json; "
                              f"parquet is binary: give a file, e.g. --output {example}")
        return
    _check_file(Path(path), fmt)


def _check_file(path: Path, fmt: str) -> None:
    """The output file's name agrees with its format, and it can be written where it is."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS and suffix != fmt:
        raise ConfigError("--output", f"{str(path)!r} ends in .{suffix} but --format is {fmt}; "
                          f"give a .{fmt} file or --format {suffix}")
    if path.is_dir():
        raise ConfigError("--output", f"{str(path)!r} is a folder; give a file name in it")
    if not path.parent.is_dir():
        raise ConfigError("--output", f"{str(path)!r}: the folder {str(path.parent)!r} does not "
                          "exist; create it or write elsewhere")


def _records(table: pd.DataFrame) -> list[dict[Hashable, Any]]:
    """Rows as plain Python values; missing values (NaN, NA) as None."""
    records = table.astype(object).to_dict(orient="records")
    return [{k: None if v is None or (not isinstance(v, str) and pd.isna(v)) else v
             for k, v in record.items()} for record in records]


def _for_parquet(table: pd.DataFrame) -> pd.DataFrame:
    """Columns that mix types (e.g. a choice of 64 or "auto") as text; Parquet needs one type."""
    import pyarrow as pa

    table = table.copy()
    for column in table.columns[table.dtypes == np.dtype(object)]:
        try:
            pa.array(table[column], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            table[column] = table[column].map(lambda v: v if pd.isna(v) else str(v))
    return table


def write_table(table: pd.DataFrame, path: str | Path, fmt: str) -> None:
    """Write ``table`` as ``fmt`` (csv, parquet or json) to ``path``; ``-`` is stdout.

    CSV has a header row and no index; JSON is one array with one object per row and null
    for missing values; Parquet keeps the column types.

    Raises:
        ConfigError: an unknown format, or Parquet to stdout.

    Example:
        >>> write_table(export_table(study, runs), "dropout-trials.csv", "csv")  # doctest: +SKIP
    """
    check_output(path, fmt)
    stdout = str(path) == "-"
    if fmt == "csv":
        table.to_csv(sys.stdout if stdout else path, index=False)
    elif fmt == "json":
        lines = ",\n".join(json.dumps(record, allow_nan=False) for record in _records(table))
        text = f"[\n{lines}\n]\n" if lines else "[]\n"
        if stdout:
            sys.stdout.write(text)
        else:
            Path(path).write_text(text, encoding="utf-8")
    else:
        _for_parquet(table).to_parquet(path, index=False)

"""The same search through every engine, side by side: one row per candidate, and for each
engine (or variant) its mean score, standard deviation, number of runs and rank.

Each engine says how it scores (the Optuna engine on a train/validation split, the mean over
its seeds when the sweep repeats trials; the sklearn engine by cross-validation, folds x seeds)
and which ``run`` flags produce its part. The ``as-written`` part is the lesson's own mistake
reproduced: its candidates all report the optimizer that really trained. The engines come from
the registry (:mod:`cifar_search.engines`); this module names none of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cifar_search.errors import ConfigError

if TYPE_CHECKING:
    from cifar_search.config.sweep import Sweep
    from cifar_search.engines.base import Candidates, Say
    from cifar_search.workspace import Workspace

#: Columns of each engine's part of the comparison.
COLUMNS = ["mean_score", "std_score", "runs", "rank"]


def side_by_side(tables: Mapping[str, pd.DataFrame | None]) -> pd.DataFrame:
    """Engines' candidate tables joined on the candidate: columns (engine, measure)."""
    parts = {}
    for engine, table in tables.items():
        if table is None:
            continue
        columns = [c for c in [*COLUMNS, "trained_optimizer"] if c in table.columns]
        parts[engine] = table.set_index("candidate")[columns]
    if not parts:
        return pd.DataFrame()
    joined = pd.concat(parts, axis=1, join="outer", sort=False)
    joined.index.name = "candidate"
    return joined


def save(table: pd.DataFrame, folder: Path, title: str) -> list[Path]:
    """The comparison as CSV and as a PNG of mean score ± std per candidate per engine."""
    from cifar_search.tracking import plots

    csv = folder / "comparison.csv"
    table.to_csv(csv)
    png = plots.engine_comparison(table, folder / "comparison.png", title)
    return [csv, png]


def gather(sweep: Sweep, workspace: Workspace) -> list[Candidates]:
    """Every engine's candidates of the sweep, in registry order (nothing is created)."""
    from cifar_search import engines

    return [part for engine in engines.every() for part in engine.candidates(sweep, workspace)]


def report(sweep: Sweep, parts: Sequence[Candidates], table: pd.DataFrame) -> list[str]:
    """What ``compare`` prints: how each engine scores, the table, and a hint per part not
    run yet."""
    scoring = ", ".join(f"{part.label}: {part.scoring}" for part in parts if part.scoring)
    lines = [f"{sweep.name}: {sweep.objective.metric} per candidate "
             f"({sweep.objective.direction}); {scoring}",
             table.to_string(float_format=lambda v: f"{v:.4f}", na_rep="-")]
    for part in parts:
        if part.table is None:
            refused = refusal(sweep, part.flags)
            flags = f" {part.flags}" if part.flags else ""
            lines.append(f"{part.label}: not run yet (python -m cifar_search run "
                         f"{sweep.source}{flags})" if refused is None else
                         f"{part.label}: not for this sweep ({refused})")
    return lines


def refusal(sweep: Sweep, flags: str) -> str | None:
    """Why ``run`` would refuse the sweep with a part's ``flags`` (``--engine E``,
    ``--as-written``), or None when it would run it."""
    from cifar_search import engines

    words = flags.split()
    engine = words[words.index("--engine") + 1] if "--engine" in words else None
    try:
        engines.override(sweep, engine=engine,
                         as_written=True if "--as-written" in words else None)
    except ConfigError as error:
        key = error.key.split(".")[-1] if error.key else ""
        return f"{key}: {error.message}" if key else error.message
    return None


def _log(sweep: Sweep, workspace: Workspace, parts: Sequence[Candidates],
         table: pd.DataFrame, say: Say) -> None:
    """comparison.csv and comparison.png on the runs the parts name (a study's parent run)."""
    from cifar_search.tracking.packaging import scratch_dir
    from cifar_search.tracking.writer import Tracker

    targets = [(part, part.run_id) for part in parts if part.run_id]
    if not targets:
        return
    tracker = Tracker(workspace, sweep)
    with scratch_dir() as folder:
        files = save(table, Path(folder), f"{sweep.name}: engines compared")
        for part, run_id in targets:
            tracker.log_artifacts(run_id, files)
            say(f"comparison.csv and comparison.png logged on the {part.label.capitalize()} "
                "study's parent run")


def compare(sweep: Sweep, workspace: Workspace, say: Say) -> None:
    """Print every engine's candidates side by side and log the comparison.

    Raises:
        ConfigError: no engine has run the sweep yet.

    Example:
        >>> compare(load_sweep("sweeps/optimizer_grid.py"), Workspace.at(), print)  # doctest: +SKIP
    """
    from cifar_search import engines

    parts = gather(sweep, workspace)
    table = side_by_side({part.label: part.table for part in parts})
    if table.empty:
        others = "|".join(name for name in engines.names()[1:]
                          if refusal(sweep, f"--engine {name}") is None)
        choice = f" [--engine {others}]" if others else ""
        raise ConfigError("", f"nothing to compare in {workspace.root}; run python -m "
                          f"cifar_search run {sweep.source}{choice} first", sweep.source)
    for line in report(sweep, parts, table):
        say(line)
    _log(sweep, workspace, parts, table, say)

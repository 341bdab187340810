"""Command line: ``python -m cifar_search {run,resume,status,best,compare,check,export,ui} …``.

One handler per subcommand, each ``(args) -> int``. A usage error prints one line and the
subcommand's help; errors in files or data print one line naming the file, key and value;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from cifar_search.errors import CifarSearchError

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command-line mistake; carries the parser whose help to print."""

    def __init__(self, message: str, parser: argparse.ArgumentParser) -> None:
        super().__init__(message)
        self.parser = parser


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises :class:`UsageError` instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, self)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed; give a whole number >= 1")
    return value


def _stores(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", metavar="DIR",
                        help="folder of studies, runs, data cache and models (default: mlruns)")
    parser.add_argument("--storage", metavar="URL",
                        help="Optuna storage URL (default: sqlite in the workspace)")
    parser.add_argument("--tracking-uri", metavar="URI",
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite "
                             "in the workspace)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def _workspace(args: argparse.Namespace) -> Any:
    from cifar_search.workspace import Workspace

    return Workspace.at(args.workspace, args.storage, getattr(args, "tracking_uri", None))


# --------------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------------


def _run_sweep(args: argparse.Namespace) -> Any:
    """The sweep file with the command line's overrides."""
    from cifar_search.config.sweep import load_sweep

    return load_sweep(args.sweep).override(
        trials=args.trials, epochs=args.epochs, subset=args.subset, workers=args.workers,
        data=args.data, repeats=args.repeats, same_seed=True if args.same_seed else None,
        engine=args.engine,
        as_written=True if args.as_written else None,
        mixed_precision=True if args.mixed_precision else None, xla=args.xla,
    )


def cmd_run(args: argparse.Namespace) -> int:
    """Create or resume the sweep's study and run it to its number of trials."""
    from cifar_search.progress import Progress
    from cifar_search.engines.optuna.coordinator import Coordinator

    sweep = _run_sweep(args)
    if sweep.engine == "sklearn":
        return _run_sklearn(sweep, args)
    progress = Progress()
    coordinator = Coordinator(sweep, _workspace(args), say=progress.say, progress=progress)
    outcome = coordinator.run()
    if outcome.interrupted:
        print(f"interrupted with {outcome.finished}/{outcome.target} trials finished; run the "
              f"same command again to resume: python -m cifar_search run {args.sweep}")
        return EXIT_INTERRUPTED
    _print_best(outcome.best, sweep.objective.metric)
    print(f"{outcome.finished}/{outcome.target} trials finished; compare them in the MLflow "
          f"UI: python -m cifar_search ui" + (f" --workspace {args.workspace}"
                                               if args.workspace else ""))
    return 0


def _run_sklearn(sweep: Any, args: argparse.Namespace) -> int:
    """Cross-validate every candidate with scikeras in GridSearchCV / RandomizedSearchCV."""
    from cifar_search.engines.sklearn.engine import run_search

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow trains in this process
    workspace = _workspace(args)
    lock = workspace.lock(sweep.name)
    try:
        result = run_search(sweep, workspace)
    finally:
        lock.close()
    print(f"{len(result.table)} candidates cross-validated in {result.seconds:.0f} s; compare "
          f"the engines: python -m cifar_search compare {args.sweep}")
    return 0


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _print_best(best: dict[str, Any] | None, metric: str) -> None:
    if best is None:
        print("no trial has completed yet")
        return
    params = ", ".join(f"{k}={_format_value(v)}" for k, v in best["params"].items())
    print(f"best: trial {best['number']} {metric}={best['value']:.4f} ({params})")


# --------------------------------------------------------------------------------------------
# status / best
# --------------------------------------------------------------------------------------------


def _load_study(args: argparse.Namespace) -> tuple[Any, Any]:
    from cifar_search.errors import ConfigError
    from cifar_search.engines.optuna.coordinator import find_study
    from cifar_search.config.sweep import load_sweep

    sweep = load_sweep(args.sweep)
    workspace = _workspace(args)
    study = find_study(sweep, workspace)
    if study is None:
        raise ConfigError("", f"no study {sweep.name!r} in {workspace.optuna_url}; start it with "
                          f"python -m cifar_search run {args.sweep}", args.sweep)
    return sweep, study


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def cmd_status(args: argparse.Namespace) -> int:
    """Counts per state and the trials table."""
    from cifar_search.tracking import summary

    sweep, study = _load_study(args)
    table = summary.trials_table(study)
    counts = summary.counts(study)
    if args.json:
        trials = [
            {"number": t.number, "state": summary.state_name(t),
             "params": summary.trial_params(t), "value": _clean(t.value),
             "retry_of": t.user_attrs.get("retry_of"),
             "continues": t.user_attrs.get("continues"),
             "duplicate_of": t.user_attrs.get("duplicate_of"),
             "mlflow_run_id": t.user_attrs.get("mlflow_run_id")}
            for t in study.get_trials(deepcopy=False)
        ]
        print(json.dumps({"study": sweep.name, "direction": sweep.objective.direction,
                          "metric": sweep.objective.metric, "counts": counts,
                          "trials": trials}, indent=2))
        return 0
    print(f"study {sweep.name!r} ({sweep.objective.direction} {sweep.objective.metric}): "
          + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())))
    if not table.empty:
        columns = [c for c in table.columns if c != "mlflow_run_id"]
        print(table[columns].to_string(index=False, na_rep=""))
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    """Like run, but refuses when the study does not exist or has nothing left to do."""
    from cifar_search.errors import ConfigError
    from cifar_search.engines.optuna.coordinator import Coordinator, counts_as_finished, find_study

    sweep = _run_sweep(args)
    study = find_study(sweep, _workspace(args))
    if study is None:
        raise ConfigError("", f"no study {sweep.name!r} to resume; start it with "
                          f"python -m cifar_search run {args.sweep}", args.sweep)
    trials = study.get_trials(deepcopy=False)
    finished = sum(counts_as_finished(t) for t in trials)
    pending = [t for t in trials if not t.state.is_finished()]
    target = Coordinator(sweep, _workspace(args)).target
    if finished >= target and not pending:
        raise ConfigError("", f"study {sweep.name!r} is finished ({finished}/{target} trials); "
                          "nothing to resume (raise --trials to run more)", args.sweep)
    return cmd_run(args)


def cmd_compare(args: argparse.Namespace) -> int:
    """Both engines' candidates side by side (and the as-written variant when it was run)."""
    from cifar_search.reports import compare
    from cifar_search.errors import ConfigError
    from cifar_search.engines.optuna.coordinator import find_study
    from cifar_search.engines.sklearn.engine import latest_table
    from cifar_search.tracking.mlflow import Tracker, scratch_dir
    from cifar_search.config.sweep import load_sweep

    sweep = load_sweep(args.sweep)
    workspace = _workspace(args)
    study = find_study(sweep, workspace)
    swept, direction = sweep.space.swept(), sweep.objective.direction
    tables = {
        "optuna": compare.optuna_candidates(study, swept, direction) if study else None,
        "sklearn": compare.sklearn_candidates(latest_table(workspace, sweep.name, "fixed")),
        "as-written": compare.sklearn_candidates(
            latest_table(workspace, sweep.name, "as_written")),
    }
    table = compare.side_by_side(tables)
    if table.empty:
        raise ConfigError("", f"nothing to compare in {workspace.root}; run python -m "
                          f"cifar_search run {args.sweep} [--engine sklearn] first", args.sweep)
    print(f"{sweep.name}: {sweep.objective.metric} per candidate ({direction}); optuna: "
          f"train/validation split, sklearn: {sweep.cv}-fold cross-validation")
    print(table.to_string(float_format=lambda v: f"{v:.4f}", na_rep="-"))
    for engine, part in tables.items():
        if part is None:
            flags = {"optuna": "", "sklearn": " --engine sklearn",
                     "as-written": " --engine sklearn --as-written"}[engine]
            print(f"{engine}: not run yet (python -m cifar_search run {args.sweep}{flags})")
    if study is not None:
        tracker = Tracker(workspace, sweep)
        with scratch_dir() as folder:
            for path in compare.save(table, Path(folder), f"{sweep.name}: engines compared"):
                tracker.client.log_artifact(study.user_attrs["mlflow_parent_run_id"], str(path))
        print("comparison.csv and comparison.png logged on the Optuna study's parent run")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Reconcile Optuna trials with MLflow runs; with --repair, fix what can be fixed."""
    from cifar_search.tracking import integrity
    from cifar_search.errors import ConfigError
    from cifar_search.tracking.mlflow import Tracker

    sweep, study = _load_study(args)
    workspace = _workspace(args)
    try:
        workspace.lock(sweep.name).close()
        live = False
    except ConfigError:
        live = True
    tracker = Tracker(workspace, sweep)
    problems = integrity.reconcile(study, tracker, live)
    if args.repair:
        for line in integrity.repair(tracker, problems):
            print(f"repaired: {line}")
        problems = integrity.reconcile(study, tracker, live)
    for problem in problems:
        print(f"problem: {problem.message}")
    trials = len(study.get_trials(deepcopy=False))
    print(f"check {sweep.name!r}: {trials} trials, {len(problems)} problem(s)")
    return EXIT_ERROR if problems else 0


def cmd_best(args: argparse.Namespace) -> int:
    """The best trial."""
    from cifar_search.tracking import summary

    sweep, study = _load_study(args)
    best = summary.best_trial(study)
    if args.json:
        print(json.dumps({"study": sweep.name, "metric": sweep.objective.metric,
                          "direction": sweep.objective.direction, "best": best}, indent=2))
        return 0 if best else EXIT_ERROR
    _print_best(best, sweep.objective.metric)
    return 0 if best else EXIT_ERROR


def cmd_export(args: argparse.Namespace) -> int:
    """Write the full trials table (parameters, final MLflow metrics, times) to a file."""
    from cifar_search.reports import export
    from cifar_search.tracking.mlflow import MlflowClient  # with our quiet MLflow logging

    sweep, study = _load_study(args)
    path = args.output or export.default_path(sweep.name, args.format)
    export.check_output(path, args.format, export.default_path(sweep.name, "parquet"))
    table = export.export_table(study, MlflowClient(tracking_uri=_workspace(args).mlflow_url))
    export.write_table(table, path, args.format)
    if path == "-":
        print(f"wrote {len(table)} trials to stdout", file=sys.stderr)
    else:
        print(f"wrote {len(table)} trials to {path}")
    return 0


# --------------------------------------------------------------------------------------------
# ui
# --------------------------------------------------------------------------------------------


def cmd_ui(args: argparse.Namespace) -> int:
    """Start the MLflow UI on the workspace's runs (127.0.0.1 only)."""
    workspace = _workspace(args)
    workspace.create()
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri",
               workspace.mlflow_url, "--default-artifact-root", workspace.artifacts.as_uri(),
               "--host", "127.0.0.1", "--port", str(args.port)]
    print(f"MLflow UI on http://127.0.0.1:{args.port} (Ctrl-C to stop)")
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


# --------------------------------------------------------------------------------------------
# parser and entry point
# --------------------------------------------------------------------------------------------


def build_parser() -> Parser:
    """The argument parser with one subparser per command."""
    parser = Parser(prog="python -m cifar_search",
                    description="Hyperparameter sweeps of Keras CNNs on CIFAR-10, tracked in "
                                "Optuna and MLflow.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    for name, handler, text in (
        ("run", cmd_run, "Run a sweep; run it again to resume it."),
        ("resume", cmd_resume, "Resume an interrupted sweep (refuses when nothing is left)."),
    ):
        run = commands.add_parser(name, help=text.split(";")[0].split(" (")[0].lower(),
                                  description=text)
        run.add_argument("sweep", help="a sweep file, e.g. sweeps/dropout.py")
        run.add_argument("--trials", type=_positive, help="finished trials to end with")
        run.add_argument("--epochs", type=_positive, help="epochs per trial")
        run.add_argument("--subset", type=_positive, help="train on this many images only")
        run.add_argument("--workers", type=_positive, help="trials trained at once")
        run.add_argument("--repeats", type=_positive,
                         help="train each candidate with this many seeds; score = their mean")
        run.add_argument("--same-seed", action="store_true",
                         help="train every trial from the sweep's seed (a repeated candidate "
                              "takes its earlier result)")
        run.add_argument("--engine", choices=("optuna", "sklearn"),
                         help="optuna trials (default) or scikeras in scikit-learn's "
                              "GridSearchCV/RandomizedSearchCV")
        run.add_argument("--as-written", action="store_true",
                         help="sklearn engine: compile with Adam inside the build function, as "
                              "the lesson did (reproduces its ignored optimizer grid)")
        run.add_argument("--mixed-precision", action="store_true",
                         help="train with the mixed_float16 policy (GPUs)")
        run.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None,
                         help="compile the train step with XLA (default: Keras decides)")
        run.add_argument("--data", metavar="PATH",
                         help="local CIFAR-10: cifar-10-python.tar.gz, cifar-10-batches-py/, or "
                              "an image folder train/<class>/, test/<class>/ (dir or .tar.gz); "
                              "default $CIFAR_SEARCH_DATA, else download")
        _stores(run)
        run.set_defaults(handler=handler)

    for name, handler, text in (("status", cmd_status, "trials of a sweep's study"),
                                ("best", cmd_best, "the best trial of a sweep's study")):
        sub = commands.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        sub.add_argument("sweep", help="a sweep file, e.g. sweeps/dropout.py")
        sub.add_argument("--json", action="store_true", help="print one JSON object")
        _stores(sub)
        sub.set_defaults(handler=handler)

    compare = commands.add_parser("compare", help="both engines' candidates side by side",
                                  description="Both engines' candidates side by side: mean "
                                              "score, std, runs and rank per engine.")
    compare.add_argument("sweep", help="a sweep file, e.g. sweeps/optimizer_grid.py")
    _stores(compare)
    compare.set_defaults(handler=cmd_compare)

    check = commands.add_parser("check", help="reconcile Optuna trials with MLflow runs",
                                description="Reconcile Optuna trials with MLflow runs; exit 1 "
                                            "when they disagree.")
    check.add_argument("sweep", help="a sweep file, e.g. sweeps/dropout.py")
    check.add_argument("--repair", action="store_true",
                       help="fix what can be fixed (e.g. runs left RUNNING by a crash)")
    _stores(check)
    check.set_defaults(handler=cmd_check)

    export = commands.add_parser("export", help="write every trial to a csv, parquet or json file",
                                 description="Write the full trials table of a sweep's study: "
                                             "parameters, final MLflow metrics, times, run ids.")
    export.add_argument("sweep", help="a sweep file, e.g. sweeps/dropout.py")
    export.add_argument("--format", choices=("csv", "parquet", "json"), default="csv",
                        help="file format (default csv)")
    export.add_argument("--output", metavar="PATH",
                        help="file to write (default <sweep name>-trials.<format>); - for "
                             "stdout (csv and json)")
    _stores(export)
    export.set_defaults(handler=cmd_export)

    ui = commands.add_parser("ui", help="open the MLflow UI on the workspace",
                             description="Start the MLflow UI on 127.0.0.1.")
    ui.add_argument("--port", type=_positive, default=5000, help="port (default 5000)")
    _stores(ui)
    ui.set_defaults(handler=cmd_ui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        error.parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CifarSearchError as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # an unexpected bug: one line, traceback with --debug
        if args.debug or os.environ.get("CIFAR_SEARCH_DEBUG"):
            raise
        print(f"error: {type(error).__name__}: {error} (run with --debug for the traceback)",
              file=sys.stderr)
        return EXIT_ERROR

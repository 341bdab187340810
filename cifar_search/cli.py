"""Command line: ``python -m cifar_search {run,resume,status,best,compare,check,export,ui,
dashboard,cache} …``.

One handler per subcommand, each ``(args) -> int``. A usage error prints one line and the
subcommand's help; errors in files or data print one line naming the file, key and value;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

from cifar_search.errors import DEBUG_ENV, CifarSearchError, debugging
from cifar_search.run_options import DASHBOARD_PORT, port, run_options
from cifar_search.workspace import masked

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

    return Workspace.at(args.workspace, args.storage, getattr(args, "tracking_uri", None),
                        getattr(args, "checkpoints", None))


# --------------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------------


def _sweep(args: argparse.Namespace) -> Any:
    """The sweep file, under ``--study-name`` when given."""
    import dataclasses

    from cifar_search import engines
    from cifar_search.errors import ConfigError

    sweep = engines.load(args.sweep)
    if getattr(args, "engine", None) is not None and args.command not in ("run", "resume"):
        sweep = engines.override(sweep, engine=args.engine)  # run: with its other overrides
    if args.study_name is None:
        return sweep
    try:
        return dataclasses.replace(sweep, name=args.study_name)
    except ConfigError as error:
        raise ConfigError("--study-name", error.message) from None


def _run_sweep(args: argparse.Namespace) -> Any:
    """The sweep file with the command line's overrides."""
    from cifar_search import engines
    from cifar_search.config.constraints import parse_flag

    constraints = dict(parse_flag(text) for text in args.constraint or ())
    check = getattr(args, "check", False)  # one trial of one epoch (and one seed)
    return engines.override(
        _sweep(args), trials=1 if check else args.trials, sampler=args.sampler,
        epochs=args.epochs or (1 if check else None), subset=args.subset,
        workers=args.workers, data=args.data, repeats=1 if check else args.repeats,
        timeout=args.timeout, timeout_stop=True if args.timeout_stop else None,
        same_seed=True if args.same_seed else None,
        engine=args.engine,
        as_written=True if args.as_written else None,
        mixed_precision=True if args.mixed_precision else None, xla=args.xla,
        register=args.register, warm_start=args.from_study,
        warm_start_storage=args.from_storage, constraints=constraints or None,
        gpus=args.gpus, backend=args.backend,
    )


def _check_devices(args: argparse.Namespace, sweep: Any) -> str | None:
    """Refuse GPUs the workers cannot be placed on (a bad ``--gpus``, a ``gpus_per_trial``
    that does not fit); the line that says the installed TensorFlow cannot use this machine's
    GPUs, if it cannot."""
    from cifar_search import engines
    from cifar_search.errors import ConfigError
    from cifar_search.execution import devices, gpu_build

    try:
        devices.placements(sweep.compute, engines.worker_count(sweep))
    except ConfigError as error:
        if error.key == "compute.gpus" and args.gpus is not None:
            raise ConfigError("--gpus", error.message) from None
        raise error.in_file(str(sweep.source)) from None
    gpus = devices.run_gpus(sweep.compute)
    return (gpu_build.unusable_gpu_line(gpus, gpu_build.installed(sweep.compute.backend))
            if gpus else None)


def cmd_run(args: argparse.Namespace) -> int:
    """Create or resume the sweep's study and run it to its number of trials."""
    from cifar_search import engines
    from cifar_search.progress import Progress
    from cifar_search.session.pool import start_fork_server
    from cifar_search.stores import check_stores

    sweep = _run_sweep(args)
    gpu_line = _check_devices(args, sweep)
    if engines.get(sweep.engine).trains_in_workers:
        # TensorFlow is imported in the workers' fork server from now on, while this process
        # imports the engine, Optuna and MLflow and opens the stores and the data
        start_fork_server(sweep)
    if args.check:
        return _run_check(args, sweep)
    check_stores(_workspace(args))  # before anything is created
    if args.join:
        _check_joinable(args, sweep)
    progress = Progress()
    if gpu_line:
        progress.say(gpu_line)
    with _dashboard_beside(args, sweep):
        report = engines.get(sweep.engine).run(sweep, _workspace(args), progress.say, progress)
    for line in report.lines:
        print(line)
    if report.interrupted and args.typed:
        print(f"  {args.typed}")
    return EXIT_INTERRUPTED if report.interrupted else 0


def _run_check(args: argparse.Namespace, sweep: Any) -> int:
    """``run --check``: the sweep's first trial, one epoch on a few images, in a workspace
    of its own removed afterwards (kept, and named, when the trial did not complete)."""
    import shutil
    import tempfile
    import time
    from pathlib import Path

    from cifar_search import engines
    from cifar_search.errors import ConfigError
    from cifar_search.progress import Progress
    from cifar_search.session.data import CHECK_SUBSET
    from cifar_search.tracking.tables import best_trial
    from cifar_search.workspace import Workspace

    if args.join:
        raise ConfigError("--check", "runs in a workspace of its own and joins no study; "
                          "drop --join or --check")
    started = time.monotonic()
    workspace = Workspace(Path(tempfile.mkdtemp(prefix="cifar-search-check-")), scratch=True)
    engine, progress, best = engines.get(sweep.engine), Progress(), None
    try:
        report = engine.run(sweep, workspace, progress.say, progress)
        study = None if report.interrupted else engine.study(sweep, workspace)
        best = best_trial(study) if study is not None else None
    finally:
        if best is not None or not workspace.log_file(sweep.name).is_file():
            shutil.rmtree(workspace.root, ignore_errors=True)
    if report.interrupted:
        return EXIT_INTERRUPTED
    if best is None:
        print(f"check failed: the trial did not complete; its workers' log: "
              f"{workspace.log_file(sweep.name)}")
        return EXIT_ERROR
    images = sweep.data.subset or f"up to {CHECK_SUBSET}"
    print(f"check passed in {time.monotonic() - started:.0f} s: {sweep.source} loads its "
          f"data, builds its model and trains (trial {best['number']}, "
          f"{sweep.budget.epochs} epoch(s), {images} images); nothing was kept: run it "
          "without --check for the sweep")
    return 0


def _check_joinable(args: argparse.Namespace, sweep: Any) -> None:
    """``run --join``: the study exists already (another machine started it)."""
    from cifar_search import engines
    from cifar_search.errors import NoStudyError

    workspace = _workspace(args)
    if engines.get(sweep.engine).study(sweep, workspace) is None:
        raise NoStudyError(f"--join: no study {sweep.name!r} in {workspace.shown_optuna_url} "
                           "to join; start it on one machine first (without --join)")


# --------------------------------------------------------------------------------------------
# status / best
# --------------------------------------------------------------------------------------------


def _load_study(args: argparse.Namespace) -> tuple[Any, Any]:
    """The sweep file and the study its engine recorded (NoStudyError when there is none)."""
    from cifar_search import engines
    from cifar_search.errors import NoStudyError

    sweep = _sweep(args)
    workspace = _workspace(args)
    study = engines.get(sweep.engine).study(sweep, workspace)
    if study is None:
        raise NoStudyError(f"{args.sweep}: no study {sweep.name!r} in "
                           f"{workspace.shown_optuna_url}; start it with python -m cifar_search "
                           f"run {args.sweep}")
    return sweep, study


def cmd_status(args: argparse.Namespace) -> int:
    """Counts per state, the time budget and the trials table (``--failed``: the failed
    trials and why)."""
    from cifar_search.search.states import Attr, StudyAttr, TrialOutcome, outcome_of
    from cifar_search.tracking import tables

    sweep, study = _load_study(args)
    counts = tables.counts(study)
    trials = study.get_trials(deepcopy=False)
    if args.failed:
        trials = [t for t in trials if outcome_of(t) == TrialOutcome.FAILED]
    if args.json:
        link = _run_link(args, sweep.name)
        records = [{**record, "mlflow_run_link": link(record[Attr.MLFLOW_RUN_ID])}
                   for record in map(tables.trial_record, trials)]
        parent = link(study.user_attrs.get(StudyAttr.MLFLOW_PARENT_RUN_ID))
        several: dict[str, Any] = {}
        if sweep.objective.several:
            from cifar_search.tracking.objectives import front_rows

            several = {"objectives": sweep.objective.to_dict(),
                       "front": front_rows(study, sweep.space.swept())}
        print(json.dumps({"study": sweep.name, "direction": sweep.objective.direction,
                          "metric": sweep.objective.metric, "counts": counts,
                          "time": _time_left(study), "mlflow_run_link": parent,
                          "trials": records, **several}, indent=2))
        return 0
    print(f"study {sweep.name!r} ({_objective_text(sweep)}): "
          + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())))
    if sweep.objective.several and not args.failed:
        from cifar_search.tracking.objectives import front_lines

        print("\n".join(front_lines(study, sweep.space.swept(), sweep.objective.pick)))
    budget = _time_left(study)
    if budget is not None:
        print(budget["line"])
    if args.failed:
        for trial in trials:
            print(f"trial {trial.number} {tables.trial_params(trial)}: "
                  f"{trial.user_attrs.get(Attr.FAIL_REASON) or 'no reason recorded'}")
        return 0
    table = tables.trials_table(study)
    if not table.empty:
        # a column with nothing in it (no retries, no failures, one machine) is left out
        columns = [c for c in table.columns if c != Attr.MLFLOW_RUN_ID
                   and (c in ("number", "state", "value") or table[c].notna().any())]
        shown = table[columns].astype(object)
        for column in ("retry_of", "continues", "duplicate_of", "epochs_trained", "rung",
                       "rung_epochs", "promoted_from"):
            if column in shown:  # trial numbers and counts, not 0.0
                shown[column] = table[column].astype("Int64").astype(object)
        print(shown.where(shown.notna(), "").to_string(index=False))
    return 0


def _objective_text(sweep: Any) -> str:
    """``minimize val_loss``; several objectives: ``maximize val_accuracy, minimize params``."""
    objective = sweep.objective
    return ", ".join(f"{d} {m}"
                     for m, d in zip(objective.metrics, objective.directions, strict=True))


def _run_link(args: argparse.Namespace, experiment: str) -> Callable[[str | None], str | None]:
    """A run id's link in the MLflow UI, relative to its address (see
    :mod:`cifar_search.tracking.links`); None for no run, or where the runs cannot be read."""
    from cifar_search.tracking.links import run_link
    from cifar_search.tracking.reader import RunReader

    try:
        experiment_id = RunReader.of(_workspace(args), experiment).experiment_id
    except CifarSearchError:  # the trials are still worth showing without their links
        experiment_id = None
    return lambda run_id: run_link(experiment_id, run_id) if experiment_id and run_id else None


def _time_left(study: Any) -> dict[str, Any] | None:
    """The study's time budget as ``status`` shows it: deadline, seconds used and left, and a
    line; None without one."""
    import time

    from cifar_search.search.states import StudyAttr
    from cifar_search.session.limits import spent, time_line

    deadline = study.user_attrs.get(StudyAttr.DEADLINE)
    budget = study.user_attrs.get(StudyAttr.TIME_BUDGET)
    if deadline is None or budget is None:
        return None
    now = time.time()
    used, left = spent(deadline, budget, now)
    return {"deadline": deadline, "budget_s": budget, "left_s": left, "used_s": used,
            "line": time_line(deadline, budget, now)}


def cmd_resume(args: argparse.Namespace) -> int:
    """Like run, but refuses when the study does not exist or has nothing left to do."""
    from cifar_search import engines

    sweep = _run_sweep(args)
    engines.get(sweep.engine).check_resumable(sweep, _workspace(args))
    return cmd_run(args)


def cmd_compare(args: argparse.Namespace) -> int:
    """Every engine's candidates side by side (see :mod:`cifar_search.reports.compare`)."""
    from cifar_search.reports.compare import compare

    compare(_sweep(args), _workspace(args), print)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Reconcile Optuna trials with MLflow runs; with --repair, fix what can be fixed."""
    from cifar_search import engines
    from cifar_search.tracking import integrity
    from cifar_search.tracking.reader import RunReader
    from cifar_search.tracking.writer import Tracker

    sweep, study = _load_study(args)
    workspace = _workspace(args)
    # on a shared storage other machines may be running it: a RUNNING trial is in flight as
    # long as its machine beats for it; the others are lost (taken over by --repair)
    flight = engines.get(sweep.engine).in_flight(sweep, workspace, args.repair, print)
    lost = flight.lost if flight else {}
    live = workspace.running(sweep.name) or workspace.shared

    def problems_of(reader: RunReader) -> list[integrity.Problem]:
        parent = [] if live else integrity.parent_left_running(study, reader)
        return parent + integrity.reconcile(study, reader, live, lost)

    problems = problems_of(RunReader.of(workspace, sweep.name))
    if args.repair and any(problem.fix for problem in problems):  # writes only to repair
        tracker = Tracker(workspace, sweep)
        for line in integrity.repair(tracker, problems):
            print(f"repaired: {line}")
        problems = problems_of(tracker)
    for number, machine in sorted((flight.alive if flight else {}).items()):
        print(f"trial {number} is running on machine {machine}")
    for problem in problems:
        print(f"problem: {problem.message}")
    trials = len(study.get_trials(deepcopy=False))
    print(f"check {sweep.name!r}: {trials} trials, {len(problems)} problem(s)")
    return EXIT_ERROR if problems else 0


def cmd_best(args: argparse.Namespace) -> int:
    """The best trial and the verdict: is it really better than the others? With several
    objectives the Pareto front, and the member ``--pick`` (else the sweep's rule) chooses."""
    from cifar_search.search.labels import best_line
    from cifar_search.tracking import objectives
    from cifar_search.tracking.tables import best_trial, study_verdict

    from cifar_search.search.states import Attr
    from cifar_search.tracking.links import DEFAULT_PORT, ui_address

    sweep, study = _load_study(args)
    objectives.check_pick(study, args.pick)
    pick = args.pick or sweep.objective.pick
    metric = pick if sweep.objective.several else sweep.objective.metric
    best = best_trial(study, pick if sweep.objective.several else None)
    swept = sweep.space.swept()
    verdict = study_verdict(study, swept, pick)  # several objectives: among the front
    front = objectives.front_rows(study, swept) if sweep.objective.several else None
    link = _run_link(args, sweep.name)(best[Attr.MLFLOW_RUN_ID]) if best else None
    if args.json:
        best = {**best, "mlflow_run_link": link} if best else best
        print(json.dumps({"study": sweep.name, "metric": metric,
                          "direction": sweep.objective.direction_of(metric), "best": best,
                          "verdict": verdict.to_dict(),
                          **({"front": front, "pick": pick} if front is not None else {})},
                         indent=2))
        return 0 if best else EXIT_ERROR
    if front is not None:
        print("\n".join(objectives.front_lines(study, swept, pick)))
    print(best_line(best, metric))
    if link:
        print(f"its MLflow run: {ui_address(DEFAULT_PORT, link)} (with "
              f"python -m cifar_search ui running)")
    if best:
        print("\n".join(verdict.lines(metric)))
    return 0 if best else EXIT_ERROR


def cmd_export(args: argparse.Namespace) -> int:
    """Write the full trials table (parameters, final MLflow metrics, times) to a file."""
    from cifar_search.reports import export
    from cifar_search.tracking.reader import RunReader

    sweep, study = _load_study(args)
    path = args.output or export.default_path(sweep.name, args.format)
    export.check_output(path, args.format, export.default_path(sweep.name, "parquet"))
    table = export.export_table(study, RunReader.of(_workspace(args), sweep.name))
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
    from cifar_search.tracking.ui import serve_ui

    name = _sweep(args).name if args.sweep else None
    workspace = _workspace(args)
    workspace.create()
    print(f"starting the MLflow UI on 127.0.0.1:{args.port} …", flush=True)
    return serve_ui(workspace, args.port, name, lambda line: print(line, flush=True))


# --------------------------------------------------------------------------------------------
# dashboard
# --------------------------------------------------------------------------------------------


def _live_study(args: argparse.Namespace, sweep: Any, create: bool = False) -> Any:
    """Where optuna-dashboard reads the sweep's study (``live_study`` of its engine).

    Raises:
        ConfigError: the engine keeps no Optuna study (naming those that do).
    """
    from cifar_search import engines
    from cifar_search.errors import ConfigError

    engine = engines.get(sweep.engine)
    live = engine.live_study(sweep, _workspace(args), create) if engine.dashboard else None
    if live is None:
        allowed = ", ".join(repr(e.name) for e in engines.every() if e.dashboard)
        message = (f"engine {sweep.engine!r} keeps no Optuna study for optuna-dashboard to "
                   f"show; the dashboard shows the studies of engine {allowed}")
        if args.command in ("run", "resume"):
            raise ConfigError("--dashboard", message)
        raise (ConfigError("--engine", message) if args.engine
               else ConfigError("engine", message, args.sweep))
    return live


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Start optuna-dashboard on the sweep's study (127.0.0.1 only) until Ctrl-C or SIGTERM."""
    from cifar_search.errors import NoStudyError
    from cifar_search.reports.dashboard import serve_dashboard

    sweep = _sweep(args)
    workspace = _workspace(args)
    live = _live_study(args, sweep)
    if live.study_id is None:
        raise NoStudyError(f"{args.sweep}: no study {sweep.name!r} in "
                           f"{workspace.shown_optuna_url} yet; start it with python -m "
                           f"cifar_search run {args.sweep}{workspace.flags} (or run it with "
                           "--dashboard to watch it from its start)")
    print(f"starting optuna-dashboard on 127.0.0.1:{args.port} …", flush=True)
    return serve_dashboard(live, args.port, workspace.root / "logs" / "dashboard.log",
                           lambda line: print(line, flush=True))


def _dashboard_beside(args: argparse.Namespace, sweep: Any) -> Any:
    """``run --dashboard``: optuna-dashboard while the run lasts; else nothing."""
    import contextlib

    from cifar_search.reports.dashboard import beside_run

    if not args.dashboard:
        return contextlib.nullcontext()
    workspace = _workspace(args)
    live = _live_study(args, sweep, create=True)
    return beside_run(live, args.dashboard_port, workspace.root / "logs" / "dashboard.log",
                      sweep.name, lambda line: print(line, flush=True))


# --------------------------------------------------------------------------------------------
# parser and entry point
# --------------------------------------------------------------------------------------------


def _json_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--json", action="store_true", help="print one JSON object")
    _engine_option(sub)


def _best_options(best: argparse.ArgumentParser) -> None:
    _json_option(best)
    best.add_argument("--pick", metavar="MEASURE",
                      help="several objectives: the front member best on MEASURE, one of the "
                           "objectives (default: the sweep's Objective(pick=...), else the "
                           "first objective)")


def _status_options(status: argparse.ArgumentParser) -> None:
    _json_option(status)
    status.add_argument("--failed", action="store_true",
                        help="only the failed trials, each with the reason it failed")


def _engine_option(sub: argparse.ArgumentParser) -> None:
    """``--engine`` on a command that reads a sweep's record: the engine that ran it."""
    from cifar_search import engines

    sub.add_argument("--engine", choices=engines.names(),
                     help="read the record of this engine (default: the sweep file's)")


def _check_options(check: argparse.ArgumentParser) -> None:
    check.add_argument("--repair", action="store_true",
                       help="fix what can be fixed (e.g. runs left RUNNING by a crash; on a "
                            "shared storage, trials of machines that stopped beating are "
                            "taken over)")
    _engine_option(check)


def _export_options(export: argparse.ArgumentParser) -> None:
    export.add_argument("--format", choices=("csv", "parquet", "json"), default="csv",
                        help="file format (default csv)")
    export.add_argument("--output", metavar="PATH",
                        help="file to write (default <sweep name>-trials.<format>); - for "
                             "stdout (csv and json)")
    _engine_option(export)


def _ui_options(ui: argparse.ArgumentParser) -> None:
    ui.add_argument("sweep", nargs="?", help="open this sweep's runs, e.g. sweeps/dropout.py")
    ui.add_argument("--study-name", metavar="NAME", help="the study's name, if not the sweep's")
    ui.add_argument("--port", type=port, default=5000, help="port (default 5000)")


def _dashboard_options(dashboard: argparse.ArgumentParser) -> None:
    dashboard.add_argument("--port", type=port, default=DASHBOARD_PORT,
                           help=f"port (default {DASHBOARD_PORT})")
    _engine_option(dashboard)


def _command(commands: Any, name: str, handler: Callable[[argparse.Namespace], int],
             summary: str, description: str, options: Callable[[Any], None] | None = None,
             example: str | None = "sweeps/dropout.py") -> None:
    """One subcommand: its sweep file (none when ``example`` is None), its own ``options``,
    then the store flags every command shares."""
    sub = commands.add_parser(name, help=summary, description=description)
    if example is not None:
        sub.add_argument("sweep", help=f"a sweep file, e.g. {example}")
        sub.add_argument("--study-name", metavar="NAME",
                         help="the study (and MLflow experiment) to use instead of the sweep's "
                              "name, e.g. to start afresh beside an existing study")
    if options is not None:
        options(sub)
    _stores(sub)
    sub.set_defaults(handler=handler)


# --------------------------------------------------------------------------------------------
# cache
# --------------------------------------------------------------------------------------------


def cmd_cache(args: argparse.Namespace) -> int:
    """``cache list``: the decoded data kept in the user cache; ``cache clear``: remove it
    (but what a running process uses)."""
    from cifar_search.model import data_cache

    root = data_cache.shared_root()
    if args.action == "clear":
        lines = data_cache.cleared(root, *data_cache.clear(root))
    else:
        lines = data_cache.listing(root, data_cache.entries(root), data_cache.cap_bytes())
    print("\n".join(lines))
    return 0


def _cache_command(commands: Any) -> None:
    """``cache {list,clear}``: the decoded data shared by every workspace."""
    text = ("the decoded data shared by every workspace (in the user cache, at most "
            "$CIFAR_SEARCH_DATA_CACHE_MAX bytes, default 20 GB)")
    cache = commands.add_parser("cache", help=text.split(" (")[0],
                                description=text[0].upper() + text[1:] + ".")
    actions = cache.add_subparsers(dest="action", metavar="ACTION", required=True,
                                   parser_class=Parser)
    for name, summary in (("list", "each folder's name, size, last use and source"),
                          ("clear", "remove every folder that no running process uses")):
        action = actions.add_parser(name, help=summary, description=summary[0].upper()
                                    + summary[1:] + ".")
        action.add_argument("--debug", action="store_true", help="show tracebacks")
    cache.set_defaults(handler=cmd_cache, debug=False)


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
        _command(commands, name, handler, text.split(";")[0].split(" (")[0].lower(), text,
                 run_options)
    for name, handler, text, options in (
            ("status", cmd_status, "trials of a sweep's study", _status_options),
            ("best", cmd_best, "the best trial of a sweep's study and whether it is really "
             "better (the verdict)", _best_options)):
        _command(commands, name, handler, text, text[0].upper() + text[1:] + ".", options)
    _command(commands, "compare", cmd_compare, "every engine's candidates side by side",
             "Every engine's candidates side by side: mean score, std, runs and rank per engine.",
             example="sweeps/optimizer_grid.py")
    _command(commands, "check", cmd_check, "reconcile Optuna trials with MLflow runs",
             "Reconcile Optuna trials with MLflow runs; exit 1 when they disagree.",
             _check_options)
    _command(commands, "export", cmd_export, "write every trial to a csv, parquet or json file",
             "Write the full trials table of a sweep's study: parameters, final MLflow metrics, "
             "times, run ids.", _export_options)
    _command(commands, "ui", cmd_ui, "open the MLflow UI on the workspace",
             "Start the MLflow UI on 127.0.0.1.", _ui_options, example=None)
    _command(commands, "dashboard", cmd_dashboard,
             "open optuna-dashboard on a sweep's study, live",
             "Start optuna-dashboard on 127.0.0.1 on a sweep's Optuna study: history, "
             "intermediate values (pruned trials where they stopped), slice, parallel "
             "coordinates, importances, each trial's MLflow run; it updates while the sweep "
             "runs.", _dashboard_options)
    _cache_command(commands)
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
    # the command as typed (passwords masked): an interrupted run's resume hint repeats it
    args.typed = masked("python -m cifar_search " + shlex.join(
        sys.argv[1:] if argv is None else [str(a) for a in argv]))
    if args.debug:
        os.environ[DEBUG_ENV] = "1"  # read by the workers too
    try:
        return handler(args)
    except CifarSearchError as error:
        if args.debug:
            raise
        print(f"error: {masked(str(error))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # a store or the machine failed, else a bug: one line
        if debugging():
            raise
        print(f"error: {_failure_line(error)} (run with --debug for the traceback)",
              file=sys.stderr)
        return EXIT_ERROR


def _failure_line(error: Exception) -> str:
    """What an unexpected error was: a store's or the machine's fault, said so, with what to
    do; else its type and message."""
    from cifar_search.execution.faults import machine_fault, store_fault

    fault = store_fault(error) or machine_fault(error)
    if fault is not None:
        return (f"{masked(fault)}; nothing finished is lost: fix that and run the same command "
                "again to go on")
    return f"{type(error).__name__}: {masked(str(error))}"

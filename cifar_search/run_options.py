"""The command line's argument types and the options of ``run`` and ``resume``: the
overrides of a sweep file's settings (kept apart from the commands that use them).

Example:
    >>> workers("auto"), workers("3"), gpu_list("0,2")
    ('auto', 3, (0, 2))
"""

from __future__ import annotations

import argparse

#: optuna-dashboard's port unless told (its own default; the MLflow UI's is 5000).
DASHBOARD_PORT = 8080

#: TCP ports a server may listen on.
PORTS = range(1, 65536)


def port(text: str) -> int:
    """A TCP port a server may listen on."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value not in PORTS:
        raise argparse.ArgumentTypeError(f"{value} is not a port; give a whole number from "
                                         f"{PORTS.start} to {PORTS.stop - 1}")
    return value


def workers(text: str) -> int | str:
    """``--workers``: a whole number >= 1, or ``auto``."""
    if text == "auto":
        return text
    if not text.lstrip("-").isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; give a whole number >= 1, "
                                         "or 'auto' (one worker per core)")
    return int(text)


def gpu_list(text: str) -> tuple[int, ...]:
    """``--gpus``: GPU indices as nvidia-smi numbers them, e.g. ``0,2``."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; give GPU indices as "
                                         "nvidia-smi numbers them, e.g. 0,2")
    return tuple(int(part) for part in parts)


def positive(text: str) -> int:
    """A whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed; give a whole number >= 1")
    return value


def run_options(run: argparse.ArgumentParser) -> None:
    """The options of ``run`` and ``resume``: overrides of the sweep file's settings."""
    _search_options(run)
    _where_options(run)


def _search_options(run: argparse.ArgumentParser) -> None:
    """What the search does: trials, sampler, budget, workers, devices, seeds, limits."""
    from cifar_search.config.parts import SAMPLERS

    run.add_argument("--trials", type=positive, help="finished trials to end with")
    run.add_argument("--sampler", choices=SAMPLERS,
                     help="Optuna sampler instead of the sweep file's (its options are kept "
                          "only for the same kind); 'auto' picks one from the space and "
                          "trials; 'gp' needs the gp extra (PyTorch)")
    run.add_argument("--epochs", type=positive, help="epochs per trial")
    run.add_argument("--timeout", metavar="DURATION",
                     help="no trial starts after this long, e.g. 2h, 90m, 1h30m (the study's "
                          "deadline, shared by its machines; a later run opens a new window)")
    run.add_argument("--timeout-stop", action="store_true",
                     help="at the deadline, trials in flight stop at their epoch's end "
                          "(resumable) instead of finishing")
    run.add_argument("--subset", type=positive, help="train on this many images only")
    run.add_argument("--workers", type=workers,
                     help="trials trained at once, or 'auto' (one per core; on a GPU "
                          "machine one per GPU share)")
    run.add_argument("--gpus", type=gpu_list, metavar="LIST",
                     help="train on these GPUs only, by nvidia-smi's index, e.g. 0,2")
    run.add_argument("--backend", choices=("tensorflow", "jax"),
                     help="Keras backend the trials train on (default tensorflow)")
    run.add_argument("--repeats", type=positive,
                     help="train each candidate with this many seeds; score = their mean")
    run.add_argument("--same-seed", action="store_true",
                     help="train every trial from the sweep's seed (a repeated candidate "
                          "takes its earlier result)")
    run.add_argument("--constraint", action="append", metavar="NAME<=VALUE",
                     help="a limit on a measure, added to the sweep file's constraints (again "
                          "for several), e.g. params<=1M or latency_ms<2; a trial that breaks "
                          "one is infeasible and never the best")


def _where_options(run: argparse.ArgumentParser) -> None:
    """How and where it runs: engine, compute, registry, stores, warm start, dashboard, data."""
    from cifar_search import engines

    run.add_argument("--engine", choices=engines.names(),
                     help="optuna trials (default), scikeras in scikit-learn's "
                          "GridSearchCV/RandomizedSearchCV, or a KerasTuner oracle")
    run.add_argument("--as-written", action="store_true",
                     help="sklearn engine: compile with Adam inside the build function, as "
                          "the lesson did (reproduces its ignored optimizer grid)")
    run.add_argument("--mixed-precision", action="store_true",
                     help="train with the mixed_float16 policy (GPUs)")
    run.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None,
                     help="compile the train step with XLA (default: Keras decides)")
    run.add_argument("--register", action=argparse.BooleanOptionalAction, default=None,
                     help="register the best model in MLflow's Model Registry under the "
                          "sweep's name (default: on for the workspace's own store)")
    run.add_argument("--checkpoints", metavar="URI",
                     help="folder (path or file:// URI) for the trials' checkpoints and models, "
                          "shared by every machine of a study (default: the workspace's trials/)")
    run.add_argument("--from-study", metavar="NAME",
                     help="warm start: a new study first takes the complete trials of study "
                          "NAME that fit its space (untrained, not counted in --trials)")
    run.add_argument("--from-storage", metavar="URL",
                     help="the Optuna storage of --from-study's study (default: this one's)")
    run.add_argument("--check", action="store_true",
                     help="check the sweep file: train its first trial for one epoch on 300 "
                          "images (--epochs, --subset to change) in a temporary workspace, "
                          "without the test evaluation, plots or registry; nothing is kept")
    run.add_argument("--join", action="store_true",
                     help="join a study another machine started (refuses when there is none)")
    run.add_argument("--dashboard", action="store_true",
                     help="start optuna-dashboard on the study beside the run (its URL is "
                          "printed first; it stops when the run ends)")
    run.add_argument("--dashboard-port", type=port, default=DASHBOARD_PORT, metavar="PORT",
                     help=f"the dashboard's port (default {DASHBOARD_PORT})")
    run.add_argument("--data", metavar="PATH",
                     help="local CIFAR-10: cifar-10-python.tar.gz, cifar-10-batches-py/, or "
                          "an image folder train/<class>/, test/<class>/ (dir or .tar.gz); "
                          "default $CIFAR_SEARCH_DATA, else download")

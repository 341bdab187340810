"""Several machines: 2 machines x 1 worker on PostgreSQL + an MLflow server vs 1 machine x 2
workers on the embedded stores, the lesson's dropout sweep.

Starts a PostgreSQL server and ``mlflow server --workers 1`` on 127.0.0.1 (Debian's PostgreSQL
binaries, as the tests do), then runs the same grid sweep twice: once as one coordinator with 2
workers on the workspace's SQLite stores, once as two coordinators (separate processes and
workspaces, 1 worker each, a shared ``--checkpoints`` folder) on the servers. Prints the trials
per hour of each (wall time of the whole run, start-up included) and their ratio (target
>= 0.95), then the bookkeeping of one epoch (an MLflow epoch log and an Optuna report with the
pruner's verdict) through the servers vs on the embedded stores. "Machines" here share one
host: each is pinned to a core of its own (``--pin``, the default on 2 cores or more), as two
one-core machines would be, so that the comparison is of the coordination, not of two
processes' threads competing for the same cores; the embedded run has both cores.

Each run's wall time is split in three phases, read from the study's trials: start-up (launch
to the first trial's start: imports, data, stores, worker start), training (first start to last
end) and end (last end to exit: the finalisation, summary, plots, test evaluation). The
machines' output is kept with the second each line appeared (``machine-A.log``, in the
printed folder), and each machine's own milestones are printed.

    python benchmarks/bench_machines.py [--subset 5000] [--epochs 3] [--trials 6]
        [--epochs-timed 50]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import IO

from common import ROOT, parser, run, sweep, workspace

SWEEP_FILE = """
from cifar_search import Budget, Data, Objective, Sweep

sweep = Sweep(
    name=NAME,
    space={"parameters": {"dropout_rate": {"grid": RATES}}},
    model="dropout",
    data=Data(source=SOURCE, subset=SUBSET),
    budget=Budget(EPOCHS, 32),
    objective=Objective("val_loss"),
    sampler="grid",
    workers=1,
)
"""


def phases(storage: str, study: str, launched: datetime, ended: datetime) -> str:
    """``start-up 9.1 s, training 20.3 s, end 4.2 s`` of a run, from its trials' start and end
    times (trials released untrained left out)."""
    import optuna

    trials = [t for t in optuna.load_study(study_name=study, storage=storage).get_trials()
              if t.datetime_start and t.datetime_complete and not t.user_attrs.get("released")]
    first = min(t.datetime_start for t in trials)
    last = max(t.datetime_complete for t in trials)
    return (f"start-up {(first - launched).total_seconds():.1f} s, training "
            f"{(last - first).total_seconds():.1f} s, end {(ended - last).total_seconds():.1f} s")


def embedded(opts, rates: list[float]) -> float:
    """Trials per hour of one coordinator with 2 workers on the embedded stores."""
    ws = workspace(None)
    bench = sweep("machines-embedded", {"dropout_rate": {"grid": rates}}, epochs=opts.epochs,
                  subset=opts.subset, data=opts.data, workers=2)
    launched = datetime.now()
    wall = run(bench, ws)
    print(f"1 machine x 2 workers, embedded: {len(rates)} trials in {wall:.1f} s = "
          f"{len(rates) / wall * 3600:.0f} trials/h")
    print(f"  {phases(ws.optuna_url, bench.name, launched, datetime.now())}")
    return len(rates) / wall * 3600


class Machine:
    """One coordinator process, its output kept with the second each line appeared."""

    def __init__(self, name: str, argv: list[str], folder: Path, env: dict[str, str],
                 started: float, core: int | None = None) -> None:
        self.name, self.started, self.lines = name, started, []
        pin = None if core is None else (lambda: os.sched_setaffinity(0, {core}))
        self.process = subprocess.Popen(argv, cwd=folder, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, preexec_fn=pin)
        self.reader = threading.Thread(target=self._read, args=(folder / f"machine-{name}.log",
                                                                self.process.stdout))
        self.reader.start()

    def _read(self, log: Path, stream: IO[str]) -> None:
        with open(log, "w") as out:
            for line in stream:
                at = time.perf_counter() - self.started
                self.lines.append((at, line.rstrip()))
                out.write(f"{at:7.2f} {line}")

    def wait(self) -> int:
        """The exit code, once the process ended (and the time it ended at)."""
        code = self.process.wait()
        self.exited = time.perf_counter() - self.started
        self.reader.join()
        return code

    def milestones(self) -> str:
        """When it announced the study, reported its first and last trial, and exited."""
        trials = [at for at, line in self.lines if line.startswith("trial ")]
        said = self.lines[0][0] if self.lines else float("nan")
        first, last = (trials[0], trials[-1]) if trials else (float("nan"),) * 2
        return (f"machine {self.name}: first line {said:.1f} s, first trial line {first:.1f} s, "
                f"last {last:.1f} s, exit {self.exited:.1f} s "
                f"({len(trials)} trial lines)")


def two_machines(opts, rates: list[float], storage: str, tracking: str) -> float:
    """Trials per hour of two coordinators, 1 worker each, on the servers."""
    folder = Path(tempfile.mkdtemp(prefix="cifar-bench-machines-"))
    text = (SWEEP_FILE.replace("NAME", repr("machines-shared")).replace("RATES", repr(rates))
            .replace("SOURCE", repr(opts.data)).replace("SUBSET", repr(opts.subset))
            .replace("EPOCHS", str(opts.epochs)))
    (folder / "sweep.py").write_text(text)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}  # lines timed as said
    env.pop("MLFLOW_TRACKING_URI", None)
    cores = sorted(os.sched_getaffinity(0))
    launched, started = datetime.now(), time.perf_counter()
    machines = [Machine(name, [sys.executable, "-m", "cifar_search", "run", "sweep.py",
                               "--workspace", f"ws-{name}", "--storage", storage,
                               "--tracking-uri", tracking, "--checkpoints",
                               str(folder / "shared")], folder, env, started,
                        cores[index] if opts.pin else None)
                for index, name in enumerate("AB")]
    if any([machine.wait() for machine in machines]):
        raise SystemExit(f"a machine failed; see the logs in {folder}")
    wall = time.perf_counter() - started
    print(f"2 machines x 1 worker{' (one core each)' if opts.pin else ''}, PostgreSQL + mlflow "
          f"server: {len(rates)} trials in "
          f"{wall:.1f} s = {len(rates) / wall * 3600:.0f} trials/h")
    print(f"  {phases(storage, 'machines-shared', launched, datetime.now())}")
    for machine in machines:
        print(f"  {machine.milestones()}")
    print(f"  (the machines' output, timed: {folder}/machine-*.log)")
    return len(rates) / wall * 3600


def bookkeeping(storage: str | None, tracking: str | None, epochs: int) -> float:
    """Milliseconds of one epoch's bookkeeping: the MLflow epoch log of a trial's run and the
    Optuna report with the pruner's verdict, on the given stores (None: embedded)."""
    from cifar_search.engines.optuna.study import StudyStore, create_optuna_store
    from cifar_search.tracking.store import create_mlflow_store
    from cifar_search.tracking.writer import Tracker

    ws = workspace(None)
    if storage:
        ws = type(ws).at(ws.root, storage, tracking)
    create_optuna_store(ws)
    create_mlflow_store(ws)
    bench = sweep(f"bookkeeping-{int(time.time() * 1000)}", {"dropout_rate": {"grid": [0.1]}},
                  epochs=epochs)
    store = StudyStore(bench, ws)
    tracker = Tracker(ws, bench)
    tracker.open_parent(None, "bench")
    trial = store.ask()
    run_id = tracker.start_trial(trial.number, {"dropout_rate": 0.1}, 0)
    logs = {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.1, "val_accuracy": 0.4,
            "epoch_seconds": 3.0}
    started = time.perf_counter()
    for step in range(1, epochs + 1):
        tracker.log_epoch(run_id, step, logs)
        store.report(trial, 1.0 / step, step)
    return (time.perf_counter() - started) / epochs * 1000


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--subset", type=int, default=5_000)
    args.add_argument("--epochs", type=int, default=3)
    args.add_argument("--trials", type=int, default=6)
    args.add_argument("--epochs-timed", type=int, default=50,
                      help="epochs of bookkeeping timed on each kind of store")
    args.add_argument("--pin", action=argparse.BooleanOptionalAction,
                      default=len(os.sched_getaffinity(0)) >= 2,
                      help="pin each machine to a core of its own (default on 2 cores or more)")
    opts = args.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.servers import mlflow_server, postgres

    rates = [round(0.1 * (i + 1), 2) for i in range(opts.trials)]
    with postgres() as server:
        storage = server.create("optuna")
        artifacts = Path(tempfile.mkdtemp(prefix="cifar-bench-artifacts-"))
        with mlflow_server(server.create("mlflow"), artifacts) as tracking:
            shared = two_machines(opts, rates, storage, tracking)
            local = embedded(opts, rates)
            print(f"ratio 2 machines / 1 machine x 2 workers = {shared / local:.2f} "
                  "(target >= 0.95)")
            remote = bookkeeping(storage, tracking, opts.epochs_timed)
    here = bookkeeping(None, None, opts.epochs_timed)
    print(f"bookkeeping per epoch (MLflow epoch log + Optuna report and pruner): "
          f"{remote:.0f} ms through PostgreSQL + mlflow server, {here:.0f} ms embedded "
          f"(mean over {opts.epochs_timed} epochs)")


if __name__ == "__main__":
    main()

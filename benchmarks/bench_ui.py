"""The MLflow UI server ``ui`` starts: seconds until it answers and processes it starts, for
MLflow's default (``mlflow ui``: several web workers and a job runner) and ours (one web
worker, no job execution), alternated over rounds on the same workspace.

    python benchmarks/bench_ui.py [--rounds 3] [--workspace DIR]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from common import parser, workspace

from cifar_search.tracking.store import create_mlflow_store
from cifar_search.tracking.ui import ui_command, wait_for_ui


def descendants(pid: int) -> int:
    """Processes under ``pid``, counted from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry))
    count, todo = 0, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            count += 1
            todo.append(child)
    return count


def measure(command: list[str], env: dict[str, str], port: int) -> tuple[float, int]:
    """(seconds to the first answer, processes running then, the server included)."""
    started = time.perf_counter()
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        if not wait_for_ui(server, port):
            raise SystemExit(f"no answer from {' '.join(command)}")
        seconds = time.perf_counter() - started
        time.sleep(2)  # let late processes (job runner, consumers) start
        return seconds, 1 + descendants(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        subprocess.run(["pkill", "-f", "--", f"--port {port}"], check=False)


def main() -> None:
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--rounds", type=int, default=3)
    args.add_argument("--port", type=int, default=5151)
    opts = args.parse_args()
    ws = workspace(opts.workspace)
    create_mlflow_store(ws)
    ours, env = ui_command(ws, opts.port)
    default = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", ws.mlflow_url,
               "--default-artifact-root", ws.artifacts.as_uri(), "--host", "127.0.0.1",
               "--port", str(opts.port)]
    results: dict[str, list[tuple[float, int]]] = {"mlflow ui": [], "ours": []}
    for _ in range(opts.rounds):
        results["mlflow ui"].append(measure(default, dict(os.environ), opts.port))
        results["ours"].append(measure(ours, env, opts.port))
    for name, runs in results.items():
        seconds = statistics.median(s for s, _ in runs)
        print(f"{name:>10}: first answer after {seconds:.1f} s (median of {len(runs)}), "
              f"{max(p for _, p in runs)} processes")
    ratio = (statistics.median(s for s, _ in results["mlflow ui"])
             / statistics.median(s for s, _ in results["ours"]))
    print(f"ours answers {ratio:.2f}x sooner")


if __name__ == "__main__":
    main()

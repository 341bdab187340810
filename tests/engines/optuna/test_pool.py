"""How many workers the Optuna engine picks for ``workers="auto"``."""

from cifar_search import load_sweep
from cifar_search.engines import worker_count
from tests.helpers import ROOT


def test_auto_workers_pack_a_grid_and_are_one_per_core_otherwise(monkeypatch):
    from cifar_search.execution import sizing as module

    monkeypatch.setattr(module, "available_cores", lambda: 2)
    sweep = load_sweep(ROOT / "sweeps" / "dropout.py")  # workers="auto", a 5-point grid
    assert (sweep.workers, worker_count(sweep)) == ("auto", 5)  # 2.5 trial-times, not 3
    assert worker_count(sweep.override(trials=4)) == 2  # two rounds of two
    assert worker_count(sweep.override(workers=3)) == 3
    tpe = sweep.override(workers="auto").__class__(
        name="t", space=sweep.space, model="dropout", sampler="tpe", trials=20, workers="auto")
    assert worker_count(tpe) == 2  # an adaptive sampler: one per core
    monkeypatch.setattr(module, "available_cores", lambda: 16)
    assert worker_count(sweep) == 5 and worker_count(tpe) == 16
    monkeypatch.setattr(module, "available_cores", lambda: 500)
    assert worker_count(tpe) == module.MAX_WORKERS

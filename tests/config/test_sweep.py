"""Loading sweeps: the shipped files, overrides, fingerprints."""

import pytest

from cifar_search.errors import ConfigError
from cifar_search.config.space import Space
from cifar_search.config.sweep import Pruner, Sampler, load_sweep
from tests.helpers import ROOT

SHIPPED = sorted((ROOT / "sweeps").glob("*.py"))


def test_every_required_sweep_is_shipped():
    names = {p.stem for p in SHIPPED}
    assert {"dropout", "activation", "optimizer", "learning_rate", "depth", "cifar"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_sweeps_load(path):
    sweep = load_sweep(path)
    assert isinstance(sweep.space, Space)
    assert sweep.name == path.stem
    assert sweep.source == str(path)


def test_dropout_sweep_is_the_lessons_loop():
    sweep = load_sweep(ROOT / "sweeps" / "dropout.py")
    assert sweep.model == "dropout"
    assert [p["dropout_rate"] for p in sweep.space.grid()] == [0.15, 0.30, 0.45, 0.60, 0.75]
    assert (sweep.budget.epochs, sweep.budget.batch_size) == (10, 32)
    assert (sweep.objective.metric, sweep.objective.direction) == ("val_loss", "minimize")
    assert sweep.sampler.kind == "grid"


def test_auto_workers_pack_a_grid_and_are_one_per_core_otherwise(monkeypatch):
    from cifar_search.config import sweep as module

    monkeypatch.setattr(module, "available_cores", lambda: 2)
    sweep = load_sweep(ROOT / "sweeps" / "dropout.py")  # workers="auto", a 5-point grid
    assert (sweep.workers, sweep.worker_count) == ("auto", 5)  # 2.5 trial-times, not 3
    assert sweep.override(trials=4).worker_count == 2  # two rounds of two
    assert sweep.override(workers=3).worker_count == 3
    tpe = sweep.override(workers="auto").__class__(
        name="t", space=sweep.space, model="dropout", sampler="tpe", trials=20, workers="auto")
    assert tpe.worker_count == 2  # an adaptive sampler: one per core
    monkeypatch.setattr(module, "available_cores", lambda: 16)
    assert sweep.worker_count == 5 and tpe.worker_count == 16
    monkeypatch.setattr(module, "available_cores", lambda: 500)
    assert tpe.worker_count == module.MAX_WORKERS


def test_overrides_replace_and_revalidate():
    sweep = load_sweep(ROOT / "sweeps" / "dropout.py")
    changed = sweep.override(trials=2, epochs=1, subset=40, workers=2, data="/some/where")
    assert (changed.trials, changed.budget.epochs, changed.data.subset, changed.workers) == (
        2, 1, 40, 2)
    assert changed.data.source == "/some/where"
    assert changed.override() == changed
    with pytest.raises(ConfigError, match="--subset: 1 is not allowed"):
        sweep.override(subset=1)


def test_fingerprint_ignores_trials_and_workers():
    sweep = load_sweep(ROOT / "sweeps" / "dropout.py")
    assert sweep.override(trials=3, workers=2).fingerprint() == sweep.fingerprint()
    assert sweep.override(epochs=2).fingerprint() != sweep.fingerprint()


def test_samplers_and_pruners_build():
    import optuna

    assert isinstance(Sampler("tpe", {"n_startup_trials": 3}).build(0), optuna.samplers.TPESampler)
    assert isinstance(Sampler("random").build(0), optuna.samplers.RandomSampler)
    hyperband = Pruner("hyperband").build(epochs=9)
    assert isinstance(hyperband, optuna.pruners.HyperbandPruner)
    assert isinstance(Pruner("median").build(epochs=9), optuna.pruners.MedianPruner)
    assert isinstance(Pruner("none").build(epochs=9), optuna.pruners.NopPruner)


def test_experimental_sampler_options_build_without_optunas_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Sampler("tpe", {"multivariate": True, "group": True}).build(0)


def test_patience_lets_a_curve_dip_and_recover_before_the_pruner_judges_it():
    import optuna

    def curve(pruner, values):
        study = optuna.create_study(direction="maximize", pruner=pruner.build(epochs=8))
        leader = study.ask()
        for step, value in enumerate([0.3, 0.4, 0.5, 0.6, 0.7], start=1):
            leader.report(value, step)
        study.tell(leader, 0.7)
        trial = study.ask()
        for step, value in enumerate(values, start=1):
            trial.report(value, step)
            if trial.should_prune():
                return step
        return None

    median = {"n_startup_trials": 1, "n_warmup_steps": 0}
    dip = [0.35, 0.45, 0.38, 0.55, 0.65]
    assert curve(Pruner("median", median), dip) == 3  # below the leader at its dip
    assert curve(Pruner("median", median, patience=1), dip) is None
    assert curve(Pruner("median", median, patience=1), [0.35, 0.45, 0.38, 0.36]) == 4


def test_importing_the_package_does_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys, cifar_search, cifar_search.cli, cifar_search.engines.optuna.coordinator;"
            "from cifar_search import load_sweep; load_sweep('sweeps/dropout.py');"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "False False", out.stderr


def _readme_block(language, marker):
    text = (ROOT / "README.md").read_text()
    blocks = text.split(f"```{language}\n")[1:]
    return next(b.split("```")[0] for b in blocks if marker in b)


def test_readme_examples_are_valid(tmp_path):
    from cifar_search.config.space import load_space

    (tmp_path / "search_spaces").mkdir()
    (tmp_path / "sweeps").mkdir()
    space = _readme_block("yaml", "parameters:")
    (tmp_path / "search_spaces" / "example.yaml").write_text(space)
    assert len(load_space(tmp_path / "search_spaces" / "example.yaml").params) == 7
    (tmp_path / "search_spaces" / "dropout.yaml").write_text(
        (ROOT / "search_spaces" / "dropout.yaml").read_text())
    (tmp_path / "sweeps" / "dropout.py").write_text(_readme_block("python", "sweep = Sweep("))
    sweep = load_sweep(tmp_path / "sweeps" / "dropout.py")
    assert (sweep.model, sweep.sampler.kind, len(sweep.space.grid())) == ("dropout", "grid", 5)

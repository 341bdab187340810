"""Loading sweep files: the shipped files, the README's example, no TensorFlow."""

import pytest

from cifar_search import load_sweep
from cifar_search.config.space import Space
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

"""What engine 'kerastuner' refuses before any trial, each naming the key (messages pinned),
and that checking a sweep imports neither TensorFlow nor KerasTuner."""

import subprocess
import sys

import pytest

from cifar_search import Budget, Oracle, Pruner, Sampler, Sweep, engines
from cifar_search.config.space import Space
from cifar_search.engines import kerastuner as engine
from cifar_search.engines.kerastuner.options import ORACLE_CLASSES, ORACLE_OPTIONS
from cifar_search.errors import ConfigError
from cifar_search.workspace import Workspace
from tests.helpers import ROOT

GRID = Space.from_dict({"parameters": {"dropout_rate": {"grid": [0.1, 0.2]}}}, source="x.yaml")


def refused(**changes):
    settings = {"name": "s", "space": GRID, "model": "dropout", "engine": "kerastuner",
                "sampler": "grid", **changes}
    with pytest.raises(ConfigError) as caught:
        engines.check(Sweep(**settings))
    return str(caught.value)


def oracle(kind_or_oracle):
    return {"kerastuner": {"oracle": kind_or_oracle}}


@pytest.mark.parametrize("changes, message", [
    ({"pruner": Pruner("median")},
     "pruner: 'median' is not allowed; engine 'kerastuner' takes no Optuna pruner (oracle "
     "'hyperband' stops poor trials early); use engine 'optuna'"),
    ({"repeats": 3},
     "repeats: 3 is not allowed; engine 'kerastuner' trains each trial once; use engine "
     "'optuna'"),
    ({"sampler": "tpe", "trials": 4},
     "sampler: 'tpe' is not allowed; engine 'kerastuner' needs an oracle: "
     "options.kerastuner.oracle='random', 'grid', 'bayesian' or 'hyperband' (or sampler "
     "'grid' or 'random')"),
    ({"sampler": Sampler("tpe", {"n_startup_trials": 1}), "options": oracle("bayesian"),
      "trials": 4},
     "sampler.options: {'n_startup_trials': 1} is not allowed; Optuna sampler options do not "
     "apply to engine 'kerastuner'; give Oracle(kind, options)"),
    ({"options": oracle("bayesian")},
     "trials: None is not allowed; oracle 'bayesian' needs a number of trials"),
    ({"options": oracle(Oracle("hyperband", {"max_epochs": 20})), "budget": Budget(epochs=5)},
     "oracle.options: max_epochs=20 is not allowed; Hyperband trains at most "
     "budget.epochs=5"),
    ({"options": oracle("grid"), "space": Space.from_dict(
        {"parameters": {"dropout_rate": {"type": "float", "low": 0.0, "high": 0.5}}},
        source="x.yaml")},
     "x.yaml: dropout_rate: {'type': 'float', 'low': 0.0, 'high': 0.5} is a continuous "
     "range; a grid search needs finite values: add step, or use grid: [...]"),
    ({"engine": "optuna", "options": oracle("grid")},
     "options.kerastuner.oracle: Oracle(kind='grid', options={}) is not allowed; an oracle is "
     "a KerasTuner setting; it needs engine 'kerastuner'"),
    ({"options": oracle("tpe")},
     "oracle: 'tpe' is not allowed; oracles are random, grid, bayesian, hyperband"),
    ({"options": oracle(Oracle("bayesian", {"num_initial_points": 0})), "trials": 3},
     "oracle.options: num_initial_points=0 is not allowed; BayesianOptimizationOracle's "
     "num_initial_points is a whole number >= 1, at most 1000000"),
    ({"options": oracle(Oracle("hyperband", {"seed": 3}))},
     "oracle.options: 'seed' is not allowed; HyperbandOracle takes factor, "
     "hyperband_iterations, max_epochs here (objective, space, seed and trials come from "
     "the sweep)"),
    ({"options": {"sklearn": {"as_written": True}}},
     "options.sklearn.as_written: True is not allowed; the as-written mode reproduces a scikeras "
     "mistake; it needs engine 'sklearn'"),
])
def test_refused_before_any_trial_naming_the_key(changes, message):
    assert refused(**changes).startswith(message)


def test_shared_storage_is_refused_with_the_optuna_engine_named():
    sweep = Sweep(name="s", space=GRID, model="dropout", engine="kerastuner", sampler="grid")
    workspace = Workspace.at("/nonexistent", storage="postgresql://u:secret@db/optuna")
    with pytest.raises(ConfigError) as caught:
        engine.KerasTunerEngine().run(sweep, workspace, print)
    assert str(caught.value) == (
        "--storage: postgresql://u:***@db/optuna is not allowed; engine 'kerastuner' runs on "
        "one machine (its oracle lives in the workspace folder); for shared storage use "
        "engine 'optuna'")


def test_the_oracle_options_are_kerastuners_own():
    import inspect

    import keras_tuner

    for kind, cls in ORACLE_CLASSES.items():
        taken = inspect.signature(getattr(keras_tuner.oracles, cls)).parameters
        assert set(ORACLE_OPTIONS[kind]) <= set(taken), kind


def test_checking_a_kerastuner_sweep_imports_neither_tensorflow_nor_kerastuner(tmp_path):
    (tmp_path / "s.py").write_text(
        "from cifar_search import Budget, Oracle, Sweep\n"
        "sweep = Sweep(name='s', space={'parameters': {'dropout_rate': {'type': 'float', "
        "'low': 0.0, 'high': 0.5}}}, model='dropout', engine='kerastuner', "
        "options={'kerastuner': {'oracle': Oracle('hyperband', {'factor': 3})}}, "
        "budget=Budget(epochs=9))\n")
    code = ("import sys; from cifar_search import load_sweep; "
            f"load_sweep({str(tmp_path / 's.py')!r}); "
            "print(sorted(m for m in ('tensorflow', 'keras_tuner', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT)}, check=True).stdout
    assert out.strip() == "[]"

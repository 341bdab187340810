"""The backend and an asha search's rungs in a study's fingerprint: absent at their defaults,
kept on resume."""

import json

import pytest

from cifar_search.config.parts import Pruner
from cifar_search.config.specs import Budget, Compute
from cifar_search.config.sweep import Sweep
from cifar_search.errors import ConfigError
from cifar_search.session.fingerprint import check_fingerprint

SPACE = {"parameters": {"dropout_rate": {"grid": [0.1, 0.3]}}}


def sweep(backend=None):
    compute = Compute() if backend is None else Compute(backend=backend)
    return Sweep("s", SPACE, "dropout", sampler="grid", compute=compute)


def test_the_backend_is_in_the_fingerprint_only_when_not_tensorflow():
    assert "backend" not in sweep().fingerprint()
    assert "backend" not in sweep("tensorflow").fingerprint()
    assert sweep("jax").fingerprint()["backend"] == "jax"


def test_a_study_resumes_only_on_its_own_backend():
    jax, tf = sweep("jax"), sweep()
    check_fingerprint(json.dumps(tf.fingerprint()), tf.fingerprint(), tf, "sqlite:///o.db")
    check_fingerprint(json.dumps(jax.fingerprint()), jax.fingerprint(), jax, "sqlite:///o.db")
    with pytest.raises(ConfigError, match=r'^backend: "tensorflow" differs from the study\'s '
                                          r'"jax"; the existing study'):
        check_fingerprint(json.dumps(jax.fingerprint()), tf.fingerprint(), tf, "sqlite:///o.db")
    with pytest.raises(ConfigError, match=r'^backend: "jax" differs from the study\'s '
                                          r'"tensorflow"'):
        check_fingerprint(json.dumps(tf.fingerprint()), jax.fingerprint(), jax, "sqlite:///o.db")


def test_backend_overrides_name_the_flag():
    assert sweep().override(backend="jax").compute.backend == "jax"
    with pytest.raises(ConfigError, match="^--backend: 'torch' is not allowed"):
        sweep().override(backend="torch")


def asha(options=None):
    pruner = "none" if options is None else Pruner("asha", options)
    return Sweep("s", {"parameters": {"dropout_rate": {"type": "float", "low": 0.1,
                                                       "high": 0.5}}}, "dropout",
                 sampler="tpe", trials=9, budget=Budget(epochs=9), pruner=pruner)


def test_an_asha_study_resumes_only_on_its_own_rungs():
    ladder, other, plain = asha({"rungs": [1, 3, 9]}), asha({"rungs": [3, 9]}), asha()
    assert ladder.fingerprint()["ladder"] == {"rungs": [1, 3, 9], "reduction_factor": 3}
    assert "ladder" not in plain.fingerprint()
    assert asha({}).fingerprint()["ladder"] == ladder.fingerprint()["ladder"]  # the default
    check_fingerprint(json.dumps(ladder.fingerprint()), ladder.fingerprint(), ladder, "o.db")
    check_fingerprint(json.dumps(plain.fingerprint()), plain.fingerprint(), plain, "o.db")
    with pytest.raises(ConfigError, match=r'^ladder: \{"reduction_factor": 3, "rungs": '
                                          r'\[3, 9\]\} differs from the study\'s'):
        check_fingerprint(json.dumps(ladder.fingerprint()), other.fingerprint(), other, "o.db")
    with pytest.raises(ConfigError, match=r"^ladder: null differs from the study's"):
        check_fingerprint(json.dumps(ladder.fingerprint()), plain.fingerprint(), plain, "o.db")
    with pytest.raises(ConfigError, match=r'^ladder: \{"reduction_factor": 3, "rungs": '
                                          r'\[1, 3, 9\]\} differs from the study\'s null'):
        check_fingerprint(json.dumps(plain.fingerprint()), ladder.fingerprint(), ladder, "o.db")

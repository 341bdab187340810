"""The sweep's own model as plain data: references, code digests, check points, refusals."""

import json

import pytest

from cifar_search import load_sweep
from cifar_search.config.space import Space
from cifar_search.config.user_model import FunctionRef, Model, check_points
from cifar_search.errors import ConfigError
from cifar_search.session.fingerprint import check_fingerprint, fingerprint_of

SWEEP = '''
from cifar_search import Model, Sweep
WIDTH = 8

def build(params, input_shape, num_classes):
    """Builds it."""
    return WIDTH  # a comment
{extra}
sweep = Sweep(name="mine",
              space={{"parameters": {{"dropout_rate": {{"grid": [0.1, 0.2]}}{space}}}}},
              model={model}, sampler="grid", workers=3)
'''


def write(tmp_path, model="build", extra="", space="", name="sweep.py"):
    path = tmp_path / name
    path.write_text(SWEEP.format(model=model, extra=extra, space=space))
    return path


def message(tmp_path, **changes):
    with pytest.raises(ConfigError) as caught:
        load_sweep(write(tmp_path, **changes))
    return str(caught.value)


@pytest.mark.parametrize("text, ref", [
    ("pkg.models:build", FunctionRef("build", module="pkg.models")),
    ("models:make_cnn", FunctionRef("make_cnn", module="models")),
])
def test_a_module_reference_parses(text, ref):
    assert FunctionRef.parse(text) == ref


@pytest.mark.parametrize("text", ["pkg.models:", ":build", "pkg models:build", "a:b:c"])
def test_a_bad_module_reference_is_refused(text):
    with pytest.raises(ConfigError, match="is not allowed; a model is a family name"):
        FunctionRef.parse(text)


def test_a_function_of_the_sweep_file_becomes_a_reference(tmp_path):
    sweep = load_sweep(write(tmp_path))
    assert sweep.model.build == FunctionRef("build", file=str((tmp_path / "sweep.py").resolve()))
    assert sweep.model.code.startswith("sha256:")
    assert sweep.fingerprint()["model"] == "build"


@pytest.mark.parametrize("model, refused", [
    ("lambda p, s, n: None", "model: a lambda is not allowed; a model is a family name, a "
     "function defined at the top level of the sweep file"),
    ("make()", "model: nested function 'make.<locals>.inner' is not allowed; a model is a "
     "family name"),
    ("Model(build, compile=lambda m, p: None)", "model.compile: a lambda is not allowed"),
])
def test_functions_no_worker_could_import_are_refused_in_one_line(tmp_path, model, refused):
    extra = "def make():\n    def inner(p, s, n):\n        pass\n    return inner\n"
    text = message(tmp_path, model=model, extra=extra)
    assert text.startswith(f"{tmp_path / 'sweep.py'}: {refused}")
    assert "\n" not in text


def test_an_unimportable_module_reference_is_one_line(tmp_path):
    text = message(tmp_path, model="'no_such_module_here:build'")
    assert text.startswith(f"{tmp_path / 'sweep.py'}: model: no_such_module_here:build cannot "
                           "be imported (ModuleNotFoundError: ")


def test_a_module_beside_the_sweep_file_is_importable(tmp_path):
    (tmp_path / "my_models.py").write_text("def build(params, input_shape, num_classes):\n"
                                           "    return None\n")
    sweep = load_sweep(write(tmp_path, model="'my_models:build'"))
    assert sweep.model.build.module == "my_models"
    assert sweep.fingerprint()["model"] == "my_models:build"


def test_with_its_own_compile_the_framework_keys_are_refused(tmp_path):
    extra = "def my_compile(model, params):\n    model.compile('adam', 'mse')\n"
    text = message(tmp_path, model="Model(build, compile=my_compile)", extra=extra,
                   space=', "learning_rate": 0.01')
    assert text == (f"{tmp_path / 'sweep.py'}: space: 'learning_rate' is not allowed; model "
                    "'build' is compiled by its own function my_compile, so the framework would "
                    "not apply learning_rate; give it a name of your own (e.g. "
                    "'my_learning_rate') and read it there")


def test_a_user_model_takes_parameters_no_family_knows(tmp_path):
    sweep = load_sweep(write(tmp_path, space=', "my_width": {"grid": [8, 16]}'))
    assert "my_width" in sweep.space


def test_the_code_digest_ignores_comments_docstrings_and_other_settings(tmp_path):
    first = load_sweep(write(tmp_path)).model.code
    edited = SWEEP.replace('"""Builds it."""', '"""Builds the CNN."""').replace(
        "# a comment", "# another").replace("workers=3", "workers=1")
    (tmp_path / "edited.py").write_text(edited.format(model="build", extra="", space=""))
    assert load_sweep(tmp_path / "edited.py").model.code == first
    changed = SWEEP.replace("return WIDTH", "return WIDTH * 2")
    (tmp_path / "changed.py").write_text(changed.format(model="build", extra="", space=""))
    assert load_sweep(tmp_path / "changed.py").model.code != first


def test_built_in_families_keep_their_fingerprint():
    from cifar_search.config.sweep import Sweep

    sweep = Sweep("s", {"parameters": {"dropout_rate": 0.2}}, "dropout")
    assert list(sweep.fingerprint()) == ["space", "model", "data", "budget", "objective", "seed"]
    assert sweep.fingerprint()["model"] == "dropout"


def test_a_changed_model_refuses_to_resume_naming_what_changed(tmp_path):
    sweep = load_sweep(write(tmp_path))
    stored = fingerprint_of(sweep, None)
    for key, what in (("model_code", "its code"), ("model_architecture", "the model it builds")):
        changed = {**stored, key: "sha256:other"}
        with pytest.raises(ConfigError) as caught:
            check_fingerprint(json.dumps(stored), changed, sweep, "sqlite:///optuna.db")
        assert str(caught.value) == (
            f"{tmp_path / 'sweep.py'}: model: model function build changed since the study "
            f"began ({what} differs); the existing study 'mine' in sqlite:///optuna.db was "
            "run with another model; start afresh with --study-name NEW_NAME or another "
            "--workspace")


def test_check_points_cover_each_branch_of_a_condition():
    space = Space.from_dict({"parameters": {
        "optimizer": {"choices": ["adam", "sgd"]},
        "momentum": {"type": "float", "low": 0.5, "high": 0.9, "when": {"optimizer": "sgd"}},
        "depth": {"type": "int", "low": 1, "high": 3},
        "filters_3": {"choices": [8, 16], "when": {"depth": {"min": 3}}},
        "dropout_rate": 0.2}})
    assert check_points(space) == [
        {"optimizer": "adam", "depth": 1, "dropout_rate": 0.2},
        {"optimizer": "sgd", "momentum": 0.5, "depth": 1, "dropout_rate": 0.2},
        {"optimizer": "adam", "depth": 3, "filters_3": 8, "dropout_rate": 0.2},
    ]


def test_a_model_object_keeps_plain_references():
    model = Model("pkg.models:build", compile="pkg.models:compile_it")
    assert (model.name, str(model.compile)) == ("pkg.models:build", "pkg.models:compile_it")


def test_the_readmes_own_model_example_loads(tmp_path):
    from tests.helpers import ROOT

    text = (ROOT / "README.md").read_text().split("## Your own model")[1]
    block = text.split("```python\n")[1].split("```")[0]
    (tmp_path / "my_model.py").write_text(block)
    sweep = load_sweep(tmp_path / "my_model.py")
    assert (sweep.model.name, len(sweep.space.grid())) == ("build", 2)

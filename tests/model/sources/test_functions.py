"""A function of the sweep file as the data source: recorded by reference when the sweep is
loaded, called in the main process, cached by the digest of what it returns; what goes wrong
in it is one line naming the file and the function."""

from __future__ import annotations

import textwrap

import pytest

from cifar_search.config.load import load_sweep
from cifar_search.errors import ConfigError, DataError
from cifar_search.model import data

SWEEP = """
import numpy as np
from cifar_search import Budget, Data, Sweep

CALLS = []

def load():
    {body}

sweep = Sweep(name="mine", space={{"parameters": {{"dropout_rate": 0.2}}}}, model="dropout",
              data=Data(source=load), budget=Budget(epochs=1))
"""

RETURNS = """rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, 20, 20), dtype=np.uint8)
    y = np.arange(12) % 3
    return (x, y), (x[:6], y[:6])"""


def sweep_file(tmp_path, body=RETURNS, name="sweep.py"):
    path = tmp_path / name
    path.write_text(SWEEP.format(body=textwrap.indent(body, "").strip()))
    return path


def test_the_function_is_recorded_by_reference_and_its_arrays_cached(tmp_path):
    path = sweep_file(tmp_path)
    sweep = load_sweep(path)
    assert sweep.data.source == f"{path.resolve()}:load"
    cache = data.prepared(sweep.data.source, tmp_path / "cache")
    meta = data.read_meta(cache)
    assert meta["classes"] == ["0", "1", "2"] and meta["image_shape"] == [20, 20, 1]
    assert meta["source"] == f"{path.resolve()}:load"
    assert cache.name.startswith("load-")
    # called again on the next run: unchanged arrays map to the same cache folder
    assert data.prepared(sweep.data.source, tmp_path / "cache") == cache


def test_a_mapping_with_class_names_is_accepted_and_other_data_is_another_cache(tmp_path):
    body = """return {"x_train": np.zeros((4, 8, 8, 3), np.float32),
            "y_train": np.array([0, 1, 0, 1]), "x_test": np.ones((2, 8, 8, 3)),
            "y_test": np.array([1, 0]), "class_names": np.array(["no", "yes"])}"""
    first = data.prepared(str(load_sweep(sweep_file(tmp_path, body)).data.source),
                          tmp_path / "cache")
    assert data.read_meta(first)["classes"] == ["no", "yes"]
    second = data.prepared(load_sweep(sweep_file(tmp_path)).data.source, tmp_path / "cache")
    assert second != first and data.identity(second) != data.identity(first)


def test_an_exception_in_the_function_is_one_line_with_the_traceback_chained(tmp_path):
    path = sweep_file(tmp_path, 'raise FileNotFoundError("no such file: mine.npz")')
    sweep = load_sweep(path)
    with pytest.raises(DataError) as caught:
        data.prepared(sweep.data.source, tmp_path / "cache")
    assert str(caught.value) == (f"{path.resolve()}: data.source: load() raised "
                                 "FileNotFoundError: no such file: mine.npz")
    assert isinstance(caught.value.__cause__, FileNotFoundError)  # shown with --debug


def test_what_the_function_returns_is_checked(tmp_path):
    path = sweep_file(tmp_path, "return 42")
    with pytest.raises(DataError, match=r"sweep.py: load\(\): returned 42; return \(x_train, "
                                        r"y_train\), \(x_test, y_test\), or a dict of x_train"):
        data.prepared(load_sweep(path).data.source, tmp_path / "cache")
    path = sweep_file(tmp_path, 'return {"x_train": np.zeros((2, 4, 4))}')
    with pytest.raises(DataError, match=r"sweep.py: load\(\): no 'y_train' array \(it holds "
                                        r"x_train\)"):
        data.prepared(load_sweep(path).data.source, tmp_path / "cache")


def test_a_function_not_defined_in_the_sweep_file_is_refused_when_loading(tmp_path):
    path = tmp_path / "sweep.py"
    path.write_text(SWEEP.format(body="return None").replace("Data(source=load)",
                                                             "Data(source=lambda: None)"))
    with pytest.raises(ConfigError, match=r"sweep.py: data.source: .* is not a function "
                                          r"defined at the top level of the sweep file"):
        load_sweep(path)


def test_a_module_function_by_name(tmp_path, monkeypatch):
    (tmp_path / "mydata.py").write_text(textwrap.dedent("""
        import numpy as np

        def load():
            x = np.zeros((4, 6, 6), np.uint8)
            return (x, np.array([0, 1, 0, 1])), (x, np.array([1, 0, 1, 0]))
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    cache = data.prepared("mydata:load", tmp_path / "cache")
    assert data.read_meta(cache)["train"] == 4
    with pytest.raises(DataError, match=r"^mydata: data.source: no function 'missing' there"):
        data.prepared("mydata:missing", tmp_path / "cache")


def test_a_keras_name_or_module_reference_is_not_made_relative_to_the_sweep(tmp_path):
    path = sweep_file(tmp_path)
    original = path.read_text()
    for given, recorded in (("mnist", "mnist"), ("pkg.data:load", "pkg.data:load"),
                            ("helpers.py:load", f"{tmp_path / 'helpers.py'}:load"),
                            ("data/mine.npz", str(tmp_path / "data/mine.npz"))):
        path.write_text(original.replace("Data(source=load)", f"Data(source={given!r})"))
        assert load_sweep(path).data.source == recorded


def test_a_function_object_of_a_module_is_found_by_name(tmp_path, monkeypatch):
    (tmp_path / "moddata.py").write_text(textwrap.dedent("""
        import numpy as np

        def load():
            x = np.zeros((4, 6, 6), np.uint8)
            return (x, np.array([0, 1, 0, 1])), (x, np.array([1, 0, 1, 0]))
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    import moddata

    assert data.resolve_source(moddata.load) == data.sources.FunctionSource("moddata", "load")
    with pytest.raises(DataError, match=r"^data source: .* cannot be found by name from a "
                                        r"worker process"):
        data.resolve_source(lambda: None)

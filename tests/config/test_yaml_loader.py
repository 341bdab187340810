"""Reading space files: YAML as a space file is written."""

from cifar_search.config.space import FloatRange, load_space


def test_scientific_notation_without_dot_is_a_float(tmp_path):
    path = tmp_path / "lr.yaml"
    path.write_text(
        "parameters:\n  learning_rate: {type: float, low: 1e-4, high: 1e-1, log: true}\n")
    assert load_space(path)["learning_rate"] == FloatRange(
        "learning_rate", low=1e-4, high=1e-1, log=True)

"""A sweep file's own model trained by the KerasTuner and sklearn engines (a file of its own,
so that a second test process runs it beside the Optuna engine's tests)."""

import pytest

from tests.helpers import cli_inline
from tests.own_model import write

pytestmark = pytest.mark.processes


@pytest.mark.parametrize("engine", ["kerastuner", "sklearn"])
def test_other_engines_run_a_user_model(tmp_path, tiny_data, engine):
    write(tmp_path, engine=engine)
    if engine == "sklearn":
        text = (tmp_path / "sweep.py").read_text().replace(
            "engine='sklearn'", "engine='sklearn', options={'sklearn': {'cv': 2}}")
        (tmp_path / "sweep.py").write_text(text)
    result = cli_inline("run", "sweep.py", "--data", tiny_data, "--workspace", tmp_path / "ws",
                        cwd=tmp_path)  # its workers are processes; the main process is this one
    assert "dropout_rate" in result.stdout

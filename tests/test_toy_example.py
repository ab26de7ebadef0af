"""The example script runs (tiny setting), so it cannot rot."""

import runpy
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "toy_superposition.py"


def test_example_runs_quick(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", [str(EXAMPLE), "--quick"])
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "trained 2 models" in out and "T =   100" in out

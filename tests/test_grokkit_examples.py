"""Every example runs, in its tiny setting, from a copy outside the checkout (as from an install),
so none of them rots."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# script → (its short flag, what its output must show)
SHORT = {
    "inspect_run.py": ("--tiny", [r"4 checkpoints, steps 0…30", r"step +30: test acc"]),
    "custom_ablation.py": ("--tiny", [r"excluded loss by hand .* built-in .*: agree"]),
    "toy_superposition.py": ("--quick", [r"trained 2 models", r"T =   100"]),
    "capacity_staircase.py": ("--quick", [r"trained 4 widths in one stack", r"task 1: predicted learned from width 1",
                                          r"figures: phase_beta1.0"]),
}


def test_every_example_has_a_short_setting_here():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(SHORT)


@pytest.mark.parametrize("name", sorted(SHORT))
def test_example_runs_in_its_short_setting_from_anywhere(name, tmp_path):
    flag, expected = SHORT[name]
    script = shutil.copy(EXAMPLES / name, tmp_path / name)  # no repository beside it
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, script, flag], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for pattern in expected:
        assert re.search(pattern, done.stdout), (pattern, done.stdout)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # the short settings leave nothing behind

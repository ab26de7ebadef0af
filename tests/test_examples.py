"""Every example runs, in a tiny setting, so none of them rots."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_inspect_run(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "inspect_run.py"), "--out", str(tmp_path / "run"), "--steps", "30",
         "--set", "task.p=11", "--set", "model.d_model=16", "--set", "model.d_mlp=32", "--set", "model.n_heads=2",
         "--set", "model.d_head=8", "--set", "train.checkpoint_every=10"],
        capture_output=True, text=True, check=True, env={"OMP_NUM_THREADS": "1", "PATH": ""},
    )
    assert "4 checkpoints" in result.stdout and "step     30: test acc" in result.stdout

"""The README's "From Python" section runs as written (its code blocks, in order, in a fresh folder)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def section_code(title: str) -> list[str]:
    """The ```python blocks of the README section headed ``## title`` (up to the next ``## ``)."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end if end != -1 else None], flags=re.S)


def test_every_code_block_of_from_python_runs(tmp_path):
    blocks = section_code("From Python")
    assert len(blocks) == 4
    script = tmp_path / "from_python.py"
    script.write_text("\n".join(blocks))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "[0, 100, 200, 300] torch.Size([3481, 512]) 1.0" in out  # memorised within 300 steps
    for name in ("zero 10 neurons", "mean", "resample", "remove k = 4, 11"):
        assert re.search(rf"^{re.escape(name)}\s+train acc \d+\.\d%$", out, flags=re.M), name
    assert "py_callback step 100: test acc" in out
    assert "Figure ['train', 'test']" in out  # grokkit.plots: the figure calls
    for name in ("excluded_restricted", "gini", "weight_norm", "embedding", "neuron_clusters", "key_components",
                 "logit_map", "attention"):
        assert re.search(rf"^{name} [1-9]\d*$", out, flags=re.M), name  # a figure with traces
    assert "Train and test accuracy" in out and "status   finished: step 300 of 300" in out
    assert "report.html ['measures', 'report', 'total', 'train']" in out
    assert (tmp_path / "runs" / "py_pipeline" / "report.html").is_file()
    assert "Z_59 ['const', 'cos 1', 'sin 1'] ['cyclic', 'finite', 'generic', 'multiplicative', 's5']" in out
    assert (tmp_path / "runs" / "py_quickstart" / "measures.jsonl").is_file()


def test_the_finite_group_section_runs():
    """"Every finite group": its Python block prints A4's computed real irreps, the complex one marked."""
    blocks = section_code("Every finite group")
    assert len(blocks) == 1
    done = subprocess.run([sys.executable, "-c", blocks[0]], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["trivial real 1 (12, 1, 1)", "3a real 3 (12, 3, 3)",
                                        "2a (complex) complex 2 (12, 2, 2)"]

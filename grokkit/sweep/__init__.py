"""Sweeps: ``spec.py`` (grid / list expansion) → ``executor.py`` (stacked batches, local or Ray,
restart skipping finished runs) → ``results.py`` (one row per run) → ``report.py`` (phase diagrams).

``run_sweep(spec, out)`` does all four; ``grokkit sweep SPEC.toml --out DIR`` calls it.
"""

from grokkit.sweep.run import run_sweep
from grokkit.sweep.spec import SweepSpec, expand, load_sweep

__all__ = ["SweepSpec", "expand", "load_sweep", "run_sweep"]

"""Sweeps: ``spec.py`` (grid / list expansion) → ``batches.py`` (stacks of runs) → ``grokkit.executor`` (here or on
Ray; ``ship.py`` carries run folders to Ray workers as bytes) → ``results.py`` (one row per run) →
``report.py`` (phase diagrams).

``run_sweep(spec, out)`` (``driver.py``) does all of it; ``grokkit sweep SPEC.toml --out DIR`` calls it.
"""

"""Memorisation in the toy model of superposition and in the grokking transformer, side by side.

Data flow: ``collect`` (a toy sweep's rows and dimensionalities; a transformer sweep's
runs, their metrics and per-checkpoint excluded accuracy) → ``explain`` (findings
worded from the numbers) → ``page`` (figures, tables, one self-contained HTML file).

>>> from grokkit.compare import write_comparison
>>> write_comparison("runs/toy_cpu", "runs/compare_frac", "runs/compare.html", measure=True)
"""

from __future__ import annotations

from pathlib import Path

from grokkit.compare.collect import OWN_DIRECTION, ToySide, TransformerRun, load_toy, load_transformer


def write_comparison(toy: str | Path, transformer: str | Path, out: str | Path, measure: bool = False,
                     log=print) -> Path:
    """Check both sweeps, measure what ``measure`` allows, then write the page to ``out`` atomically
    (``out`` a folder: ``compare.html`` in it)."""
    from grokkit.compare.page import render_page
    from grokkit.files.page import page_path, write_page

    out = page_path(out, "compare.html")  # `--out .` or `--out pages/`: compare.html in that folder
    toy_side = load_toy(toy)
    runs = load_transformer(transformer, measure=measure, log=log)
    return write_page(out, render_page(toy_side, runs, transformer))


__all__ = ["OWN_DIRECTION", "ToySide", "TransformerRun", "load_toy", "load_transformer", "write_comparison"]

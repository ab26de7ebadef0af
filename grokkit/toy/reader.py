"""Reading a toy sweep folder from outside the sweep: the report, ``grokkit compare``, ``grokkit.plots``, a notebook.

Every read goes through the folder's owner (``grokkit.toy.folder``), so the checks are the same
everywhere: the record's format tag, each chunk's record, and its tensors against their SHA-256.

>>> from grokkit.toy import load_rows, load_tensors
>>> rows = load_rows("runs/toy_cpu")
>>> W = load_tensors("runs/toy_cpu", rows[0])["W"]   # [m, n]
"""

from __future__ import annotations

from pathlib import Path

from grokkit.toy.config import ToySpec
from grokkit.toy.folder import ToySweepFolder


def load_spec_of(out: str | Path) -> ToySpec:
    """The spec a sweep folder was run with (RunError naming the folder when it is not a toy sweep)."""
    return ToySweepFolder(out).spec()


def load_rows(out: str | Path) -> list[dict]:
    """Every finished chunk's rows (one per model and init), in chunk order, each chunk's tensors verified."""
    return ToySweepFolder(out).rows()


def load_tensors(out: str | Path, row: dict) -> dict:
    """The saved tensors of one model (W, b, feature_dims, point_dims, h_norms and, for small m, H), verified."""
    return ToySweepFolder(out).tensors(row)

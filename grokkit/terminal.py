"""Progress bars for long loops (training, measuring), the same in a terminal, a log and a notebook.

``tqdm.auto`` draws a widget in Jupyter when ipywidgets is installed (one output, updated in
place) and text elsewhere. Text is redrawn at most every half second on a terminal, where each
redraw overwrites the last, and every ``QUIET_EVERY`` seconds into anything else (a CI log, a
notebook without ipywidgets), where each redraw is a new line: a long run never floods a cell.
"""

from __future__ import annotations

import sys
from typing import Any

QUIET_EVERY = 10.0  # seconds between redraws where each redraw is kept


def progress_bar(iterable: Any = None, **kwargs: Any) -> Any:
    """``tqdm.auto.tqdm(iterable, **kwargs)`` with a redraw interval that suits where it is drawn."""
    from tqdm.auto import tqdm

    in_place = sys.stderr.isatty() or any(cls.__module__ == "tqdm.notebook" for cls in tqdm.__mro__)
    kwargs.setdefault("mininterval", 0.5 if in_place else QUIET_EVERY)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)

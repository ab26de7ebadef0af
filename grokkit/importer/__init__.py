"""``grokkit import``: turn a checkpoint file from elsewhere into an ordinary run directory.

load (never runs code from the file) → formats (what the file holds, in HookedTransformer
names) → config (the run's RunConfig) → write (checkpoints, metrics, status).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from grokkit.importer.config import import_config
from grokkit.importer.formats import Source, read_source
from grokkit.importer.load import ImportFileError, load_file
from grokkit.importer.write import write_run

__all__ = ["ImportFileError", "Source", "import_file", "load_file", "read_source"]


def import_file(path: str | Path, out: str | Path, overrides: Iterable[str] = (), step: int | None = None):
    """Import ``path`` into a new run at ``out``; returns ``(run, source)``."""
    loaded = load_file(path)
    source = read_source(loaded, step=step)
    config = import_config(source, overrides)
    return write_run(source, config, out, loaded), source

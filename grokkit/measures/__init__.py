"""Progress measures: small named units computed at every checkpoint of a run.

One module per family (``loss``, ``excluded``, ``restricted``, ``sparsity``, …), a
registry (``MEASURES``), the per-checkpoint context they read (``base``), the
last-position activations they share (``activations``), and the two drivers:
``live`` (during training) and ``offline`` (over a finished run's checkpoints).
Names are imported lazily so that ``grokkit.spec`` can import the config cheaply.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MeasuresConfig": "grokkit.measures.config",
    "MEASURES": "grokkit.measures.registry",
    "Measure": "grokkit.measures.base",
    "MeasureError": "grokkit.measures.base",
    "measure_run": "grokkit.measures.offline",
    "read_measures": "grokkit.measures.offline",
    "measure_model": "grokkit.measures.offline",
    "make_live_callback": "grokkit.measures.live",
    "detect_phases": "grokkit.measures.phases",
    "Phases": "grokkit.measures.phases",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'grokkit.measures' has no attribute {name!r}")

"""Progress measures: small named units computed at every checkpoint of a run.

One module per family (``loss``, ``excluded``, ``restricted``, ``sparsity``, …), a
registry (``MEASURES``), the per-checkpoint context they read (``base``), the
last-position activations they share (``activations``), and the two drivers:
``live`` (during training) and ``offline`` (over a finished run's checkpoints).
Names are imported lazily so that ``grokkit.spec`` can import the config cheaply.
"""

from __future__ import annotations

from grokkit import lazy_getattr

_EXPORTS = {
    "MeasuresConfig": "grokkit.measures.config",
    "MEASURES": "grokkit.measures.registry",
    "Measure": "grokkit.measures.base",
    "MeasureError": "grokkit.measures.base",
    "measure_run": "grokkit.measures.offline",
    "read_measures": "grokkit.measures.offline",
    "measure_model": "grokkit.measures.offline",
    "LiveMeasures": "grokkit.measures.live",
    "detect_phases": "grokkit.measures.phases",
    "Phases": "grokkit.measures.phases",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())

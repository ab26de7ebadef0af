"""grokkit: train grokking runs, measure their progress, dissect them with TransformerLens.

The public API is listed in ``__all__``; names are imported lazily so that
``grokkit --help`` does not pay for torch and TransformerLens.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "TaskConfig": "grokkit.data.dataset",
    "AlgorithmicDataset": "grokkit.data.dataset",
    "OPERATIONS": "grokkit.data.ops",
    "ModelConfig": "grokkit.model.config",
    "build_model": "grokkit.model.build",
    "TrainConfig": "grokkit.train.config",
    "RunConfig": "grokkit.spec",
    "load_spec": "grokkit.spec",
    "Run": "grokkit.run",
    "load_run": "grokkit.run",
    "train_run": "grokkit.train.trainer",  # `grokkit.train` is the subpackage
    "GrokkitError": "grokkit.errors",
    "write_report": "grokkit.report",
    "measure_run": "grokkit.measures.offline",
    "detect_phases": "grokkit.measures.phases",
    "key_frequencies": "grokkit.analysis.fourier",
    "fourier_basis": "grokkit.analysis.fourier",
    "zero_ablation": "grokkit.ablation",
    "mean_ablation": "grokkit.ablation",
    "resample_ablation": "grokkit.ablation",
    "fourier_ablation": "grokkit.ablation",
    "train_many": "grokkit.multirun.trainer",  # many runs of one shape as one stack
    "run_sweep": "grokkit.sweep.run",  # what `grokkit sweep` does
    "write_comparison": "grokkit.compare",  # what `grokkit compare` does
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'grokkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""grokkit: train grokking runs, measure their progress, dissect them with TransformerLens.

The public API is listed in ``__all__``; names are imported lazily so that
``grokkit --help`` does not pay for torch and TransformerLens.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

__version__ = "0.1.0"

_EXPORTS = {
    "TaskConfig": "grokkit.data.dataset",
    "AlgorithmicDataset": "grokkit.data.dataset",
    "OPERATIONS": "grokkit.data.ops",
    "ModelConfig": "grokkit.model.config",
    "build_model": "grokkit.model.build",
    "gromov_solution": "grokkit.model.gromov",  # Gromov's analytic MLP for a + b mod p: 100 % with no training
    "TrainConfig": "grokkit.train.config",
    "RunConfig": "grokkit.spec",
    "load_spec": "grokkit.spec",
    "Run": "grokkit.run",
    "load_run": "grokkit.run",
    "train_run": "grokkit.workflow",  # the engine plus the spec's live measures (`grokkit.train` is the subpackage)
    "GrokkitError": "grokkit.errors",
    "write_report": "grokkit.report.html",
    "measure_run": "grokkit.measures.offline",
    "measure_model": "grokkit.measures.offline",  # one row of measures for one model, nothing written
    "MEASURES": "grokkit.measures.registry",  # the measure registry: name → Measure (add one to extend)
    "Measure": "grokkit.measures.base",
    "GROUPS": "grokkit.analysis.groups",  # the group registry: Operation.analysis_group → builder
    "group_for": "grokkit.analysis.groups",
    "Callback": "grokkit.train.callbacks",  # the training engine's hooks (on_eval, on_checkpoint …)
    "extend_run": "grokkit.extend",  # what `grokkit resume RUN --steps N` does
    "detect_phases": "grokkit.measures.phases",
    "key_frequencies": "grokkit.analysis.keys",
    "fourier_basis": "grokkit.analysis.fourier",
    "zero_ablation": "grokkit.ablation",
    "mean_ablation": "grokkit.ablation",
    "resample_ablation": "grokkit.ablation",
    "mean_activation": "grokkit.ablation",
    "fourier_ablation": "grokkit.ablation",
    "train_many": "grokkit.workflow",  # many runs of one shape as one stack
    "run_sweep": "grokkit.sweep.driver",  # what `grokkit sweep` does
    "write_comparison": "grokkit.compare",  # what `grokkit compare` does
    "run_pipeline": "grokkit.pipeline",  # what `grokkit run` does: train → measure → report
    "load_study": "grokkit.capacity.load",  # a capacity study folder, read back and checked (grokkit.capacity)
}

_SUBMODULES = ("plots",)  # public submodules: grokkit.plots (every figure as a function) loads on first use

__all__ = sorted([*_EXPORTS, *_SUBMODULES])


def lazy_getattr(package: str, exports: dict[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``exports[name]`` on first use and caches the name."""

    def getattr_(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return getattr_


_names = lazy_getattr(__name__, _EXPORTS, globals())


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    return _names(name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""The settings of the local learning coefficient's SGLD sampler, shared by the spec and the measure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SGLD:
    """The local learning coefficient's sampler (``grokkit.measures.llc``); set by the ``llc_*`` fields of ``MeasuresConfig``."""

    lr: float = 1e-4
    gamma: float = 100.0
    draws: int = 100
    burnin: int = 0
    chains: int = 1
    seed: int = 0

"""The optimisers and gradient filters grokkit knows: each kind's name, state and defaults, in one place.

Adding an optimiser trick means one entry here plus its update (``optimizers.py`` or
``filters.py``); the training config validates against these names, the engine groups
runs by ``filter_key``, and the memory guard (``grokkit.limits``) counts ``state_tensors``.

- An optimiser kind keeps ``slots``: tensors the size of each parameter, per run
  (AdamW's and Adam's two moments, SGD's momentum buffer). Its hyper-parameters may
  differ per run of a stack.
- A gradient filter is shared by a whole stack (one setting for every run), so its
  settings are part of what runs must share to train together (``filter_key``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OptimizerKind:
    """One optimiser: its name in ``train.optimizer`` and the per-parameter state it keeps."""

    name: str
    """The value of ``train.optimizer``."""
    slots: tuple[str, ...]
    """Per-parameter state tensors, each the parameter's shape (checkpointed as ``optim.NAME.SLOT``)."""
    summary: str
    """One line for the docs and error messages."""


@dataclass(frozen=True)
class FilterKind:
    """One Grokfast gradient filter: its name in ``train.grokfast``, suggested λ and its buffers."""

    name: str
    """The value of ``train.grokfast``."""
    lamb: float
    """λ suggested by Lee et al. (2024), used when ``train.grokfast_lamb`` is not set."""
    window_buffers: bool
    """True: keeps ``train.grokfast_window`` past gradients per parameter (MA); False: ``buffers`` of them."""
    buffers: int
    """Parameter-sized buffers kept when ``window_buffers`` is false (EMA: the running mean μ)."""


OPTIMIZERS: dict[str, OptimizerKind] = {k.name: k for k in (
    OptimizerKind("adamw", ("exp_avg", "exp_avg_sq"), "AdamW, decoupled weight decay (the reference)"),
    OptimizerKind("adam", ("exp_avg", "exp_avg_sq"), "Adam with the weight decay as an L2 term in the gradient"),
    OptimizerKind("sgd", ("momentum_buffer",), "SGD with momentum, weight decay as an L2 term"),
)}

GROKFAST: dict[str, FilterKind] = {k.name: k for k in (
    FilterKind("none", 0.0, False, 0),
    FilterKind("ema", 2.0, False, 1),  # μ ← α μ + (1 − α) g
    FilterKind("ma", 5.0, True, 0),  # the last w gradients
)}


def grokfast_lambda(tcfg: Any) -> float:
    """λ in effect for a training config: ``grokfast_lamb``, or the chosen filter's suggested value."""
    if tcfg.grokfast_lamb is not None:
        return float(tcfg.grokfast_lamb)
    return GROKFAST[tcfg.grokfast].lamb


def filter_key(tcfg: Any) -> tuple:
    """The gradient-filter settings, which every run of one stack must share."""
    return (tcfg.grokfast, tcfg.grokfast_alpha, grokfast_lambda(tcfg), tcfg.grokfast_window, tcfg.orthograd)


def state_tensors(tcfg: Any) -> int:
    """Parameter-sized tensors one run's optimiser and gradient filter keep (⊥Grad keeps none)."""
    f = GROKFAST[tcfg.grokfast]
    return len(OPTIMIZERS[tcfg.optimizer].slots) + (tcfg.grokfast_window if f.window_buffers else f.buffers)


__all__ = ["FilterKind", "GROKFAST", "OPTIMIZERS", "OptimizerKind", "filter_key", "grokfast_lambda", "state_tensors"]

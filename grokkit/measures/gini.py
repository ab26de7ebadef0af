"""Gini coefficients of the Fourier (group-basis) norms of W_E and W_L: how few frequencies carry the weights."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from grokkit.analysis.fourier import (
    embedding_fourier_norms,
    logit_map_fourier_norms,
    neuron_logit_map,
    per_frequency,
)
from grokkit.measures.base import Context, Measure


def gini(c: Tensor) -> float:
    """Hurley–Rickard Gini of non-negative ``c [N]``: sort ascending, G = 1 − 2 Σ_i (c_i/‖c‖₁)(N − i + ½)/N.

    0 when every entry is equal, 1 − 1/N when one entry holds everything; 0 for all zeros.
    """
    c = c.double().flatten().sort().values
    n, total = c.numel(), c.sum()
    if total <= 0:
        return 0.0
    i = torch.arange(1, n + 1, dtype=torch.float64, device=c.device)
    return (1 - 2 * ((c / total) * (n - i + 0.5) / n).sum()).item()


class Gini(NamedTuple):
    gini_W_E: float
    gini_W_L: float


def gini_fourier(ctx: Context) -> Gini:
    """Gini of ‖(F·W_E)_f‖ and of the W_L = W_out·W_U norms over its output axis, in the task's group basis.

    Only the group's symbols enter (W_E's rows, W_L's columns, in the group's order; for mul
    and div the 0 token is left out). N counts what ``[measures] gini_over`` says: ``freqs``
    (default) combines each component's rows (cos/sin pair over Z_p) into one root of
    squares and drops the constant, N = number of components (p//2 over Z_p), so an
    arbitrary phase does not change the value; ``rows`` uses all n basis rows as they come.
    """
    group, w = ctx.run.group, ctx.weights
    norms = [embedding_fourier_norms(group.basis, w.W_E.detach()[group.symbols]),
             logit_map_fourier_norms(group.basis, neuron_logit_map(w).detach()[:, group.symbols])]
    if ctx.run.gini_over == "freqs":
        norms = [per_frequency(group.basis, n) for n in norms]
    return Gini(*(gini(n) for n in norms))


GINI = Measure("gini", gini_fourier, Gini, needs="basis")

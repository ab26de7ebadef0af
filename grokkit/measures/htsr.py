"""Heavy-tailed self-regularisation: the power-law exponent α of each weight matrix's eigenvalue spectrum.

Martin & Mahoney ("Implicit self-regularization in deep neural networks: evidence from random
matrix theory and implications for learning", JMLR 2021; "Predicting trends in the quality of
state-of-the-art neural networks without access to training or testing data", Nature
Communications 2021) read a layer's training from the empirical spectral density (ESD) of its
correlation matrix alone: for W ∈ R^{N×M} (N ≥ M, transposed if needed)::

    X = Wᵀ W / N,   λ_i = σ_i(W)² / N   (i = 1 … M)

A well-trained layer's ESD has a power-law tail ρ(λ) ∝ λ^(−α) for λ ≥ λ_min, with α mostly in
[2, 6]; α < 2 ("very heavy-tailed") is read as over-fit, and the anti-grokking paper ("Late-stage
generalization collapse in grokking: detecting anti-grokking with WeightWatcher", arXiv 2602.02859)
reads the layers' mean α departing from 2 as the warning that a grokked network's test accuracy
is about to collapse. No data is needed: only the weights.

The fit is WeightWatcher's: the continuous power-law maximum-likelihood estimate of Clauset,
Shalizi & Newman (SIAM Review 2009) over the n eigenvalues λ_i ≥ λ_min::

    α̂(λ_min) = 1 + n / Σ_{λ_i ≥ λ_min} ln(λ_i / λ_min)

with λ_min the eigenvalue that minimises the Kolmogorov–Smirnov distance between the tail's
empirical CDF and the fitted one, 1 − (λ/λ_min)^(1 − α̂), over candidates that leave at least
``MIN_TAIL`` eigenvalues in the tail. Matrices with fewer than ``MIN_EIGS`` eigenvalues (the
positional embedding's 3 rows) are left out. Every 2-D weight ``W_*`` the model's weights name is
fitted (attention's W_Q, W_K, W_V, W_O as whole matrices, as WeightWatcher does).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from grokkit.measures.base import Context, Measure

MIN_EIGS = 16  # fewer eigenvalues than this: no tail to fit
MIN_TAIL = 5  # the fewest eigenvalues a fitted tail keeps


class PowerLaw(NamedTuple):
    alpha: float
    lambda_min: float
    tail: int  # eigenvalues in the fitted tail
    ks: float  # the fit's Kolmogorov–Smirnov distance


def eigenvalues(W: Tensor) -> Tensor:
    """λ_i = σ_i² / N of ``W`` (N×M, N the larger side), ascending, float64."""
    W = W.detach().double()
    n = max(W.shape)
    return (torch.linalg.svdvals(W) ** 2 / n).flip(0)


def fit_power_law(evals: Tensor) -> PowerLaw:
    """The MLE exponent of the tail of ``evals`` (ascending), λ_min chosen by the KS distance (module docstring).

    Every candidate λ_min at once: ``[candidates, eigenvalues]`` (at most 512²), no Python loop.
    """
    lam = evals[evals > 0].double()
    m = len(lam) - MIN_TAIL + 1  # candidates: λ_min = lam[s] for s < m
    if m <= 0:
        return PowerLaw(float("nan"), float("nan"), 0, float("inf"))
    log = lam.log()
    start = torch.arange(m)
    n = (len(lam) - start).double()  # tail sizes
    suffix = log.flip(0).cumsum(0).flip(0)[:m]  # Σ_{i ≥ s} ln λ_i
    logs = suffix - n * log[:m]  # Σ_{i ≥ s} ln(λ_i / λ_s)
    alpha = 1 + n / logs.clamp_min(1e-300)
    idx = torch.arange(len(lam))
    offset = (idx.unsqueeze(0) - start.unsqueeze(1)).double()  # i − s, [m, M]
    in_tail = offset >= 0
    fitted = 1 - torch.exp((1 - alpha.unsqueeze(1)) * (log.unsqueeze(0) - log[:m].unsqueeze(1)))
    empirical = offset / n.unsqueeze(1)
    gap = torch.maximum((fitted - empirical).abs(), (fitted - empirical - 1 / n.unsqueeze(1)).abs())
    ks = gap.masked_fill(~in_tail, 0).amax(1).masked_fill(logs <= 0, float("inf"))
    best = int(ks.argmin())
    if not torch.isfinite(ks[best]):
        return PowerLaw(float("nan"), float("nan"), 0, float("inf"))
    return PowerLaw(float(alpha[best]), float(lam[best]), int(n[best]), float(ks[best]))


class HTSR(NamedTuple):
    htsr_alpha: float | None  # mean α over the fitted matrices (None: no matrix large enough)
    htsr_alpha_per_matrix: dict[str, float]  # {"W_E": α, "W_in": α, …}


def htsr_alpha(ctx: Context) -> HTSR:
    """Power-law exponent α of each weight matrix's eigenvalue spectrum, and their mean (Martin & Mahoney)."""
    per = {}
    for name, value in ctx.weights._asdict().items():
        if name.startswith("W_") and isinstance(value, Tensor) and value.dim() == 2 and min(value.shape) >= MIN_EIGS:
            fit = fit_power_law(eigenvalues(value).cpu())
            if fit.alpha == fit.alpha:  # not NaN: a tail was fitted
                per[name] = fit.alpha
    mean = sum(per.values()) / len(per) if per else None
    return HTSR(mean, per)


HTSR_ALPHA = Measure("htsr_alpha", htsr_alpha, HTSR)

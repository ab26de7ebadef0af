"""The task mixture's numbers: frequencies π_k, spectra λ_{k,j}, the frequent set F, a batch's split.

Tasks are 0-based here (task k of the paper is index k − 1). Everything is float64 on the CPU:
these are a few hundred numbers, shared by the spec's checks, the data stream and the theory.
"""

from __future__ import annotations

import torch
from torch import Tensor


def frequencies(K: int, beta: float) -> Tensor:
    """π_k = k^−β / Σ_i i^−β for k = 1 … K: ``[K]`` float64, summing to 1."""
    weights = torch.arange(1, K + 1, dtype=torch.float64).pow(-float(beta))
    return weights / weights.sum()


def spectra(alphas: list[float], d_T: int) -> Tensor:
    """λ_{k,j} = j^−α_k for j = 1 … d_T: ``[K, d_T]`` float64 (task k's target variances, largest first)."""
    j = torch.arange(1, d_T + 1, dtype=torch.float64)
    return torch.stack([j.pow(-float(a)) for a in alphas])


def frequent_set(pi: Tensor, mass: float = 0.8) -> list[int]:
    """F: the smallest set of most frequent tasks whose total π reaches ``mass`` (0-based indices)."""
    order = torch.argsort(pi, descending=True, stable=True).tolist()
    out, total = [], 0.0
    for k in order:
        out.append(k)
        total += float(pi[k])
        if total >= mass - 1e-12:  # π sums to 1 only up to rounding
            break
    return sorted(out)


def batch_counts(pi: Tensor, batch_size: int) -> list[int]:
    """Samples of each task in a fixed-composition batch: B·π_k rounded by largest remainders (sum B).

    Ties in the remainders go to the more frequent (lower-index) task.
    """
    exact = pi * batch_size
    counts = exact.floor().long()
    left = batch_size - int(counts.sum())
    remainder = exact - counts
    order = sorted(range(len(pi)), key=lambda k: (-float(remainder[k]), k))
    for k in order[:left]:
        counts[k] += 1
    return counts.tolist()


def injected_samples(gap: int, batch_size: int, pi_rare: float) -> int:
    """m = round(G·B·π_r): the rare task's samples that a gap of G withheld steps would have held."""
    return int(round(gap * batch_size * pi_rare))

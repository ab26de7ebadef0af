"""Cosine-cube coefficients: how much of the logit table is cos(ω(a ± b − c)) for each key frequency."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from grokkit.analysis.fourier import fourier_sign
from grokkit.measures.base import Context, Measure


class CosCube(NamedTuple):
    cos_cube_alpha: dict[str, float]  # {"k": α_k} for each key frequency


def cos_cube(ctx: Context) -> CosCube:
    """α_ω = ⟨L, C_ω⟩ with C_ω[a, b, c] ∝ cos(ω(a ± b − c)), unit Frobenius norm over the p²×p table.

    No cube is materialised: cos(ω(x − c)) = cos(ωx)cos(ωc) + sin(ωx)sin(ωc) with x = a ± b, so
    ⟨L, C_ω⟩ ∝ uᵀ L cos_c + vᵀ L sin_c (u, v over the grid) and ‖C_ω‖² = ‖u‖²‖cos_c‖² + ‖v‖²‖sin_c‖²
    (+ 2(u·v)(cos_c·sin_c), zero here): O(p³) per frequency instead of a p³ tensor each.
    """
    freqs = ctx.key_freqs
    if not freqs:
        return CosCube({})
    u, v, cc, sc, norm = ctx.run.memo(("cos_cube", tuple(freqs)), lambda: _waves(ctx.run, freqs))
    L = ctx.logits  # [p*p, p]
    inner = ((u.T @ L) * cc.T).sum(1) + ((v.T @ L) * sc.T).sum(1)  # [K]
    return CosCube({str(k): value for k, value in zip(freqs, (inner / norm).tolist())})


def _waves(run, freqs: list[int]) -> tuple[Tensor, ...]:
    """u, v = cos, sin(ω(a ± b)) ``[p*p, K]``; cos, sin(ωc) ``[p, K]``; ‖C_ω‖ ``[K]``."""
    p = run.p
    a = torch.arange(p, dtype=torch.float64, device=run.device)
    omega = torch.tensor(freqs, dtype=torch.float64, device=run.device) * (2 * math.pi / p)  # [K]
    x = (a[:, None] + fourier_sign(run.task) * a[None, :]).reshape(-1)  # [p*p]
    u, v = torch.cos(x[:, None] * omega), torch.sin(x[:, None] * omega)
    cc, sc = torch.cos(a[:, None] * omega), torch.sin(a[:, None] * omega)
    norm_sq = (u.square().sum(0) * cc.square().sum(0) + v.square().sum(0) * sc.square().sum(0)
               + 2 * (u * v).sum(0) * (cc * sc).sum(0))
    return u, v, cc, sc, norm_sq.sqrt()


COS_CUBE = Measure("cos_cube", cos_cube, CosCube, fourier=True)

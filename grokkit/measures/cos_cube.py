"""Cosine-cube coefficients: how much of the logit table is the character of each key component."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from grokkit.analysis.groups.base import character_kernel
from grokkit.measures.base import Context, Measure


class CosCube(NamedTuple):
    cos_cube_alpha: dict[str, float]  # {"k": α_k} for each key frequency


def cos_cube(ctx: Context) -> CosCube:
    """α_k = ⟨L, C_k⟩ with C_k[a, b, c] ∝ χ_k(label(a, b)·c⁻¹), unit Frobenius norm over the table.

    Over Z_p with add or sub this is cos(ω_k(a ± b − c)) (the paper's cos-cube); over Z_p* the
    same in discrete logarithms; over S5 the character tr ρ_k(a·b·c⁻¹) of Chughtai et al.
    Only the grid's rows and the group's classes c enter. No cube is materialised: with
    K_k = F_kᵀF_k ∝ χ_k(g h⁻¹) (``[n, n]``), C_k[(a, b), c] = K_k[label(a, b), c], so summing
    the logit rows by label first, S[g] = Σ_{label(a,b)=g} L[(a, b)], gives ⟨L, C_k⟩ = ⟨S, K_k⟩
    and ‖C_k‖² = Σ_g count(g)·‖K_k[g]‖²: O(n²) per component after one pass over the rows.
    """
    freqs = ctx.key_freqs
    if not freqs:
        return CosCube({})
    run = ctx.run
    kernels, counts = run.memo(("cos_cube", tuple(freqs)), lambda: _kernels(run, freqs))
    L = ctx.grid_logits[:, run.group.symbols]  # [n*n, n]: classes in the group's order
    S = torch.zeros(run.group.n, run.group.n, dtype=L.dtype, device=L.device).index_add_(0, run.grid.labels, L)
    alpha = {}
    for k, K in zip(freqs, kernels):
        norm = (counts * K.square().sum(1)).sum().sqrt()
        alpha[str(k)] = ((S * K).sum() / norm).item()
    return CosCube(alpha)


def _kernels(run, freqs: list[int]) -> tuple[list[Tensor], Tensor]:
    """K_k for each key component, and how many grid rows carry each label (``[n]``)."""
    run.group.require_circuit("cos_cube")
    counts = torch.bincount(run.grid.labels, minlength=run.group.n).double()
    return [character_kernel(run.basis, k) for k in freqs], counts


COS_CUBE = Measure("cos_cube", cos_cube, CosCube, needs="circuit")

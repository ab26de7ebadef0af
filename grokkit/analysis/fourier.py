"""The orthonormal real Fourier basis over Z_p and 1-D / 2-D transforms.

Row 0 is the constant ``1/√p``; for k = 1 … (p−1)/2, row ``2k−1`` is ``cos(2πk·x/p)``
and row ``2k`` is ``sin(2πk·x/p)``, each divided by its norm ``√(p/2)``. This is the
paper's order (cos first); every row is also named (``const``, ``cos 1``, ``sin 1``, …)
so code never relies on position alone. For even p the last row is the Nyquist
``cos(πx)`` and has no sine partner.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor


class FourierBasis(NamedTuple):
    """``F`` with ``F @ F.T = I``; ``names[i]`` and ``freqs[i]`` describe row i."""

    F: Tensor  # [p, p]
    names: list[str]
    freqs: list[int]  # frequency k of each row (0 for const)

    @property
    def p(self) -> int:
        return self.F.shape[0]

    def row(self, name: str) -> int:
        return self.names.index(name)

    def cos_row(self, k: int) -> int:
        return 2 * k - 1

    def sin_row(self, k: int) -> int:
        return 2 * k


def fourier_basis(p: int, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> FourierBasis:
    """The orthonormal basis over Z_p (see module docstring)."""
    x = torch.arange(p, dtype=torch.float64)
    rows, names, freqs = [torch.ones(p, dtype=torch.float64)], ["const"], [0]
    for k in range(1, p // 2 + 1):
        rows.append(torch.cos(2 * math.pi * k * x / p))
        names.append(f"cos {k}")
        freqs.append(k)
        if 2 * k != p:  # Nyquist row has no sine partner
            rows.append(torch.sin(2 * math.pi * k * x / p))
            names.append(f"sin {k}")
            freqs.append(k)
    F = torch.stack(rows)
    F = F / F.norm(dim=1, keepdim=True)
    return FourierBasis(F.to(dtype=dtype, device=device), names, freqs)


def fft1d(basis: FourierBasis, x: Tensor, dim: int = 0) -> Tensor:
    """Transform ``x`` along ``dim`` (indexed by a token 0…p−1): ``F @ x``."""
    x = x.movedim(dim, 0)
    out = torch.tensordot(basis.F.to(x.dtype), x, dims=([1], [0]))
    return out.movedim(0, dim)


def fft2d(basis: FourierBasis, grid: Tensor) -> Tensor:
    """2-D transform of ``[p, p, *channels]`` (or ``[p*p, *channels]``, a-major): ``F M Fᵀ`` per channel."""
    p = basis.p
    if grid.shape[0] == p * p:  # a-major rows → [p, p, ...]
        grid = grid.reshape(p, p, *grid.shape[1:])
    F = basis.F.to(grid.dtype)
    return torch.einsum("ia,jb,ab...->ij...", F, F, grid)

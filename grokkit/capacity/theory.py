"""What the paper's theory predicts for a mixture, computed from the spec (Theorem 3, Proposition 6).

With M = Σ_k π_k C_k, C_k = A_kᵀ A_k (task k's input-output covariance in input space, diagonal:
λ_{k,j} on block k), and optimal decoders, the loss of an encoder with row space U is
Tr M − Tr(Uᵀ M U) (Theorem 3). M is diagonal, so the optimum at width N keeps the N largest
**utilities** u_{k,j} = π_k λ_{k,j}; task k's optimal (unnormalised) loss is the sum of its
λ_{k,j} not kept, its signal s*_k(N) the share of Σ_j λ_{k,j} kept. Direction (k, j) is kept from
the width equal to its rank among all utilities: the staircase. Ties are broken toward the
lower task, then the lower direction (the optimum is then not unique; ``tied`` and ``ambiguous`` say
where, and which tasks' predictions depend on the tie-break).

F is the smallest set of most frequent tasks with Σ π ≥ 0.8, and δ_F(N) = Σ_{k∈F} π_k Σ_{j not kept} λ_{k,j}
what the frequent tasks still miss at the optimum. Proposition 6: a rare task r's top
direction displaces the weakest frequent one iff π_r λ_{r,1} > μ^F_N, the N-th largest eigenvalue of
M_F = Σ_{k∈F} π_k C_k; its critical width is the smallest N with μ^F_N ≤ π_r λ_{r,1}.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from grokkit.capacity.config import MixtureConfig
from grokkit.capacity.mixture import frequencies, frequent_set, spectra


def utilities(pi: Tensor, lam: Tensor) -> Tensor:
    """u_{k,j} = π_k λ_{k,j}: ``[K, d_T]``."""
    return pi[:, None] * lam


def direction_ranks(u: Tensor) -> Tensor:
    """1-based rank of each direction's utility among all, largest first (ties: lower task, then direction)."""
    order = torch.argsort(-u.flatten(), stable=True)
    ranks = torch.empty_like(order)
    ranks[order] = torch.arange(1, order.numel() + 1)
    return ranks.view(u.shape)


@dataclass
class Optimum:
    """Theorem 3's optimum of one mixture at width N."""

    N: int
    kept: Tensor
    """[K, d_T] bool: the directions the optimal encoder spans."""
    loss: Tensor
    """[K] task k's optimal loss Σ_{j not kept} λ_{k,j} (expected squared error summed over its outputs)."""
    loss_norm: Tensor
    """[K] … normalised by the mean predictor's, Σ_j λ_{k,j}."""
    signal: Tensor
    """[K] s*_k = 1 − loss_norm: the share of task k's variance in the optimal subspace."""
    total: float
    """Tr M − Tr(Uᵀ M U) = Σ_k π_k loss_k: the optimal mixture loss."""
    delta_F: float
    """Σ_{k∈F} π_k loss_k."""
    tied: bool
    """The N-th and (N+1)-th utilities are equal: the optimum is not unique (another keeps other directions)."""
    ambiguous: Tensor
    """[K] bool: task k owns a direction of that tie, so its predicted loss depends on the tie-break."""


@dataclass
class MixtureTheory:
    """Everything the theory says about one mixture (one β)."""

    beta: float
    pi: Tensor
    """[K] task frequencies."""
    lam: Tensor
    """[K, d_T] spectra."""
    F: list[int]
    """The frequent set (0-based tasks)."""
    ranks: Tensor
    """[K, d_T] width at which each direction is first kept."""
    D: int
    """Input dimension (widths never exceed it)."""

    @property
    def u(self) -> Tensor:
        return utilities(self.pi, self.lam)

    @property
    def first_width(self) -> list[int]:
        """Width at which each task gets its first direction."""
        return self.ranks.min(1).values.tolist()

    def optimum(self, N: int) -> Optimum:
        kept = self.ranks <= N
        loss = (self.lam * ~kept).sum(1)
        total_var = self.lam.sum(1)
        u = self.u
        flat = u.flatten().sort(descending=True).values
        tied = 0 < N < flat.numel() and bool(torch.isclose(flat[N - 1], flat[N], rtol=1e-12, atol=0))
        ambiguous = torch.isclose(u, flat[N - 1], rtol=1e-12, atol=0).any(1) if tied else torch.zeros(len(u), dtype=bool)
        F = torch.tensor(self.F, dtype=torch.long)
        return Optimum(N, kept, loss, loss / total_var, 1 - loss / total_var, float((self.pi * loss).sum()),
                       float((self.pi[F] * loss[F]).sum()), tied, ambiguous)

    def learned_width(self, threshold: float = 0.5) -> list[int | None]:
        """Smallest width whose optimum gives task k a signal s*_k above ``threshold`` (None: not up to D)."""
        out = []
        for k in range(self.pi.numel()):
            share = self.lam[k] / self.lam[k].sum()
            # directions of task k are kept in order of rank; s* crosses the threshold at one of them
            order = torch.argsort(self.ranks[k])
            cumulative = share[order].cumsum(0)
            hit = (cumulative > threshold).nonzero()
            width = int(self.ranks[k][order[hit[0, 0]]]) if hit.numel() else None
            out.append(width if width is not None and width <= self.D else None)
        return out

    def frequent_eigenvalues(self) -> Tensor:
        """μ^F_1 ≥ μ^F_2 ≥ …: the nonzero eigenvalues of M_F (π_k λ_{k,j} for k in F), sorted."""
        return self.u[self.F].flatten().sort(descending=True).values

    def critical_width(self, r: int) -> int | None:
        """Proposition 6: smallest N with μ^F_N ≤ π_r λ_{r,1} (μ^F_N = 0 past M_F's rank); None for a task in F
        or a width above D."""
        if r in self.F:
            return None
        mu = self.frequent_eigenvalues()
        threshold = self.pi[r] * self.lam[r].max()
        below = (mu <= threshold).nonzero()
        N = int(below[0, 0]) + 1 if below.numel() else mu.numel() + 1
        return N if N <= self.D else None


def mixture_theory(mix: MixtureConfig, beta: float) -> MixtureTheory:
    """The theory of ``mix`` at frequency exponent ``beta``."""
    pi = frequencies(mix.K, beta)
    lam = spectra(mix.task_alphas(), mix.d_T)
    return MixtureTheory(float(beta), pi, lam, frequent_set(pi, mix.frequent_mass), direction_ranks(utilities(pi, lam)),
                         mix.dim)


def theory_record(theory: MixtureTheory, widths: list[int], threshold: float = 0.5) -> dict:
    """The theory as JSON-ready values: per task, and the optimum at each width of the study."""
    K = theory.pi.numel()
    return {
        "beta": theory.beta,
        "pi": theory.pi.tolist(),
        "F": [k + 1 for k in theory.F],
        "first_width": theory.first_width,
        "learned_width": theory.learned_width(threshold),
        "critical_width": [theory.critical_width(k) for k in range(K)],
        "widths": {str(N): {"loss_norm": o.loss_norm.tolist(), "signal": o.signal.tolist(), "total": o.total,
                            "delta_F": o.delta_F, "tied": o.tied,
                            "ambiguous": [k + 1 for k in o.ambiguous.nonzero().flatten().tolist()]}
                   for N in widths for o in [theory.optimum(N)]},
    }

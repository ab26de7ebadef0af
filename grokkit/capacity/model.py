"""The paper's linear bottleneck, I models at once: h = W x, ŷ = D_k h for a sample of task k.

Parameters carry a leading member axis. ``W`` is ``[I, N_max, D]``: each member's shared
encoder (N × D, orthonormal rows at init), padded with zero rows up to the widest member.
``decoders`` is ``[I, N_max, K·d_T]``: column block k holds D_kᵀ, task k's decoder
(d_T × N, Kaiming-uniform like ``torch.nn.Linear``: U(±1/√N)), chosen by the sample's
true task index; no biases (the targets have mean 0). Padded rows of W and padded rows of
the decoders are zero; a zero row meets only zero rows, so its gradient is zero, AdamW
leaves it at zero, and ``apply_mask`` re-zeroes it anyway. A member therefore follows, up
to float summation order, the trajectory it follows alone.

Task k's target is y_k = A_k x with A_k = Λ_k^{1/2} B_kᵀ (B_k: the coordinates of block k),
and the loss is the MSE over its d_T outputs. Its expectation over x ~ N(0, I_D) is exact:
ℓ_k = ‖D_k W − A_k‖²_F / d_T = (Σ (D_k W Wᵀ D_kᵀ)_{jj} − 2 Σ_j √λ_{k,j} (D_k W)_{j, block k, j} + Σ_j λ_{k,j}) / d_T.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from grokkit.capacity.config import Member, MixtureConfig
from grokkit.capacity.mixture import spectra
from grokkit.data.seeds import derive_seed


def init_member(member: Member, mix: MixtureConfig) -> tuple[Tensor, Tensor]:
    """One member's encoder [N, D] (orthonormal rows) and decoders [N, K·d_T] (U(±1/√N)), from its own seed."""
    gen = torch.Generator().manual_seed(derive_seed("capacity-init", member.N, member.seed, mix.dim, mix.K, mix.d_T))
    W = torch.nn.init.orthogonal_(torch.empty(member.N, mix.dim), generator=gen)
    bound = 1.0 / math.sqrt(member.N)  # kaiming_uniform_(a=√5) of a Linear(N, d_T): fan_in = N
    decoders = (torch.rand(member.N, mix.K * mix.d_T, generator=gen) * 2 - 1) * bound
    return W, decoders


def task_losses(W: Tensor, decoders: Tensor, sqrt_lam: Tensor) -> Tensor:
    """Exact expected MSE of every task: ``[I, K]`` from W ``[I, N, D]``, decoders ``[I, N, K·d_T]``, √λ ``[K, d_T]``.

    Differentiable; the dtype of W.
    """
    I, N, _ = W.shape
    K, d_T = sqrt_lam.shape
    gram = torch.bmm(W, W.transpose(1, 2))  # [I, N, N]
    quad = (torch.bmm(gram, decoders) * decoders).view(I, N, K, d_T).sum((1, 3))  # Σ_j ‖W ᵀ D_kᵀ e_j‖²
    cross = (decoders * W[:, :, : K * d_T]).view(I, N, K, d_T).sum(1)  # (D_k W)_{j, block k, j}: [I, K, d_T]
    lam = sqrt_lam.to(W.dtype)
    return (quad - 2 * (cross * lam).sum(2) + lam.pow(2).sum(1)) / d_T


class CapacityModels:
    """I linear bottlenecks of one mixture, each with its own width N_i <= N_max."""

    def __init__(self, W: Tensor, decoders: Tensor, widths: list[int], sqrt_lam: Tensor):
        self.W = W  # [I, N_max, D]
        self.decoders = decoders  # [I, N_max, K·d_T]
        self.widths = list(widths)
        self.sqrt_lam = sqrt_lam  # [K, d_T]
        n_max = W.shape[1]
        rows = torch.arange(n_max, device=W.device)[None, :] < torch.tensor(widths, device=W.device)[:, None]
        # None when every member is as wide as the stack: nothing to re-apply
        self.row_mask = None if all(n == n_max for n in widths) else rows[:, :, None].to(W.dtype)  # [I, N_max, 1]

    @classmethod
    def init(cls, members: list[Member], mix: MixtureConfig, device: str | torch.device = "cpu") -> "CapacityModels":
        n_max = max(m.N for m in members)
        W = torch.zeros(len(members), n_max, mix.dim)
        decoders = torch.zeros(len(members), n_max, mix.K * mix.d_T)
        for i, member in enumerate(members):
            W[i, : member.N], decoders[i, : member.N] = init_member(member, mix)
        sqrt_lam = spectra(mix.task_alphas(), mix.d_T).sqrt().float()
        return cls(W.to(device), decoders.to(device), [m.N for m in members], sqrt_lam.to(device))

    @property
    def members(self) -> int:
        return self.W.shape[0]

    def parameters(self) -> dict[str, Tensor]:
        return {"W": self.W, "decoders": self.decoders}

    @torch.no_grad()
    def load(self, W: Tensor, decoders: Tensor) -> None:
        """Take the weights of a stack of the same members (a saved study's ``W`` and ``decoders``)."""
        from grokkit.errors import RunError

        for name, mine, theirs in (("W", self.W, W), ("decoders", self.decoders, decoders)):
            if tuple(theirs.shape) != tuple(mine.shape):
                raise RunError(f"weights: {name} has shape {tuple(theirs.shape)}; this study's models need "
                               f"{tuple(mine.shape)} (weights of another study)")
            mine.copy_(theirs.to(mine.device, mine.dtype))
        self.apply_mask()

    @torch.no_grad()
    def apply_mask(self) -> None:
        if self.row_mask is not None:
            self.W.mul_(self.row_mask)
            self.decoders.mul_(self.row_mask)

    def batch_loss(self, x: Tensor, task: Tensor, weight: Tensor, W: Tensor | None = None,
                   decoders: Tensor | None = None) -> Tensor:
        """Σ_b weight_b · MSE of sample b, per member: ``[I]``.

        x ``[I, B, D]``, task ``[I, B]`` (0-based), weight ``[I, B]``; W and decoders default to the models'.
        """
        W = self.W if W is None else W
        decoders = self.decoders if decoders is None else decoders
        d_T = self.sqrt_lam.shape[1]
        H = torch.bmm(x, W.transpose(1, 2))  # [I, B, N_max]
        every = torch.bmm(H, decoders)  # [I, B, K·d_T]: all K decoders' outputs; the sample's own is picked below
        cols = task[..., None] * d_T + torch.arange(d_T, device=x.device)  # [I, B, d_T]: block of its task
        pred = every.gather(2, cols)
        target = x.gather(2, cols) * self.sqrt_lam.reshape(-1)[cols]  # y = Λ^{1/2} x[block k]
        return ((pred - target).pow(2).mean(2) * weight).sum(1)

    def task_losses(self) -> Tensor:
        """Exact expected MSE of every task, ``[I, K]`` (differentiable)."""
        return task_losses(self.W, self.decoders, self.sqrt_lam)

    def select(self, keep: list[int]) -> "CapacityModels":
        """The members at positions ``keep`` (copies), trimmed to their own widest."""
        index = torch.tensor(keep, device=self.W.device)
        n = max(self.widths[i] for i in keep)
        return CapacityModels(self.W[index, :n].clone(), self.decoders[index, :n].clone(),
                              [self.widths[i] for i in keep], self.sqrt_lam)

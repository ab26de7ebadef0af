"""The ReLU-output toy model, I instances at once: h = W x, x' = ReLU(Wᵀ h + b).

Parameters carry a leading instance axis: ``W`` is [I, m_max, n], the paper's
m × n matrix per model (``W[i, :, j]`` is its column W_j), and ``b`` is [I, n].
Models with m < m_max keep their extra hidden rows at zero through ``hidden_mask``;
a zero row gets zero gradient, and the mask is re-applied after every update anyway.
The m × n layout is also the fast one: every dense product below is then a
row-major GEMM with the long n axis contiguous (3× faster on CPU than n × m).

The loss of each model is L = (1/T) Σ_t ‖x_t − x'_t‖². Its gradient is written by
hand so that the dense [I, rows, n] reconstruction is built once per block of rows
and reused in place (autograd would keep several copies), and so that the sum over
points can be chunked to bound memory while staying exactly full-batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from grokkit.toy.config import ToyInstance
from grokkit.data.seeds import derive_seed
from grokkit.toy.data import PointBatch


@dataclass
class LossGrad:
    """Per-model loss and, when asked for, its gradient."""

    loss: torch.Tensor
    """[I] mean squared reconstruction error per point."""
    grad_W: torch.Tensor | None
    """[I, m_max, n] dL/dW."""
    grad_b: torch.Tensor | None
    """[I, n] dL/db."""


class ToyModels:
    """I toy models sharing n, each with its own m ≤ m_max."""

    def __init__(self, W: torch.Tensor, b: torch.Tensor, m: list[int]):
        self.W = W  # [I, m_max, n]
        self.b = b  # [I, n]
        self.m = list(m)
        m_max = W.shape[1]
        mask = torch.arange(m_max, device=W.device)[None, :] < torch.tensor(m, device=W.device)[:, None]
        # None when no model is narrower than m_max: nothing to re-apply
        self.hidden_mask = None if all(k == m_max for k in m) else mask[:, :, None].to(W.dtype)  # [I, m_max, 1]

    @classmethod
    def init(cls, instances: list[ToyInstance], device: str | torch.device = "cpu") -> "ToyModels":
        """Xavier-normal W per model (std √(2/(n+m)) with its own m and its own seed), b = 0."""
        n = instances[0].n
        m_max = max(inst.m for inst in instances)
        W = torch.zeros(len(instances), m_max, n)
        for i, inst in enumerate(instances):
            gen = torch.Generator().manual_seed(derive_seed("init", inst.n, inst.m, inst.data_seed, inst.init_seed))
            W[i, : inst.m] = torch.randn(inst.m, inst.n, generator=gen) * math.sqrt(2.0 / (inst.n + inst.m))
        b = torch.zeros(len(instances), n)
        return cls(W.to(device), b.to(device), [inst.m for inst in instances])

    @property
    def instances(self) -> int:
        return self.W.shape[0]

    @property
    def n(self) -> int:
        return self.W.shape[2]

    def apply_mask(self) -> None:
        if self.hidden_mask is not None:
            self.W.mul_(self.hidden_mask)

    def hidden(self, idx: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
        """h = W x from sparse points: idx, val [I, rows, k] → [I, rows, m_max]."""
        I, rows, k = idx.shape
        m = self.W.shape[1]
        picked = self.W.gather(2, idx.reshape(I, 1, rows * k).expand(-1, m, -1))  # [I, m, rows·k]
        return (picked.view(I, m, rows, k) * val[:, None]).sum(3).transpose(1, 2)

    def reconstruct_dense(self, X: torch.Tensor) -> torch.Tensor:
        """x' = ReLU(Wᵀ W x + b) for dense X [I, T, n] → [I, T, n] (reference implementation for tests)."""
        H = X @ self.W.transpose(1, 2)
        return torch.relu(H @ self.W + self.b[:, None, :])

    def rows_per_block(self, block_elements: int) -> int:
        return max(1, block_elements // (self.instances * self.n))

    def loss_and_grad(self, batch: PointBatch, grad: bool = True, block_elements: int = 1 << 20) -> LossGrad:
        """Full-batch loss per model and its gradient, summed over blocks of rows.

        With r = ReLU(Wᵀ h + b): Σ_t ‖x_t − r_t‖² = Σ r² − 2 Σ r·x + Σ x², where the
        cross term only touches the non-zeros of x; dL/d(pre-activation) is
        (2/T)(r − x)·[r > 0] = (2/T)(r − x·[r > 0]), a dense part r plus a sparse
        correction. Appending a column of ones to h folds b into the decoder GEMM and
        dL/db into the dL/dW GEMM.
        """
        I, T_max, _ = batch.idx.shape
        m = self.W.shape[1]
        Wb = torch.cat([self.W, self.b[:, None, :]], 1)  # [I, m+1, n]
        rows = self.rows_per_block(block_elements)
        loss_sum = torch.zeros(I, device=Wb.device)
        grad_Wb = torch.zeros_like(Wb) if grad else None
        for start in range(0, T_max, rows):
            idx = batch.idx[:, start : start + rows]  # [I, r, k]
            val = batch.val[:, start : start + rows]
            H1 = torch.nn.functional.pad(self.hidden(idx, val), (0, 1), value=1.0)  # [I, r, m+1]: h and a 1 for b
            recon = torch.bmm(H1, Wb).relu_()  # [I, r, n], reused in place below
            if batch.row_mask is not None:  # padding rows would contribute ReLU(b)
                recon.mul_(batch.row_mask[:, start : start + rows, None])
            at_x = recon.gather(2, idx)  # [I, r, k]: r at the non-zeros of x
            flat = recon.view(I, 1, -1)
            loss_sum += torch.bmm(flat, flat.transpose(1, 2)).view(I) - 2 * (at_x * val).sum((1, 2))
            if not grad:
                continue
            g = recon.scatter_add_(2, idx, -val * (at_x > 0))  # [I, r, n]: r − x·[r > 0], still unscaled
            grad_Wb += torch.bmm(H1.transpose(1, 2), g)  # decoder path of W, and b
            g_H = torch.bmm(g, self.W.transpose(1, 2))  # [I, r, m]
            contrib = g_H.transpose(1, 2)[..., None] * val[:, None]  # [I, m, r, k]: encoder path h = W x
            grad_Wb[:, :m].scatter_add_(2, idx.reshape(I, 1, -1).expand(-1, m, -1), contrib.reshape(I, m, -1))
        loss = (loss_sum + batch.sq_sum) / batch.T
        if not grad:
            return LossGrad(loss, None, None)
        grad_Wb *= (2.0 / batch.T)[:, None, None]
        grad_W, grad_b = grad_Wb[:, :m], grad_Wb[:, m]
        if self.hidden_mask is not None:
            grad_W = grad_W * self.hidden_mask
        return LossGrad(loss, grad_W, grad_b)

    def point_losses(self, batch: PointBatch, block_elements: int = 1 << 20) -> torch.Tensor:
        """‖x_t − x'_t‖² per point: [I, T_max] (0 in padding rows)."""
        rows = self.rows_per_block(block_elements)
        out = []
        for start in range(0, batch.idx.shape[1], rows):
            idx = batch.idx[:, start : start + rows]
            val = batch.val[:, start : start + rows]
            recon = torch.baddbmm(self.b[:, None, :], self.hidden(idx, val), self.W).relu_()
            at_x = recon.gather(2, idx)
            per = recon.pow(2).sum(2) - 2 * (at_x * val).sum(2) + val.pow(2).sum(2)
            if batch.row_mask is not None:
                per = per * batch.row_mask[:, start : start + rows]
            out.append(per)
        return torch.cat(out, 1)

    def hidden_all(self, batch: PointBatch, rows: int = 65_536) -> torch.Tensor:
        """Hidden vectors h_t = W x_t of every point: [I, T_max, m_max] (0 in padding rows)."""
        T_max = batch.idx.shape[1]
        parts = [self.hidden(batch.idx[:, s : s + rows], batch.val[:, s : s + rows]) for s in range(0, T_max, rows)]
        return torch.cat(parts, 1)

    def select(self, keep: list[int]) -> "ToyModels":
        """The models at positions ``keep`` (copies), trimmed to their own m_max."""
        index = torch.tensor(keep, device=self.W.device)
        W = self.W[index, : max(self.m[i] for i in keep)].clone()
        return ToyModels(W, self.b[index].clone(), [self.m[i] for i in keep])

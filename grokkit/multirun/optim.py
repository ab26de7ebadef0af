"""AdamW on stacked parameters, with a learning rate and weight decay per run.

The update is ``torch.optim.AdamW``'s single-tensor CPU path written out on ``[R, ...]``
tensors, op for op, so given the same gradients each run's slice gets the update
PyTorch would give it (per-run scalars are computed in float64 and rounded once, as
PyTorch rounds its Python floats)::

    θ ← θ · (1 − lr·wd)
    m ← lerp(m, g, 1 − β1);   v ← β2 v + (1 − β2) g²
    θ ← θ − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)

β1, β2 and ε are shared by the stack (they are part of its grouping key).
"""

from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-8  # torch.optim.AdamW's default, which the solo trainer uses


def _per_run(values: Tensor, like: Tensor) -> Tensor:
    """``[R]`` float64 → ``[R, 1, …]`` in ``like``'s dtype, broadcastable against it."""
    return values.to(like.dtype).view(-1, *([1] * (like.dim() - 1)))


class StackedAdamW:
    """AdamW over named ``[R, ...]`` leaves; ``lr`` and ``weight_decay`` are ``[R]`` per step."""

    def __init__(self, params: dict[str, Tensor], betas: tuple[float, float]):
        self.params = params
        self.beta1, self.beta2 = betas
        self.t = 0  # steps taken (PyTorch's state "step", shared by the stack)
        self.exp_avg = {name: torch.zeros_like(p, memory_format=torch.preserve_format) for name, p in params.items()}
        self.exp_avg_sq = {name: torch.zeros_like(p, memory_format=torch.preserve_format) for name, p in params.items()}

    @torch.no_grad()
    def step(self, lr: Tensor, weight_decay: Tensor) -> None:
        """One update; ``lr``, ``weight_decay``: ``[R]`` float64 on the parameters' device."""
        self.t += 1
        bias_correction1 = 1 - self.beta1**self.t
        bias_correction2_sqrt = (1 - self.beta2**self.t) ** 0.5
        decay = 1 - lr * weight_decay  # [R] float64, rounded once per tensor below
        step_size = lr / bias_correction1
        for name, p in self.params.items():
            grad, m, v = p.grad, self.exp_avg[name], self.exp_avg_sq[name]
            p.mul_(_per_run(decay, p))
            m.lerp_(grad, 1 - self.beta1)
            v.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
            denom = (v.sqrt() / bias_correction2_sqrt).add_(EPS)
            p.sub_(_per_run(step_size, p) * m / denom)  # addcdiv's order: value * t1 / t2

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    def rebind(self, params: dict[str, Tensor], keep: Tensor) -> None:
        """Follow a stack that dropped runs: new leaves, moments of the kept runs only."""
        self.params = params
        self.exp_avg = {k: v[keep].clone() for k, v in self.exp_avg.items()}
        self.exp_avg_sq = {k: v[keep].clone() for k, v in self.exp_avg_sq.items()}

"""Ways to make a model grok sooner (grokking.md §6), as small trainer options.

Gradient transforms run between ``loss.backward()`` and ``optimizer.step()``, in
this order: the Grokfast filter (amplify the slow part of the gradient), then ⊥Grad
(drop the part along the weight). StableMax replaces softmax in the training loss.

- **Grokfast EMA** (Lee et al. 2024, ``train.grokfast = "ema"``)::

      μ ← α μ + (1 − α) g          (μ starts at the first gradient, as in their code)
      g ← g + λ μ                  suggested α = 0.98, λ = 2

- **Grokfast MA** (``train.grokfast = "ma"``): μ = mean of the last w gradients,
  ``g ← g + λ μ``, applied once the window is full (suggested w = 100, λ = 5).
  Reported for both: x·y mod 97 reaches 95 % validation accuracy in 790 – 910
  iterations instead of 39 890 (×20 – ×44 in wall-clock).

- **StableMax cross-entropy** (Prieto et al. 2025, ``train.loss = "stablemax"``)::

      s(x) = x + 1 (x ≥ 0),  1 / (1 − x) (x < 0);   p_i = s(x_i) / Σ_j s(x_j);   loss = −log p_y

  s grows linearly instead of exponentially, so the loss cannot collapse to exactly
  zero in floating point ("softmax collapse") and gradients keep flowing.

- **⊥Grad** (Prieto et al. 2025, ``train.orthograd = true``): per parameter tensor,
  ``g⊥ = g − (⟨w, g⟩ / ⟨w, w⟩) w``, rescaled to ``‖g‖``: the step can no longer just
  scale the weights up (naive loss minimisation). With StableMax or ⊥Grad they
  report grokking in ≈ 300 epochs with no weight decay.

Every transform also works on parameters stacked along a leading run axis
(``run_axis=True``, used by ``grokkit.multirun``): the Grokfast filters are
element-wise anyway and ⊥Grad takes its inner products per run. Filter state goes
into checkpoints (``state_tensors`` / ``load_state_tensors``), so a resumed run is
bit-identical to an uninterrupted one.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

STATE_PREFIX = "accel."
_TINY = 1e-30  # keeps ⊥Grad finite for an all-zero weight or gradient (their constant)


def stablemax(x: Tensor) -> Tensor:
    """s(x) = x + 1 for x ≥ 0, 1 / (1 − x) for x < 0 (positive, monotone, linear growth)."""
    return torch.where(x >= 0, x + 1, 1 / (1 - x.clamp(max=0)))  # clamp: no inf in the unused branch


def stablemax_nll(logits: Tensor, labels: Tensor) -> Tensor:
    """Per-row −log(s(x_y) / Σ s(x)) in float64: ``[..., classes]``, labels ``[...]`` → ``[...]``."""
    s = stablemax(logits.double())
    log_p = torch.log(s) - torch.log(s.sum(-1, keepdim=True))
    return -log_p.gather(-1, labels.unsqueeze(-1)).squeeze(-1)


def softmax_nll(logits: Tensor, labels: Tensor) -> Tensor:
    """Per-row softmax cross-entropy in float64: ``[..., classes]``, labels ``[...]`` → ``[...]``."""
    flat = F.cross_entropy(logits.double().reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none")
    return flat.view(labels.shape)


def stablemax_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """StableMax cross-entropy, mean over the last (batch) axis."""
    return stablemax_nll(logits, labels).mean(-1)


def softmax_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """The reference loss: softmax cross-entropy in float64, mean over the batch."""
    return F.cross_entropy(logits.double(), labels)


# train.loss → mean loss of one run (the trainer) and per-row loss (the vectorised trainer's masked mean)
LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "softmax": softmax_cross_entropy,
    "stablemax": stablemax_cross_entropy,
}
ROW_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"softmax": softmax_nll, "stablemax": stablemax_nll}


def orthogonalize_(weight: Tensor, grad: Tensor, run_axis: bool = False) -> None:
    """⊥Grad in place: ``grad ← rescale(grad − proj_weight(grad), ‖grad‖)``, per tensor (per run with ``run_axis``)."""
    dims = tuple(range(1, grad.dim())) if run_axis else tuple(range(grad.dim()))
    if not dims:  # a scalar per run has no orthogonal complement
        return
    w, g = weight.detach(), grad
    proj = (w * g).sum(dims, keepdim=True) / ((w * w).sum(dims, keepdim=True) + _TINY)
    g_orth = g - proj * w
    scale = g.norm(dim=dims, keepdim=True) / (g_orth.norm(dim=dims, keepdim=True) + _TINY)
    grad.copy_(g_orth * scale)


class GradientFilter:
    """The configured gradient transforms of one run (or one stack of runs), with their state.

    ``apply(params)`` edits ``p.grad`` of each named parameter in place; call it after
    ``backward()`` and before ``optimizer.step()``.
    """

    def __init__(self, grokfast: str = "none", alpha: float = 0.98, lamb: float = 2.0, window: int = 100,
                 orthograd: bool = False, run_axis: bool = False):
        self.grokfast, self.alpha, self.lamb, self.window = grokfast, alpha, lamb, window
        self.orthograd, self.run_axis = orthograd, run_axis
        self.ema: dict[str, Tensor] = {}  # name → μ
        self.ring: dict[str, Tensor] = {}  # name → [window, *shape] last gradients, slot = count % window
        self.count = 0  # gradients seen

    @classmethod
    def from_config(cls, tcfg, run_axis: bool = False) -> "GradientFilter":
        return cls(tcfg.grokfast, tcfg.grokfast_alpha, tcfg.grokfast_lambda, tcfg.grokfast_window,
                   tcfg.orthograd, run_axis)

    @property
    def active(self) -> bool:
        return self.grokfast != "none" or self.orthograd

    @torch.no_grad()
    def apply(self, params: dict[str, Tensor]) -> None:
        if not self.active:
            return
        for name, p in params.items():
            g = p.grad
            if self.grokfast == "ema":
                if name not in self.ema:
                    self.ema[name] = g.clone()
                mu = self.ema[name]
                mu.mul_(self.alpha).add_(g, alpha=1 - self.alpha)
                g.add_(mu, alpha=self.lamb)
            elif self.grokfast == "ma":
                if name not in self.ring:
                    self.ring[name] = torch.zeros((self.window, *g.shape), dtype=g.dtype, device=g.device)
                ring = self.ring[name]
                ring[self.count % self.window] = g
                if self.count + 1 >= self.window:  # their warmup=True: only with a full window
                    g.add_(ring.sum(0) / self.window, alpha=self.lamb)
            if self.orthograd:
                orthogonalize_(p, g, self.run_axis)
        self.count += 1

    def state_tensors(self) -> dict[str, Tensor]:
        """Filter state for a checkpoint (names start with ``accel.``)."""
        if self.grokfast == "none":
            return {}
        out = {f"{STATE_PREFIX}count": torch.tensor(self.count)}
        out.update({f"{STATE_PREFIX}ema.{k}": v for k, v in self.ema.items()})
        out.update({f"{STATE_PREFIX}ring.{k}": v for k, v in self.ring.items()})
        return out

    def load_state_tensors(self, tensors: dict[str, Tensor], device: str | torch.device = "cpu") -> None:
        if self.grokfast == "none":
            return
        self.count = int(tensors[f"{STATE_PREFIX}count"])
        for name, value in tensors.items():
            for kind, store in (("ema.", self.ema), ("ring.", self.ring)):
                if name.startswith(STATE_PREFIX + kind):
                    store[name[len(STATE_PREFIX + kind):]] = value.to(device).clone()

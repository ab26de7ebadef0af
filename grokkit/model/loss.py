"""Training and evaluation losses, per row and in float64.

- **Softmax cross-entropy** (the reference), in float64: in float32 it bottoms out
  near 1e-7 once the model is confident, which hides the end of memorisation.
- **StableMax cross-entropy** (Prieto et al. 2025, ``train.loss = "stablemax"``)::

      s(x) = x + 1 (x ≥ 0),  1 / (1 − x) (x < 0);   p_i = s(x_i) / Σ_j s(x_j);   loss = −log p_y

  s grows linearly instead of exponentially, so the loss cannot collapse to exactly
  zero in floating point ("softmax collapse") and gradients keep flowing.

- **Mean squared error on one-hot targets** (``train.loss = "mse"``; Gromov 2023)::

      loss = (1/C) Σ_c (x_c − [c = y])²     per row, C output classes

  the row mean of ``F.mse_loss(logits, one_hot(y))`` (d-doshi/Grokking's MSE), in float64.

Metrics and measures always report softmax cross-entropy (``loss_and_acc``).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


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


def mse_onehot(logits: Tensor, labels: Tensor) -> Tensor:
    """Per-row mean over the classes of (x − one_hot(y))², in float64: ``[..., classes]`` → ``[...]``."""
    x = logits.double()
    target = F.one_hot(labels, x.shape[-1]).to(x.dtype)
    return (x - target).square().mean(-1)


def mse_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """MSE on one-hot targets, mean over the batch (and the classes), as ``F.mse_loss``."""
    return mse_onehot(logits, labels).mean(-1)


def stablemax_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """StableMax cross-entropy, mean over the last (batch) axis."""
    return stablemax_nll(logits, labels).mean(-1)


def softmax_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """The reference loss: softmax cross-entropy in float64, mean over the batch."""
    return F.cross_entropy(logits.double(), labels)


# train.loss → per-row loss (the engine takes each run's mean over its own rows) and mean loss
ROW_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"softmax": softmax_nll, "stablemax": stablemax_nll,
                                                             "mse": mse_onehot}
LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "softmax": softmax_cross_entropy,
    "stablemax": stablemax_cross_entropy,
    "mse": mse_loss,
}


def loss_and_acc(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Softmax cross-entropy in float64 and accuracy (argmax = label), as 0-d tensors."""
    loss = F.cross_entropy(logits.double(), labels)
    acc = (logits.argmax(-1) == labels).double().mean()
    return loss, acc

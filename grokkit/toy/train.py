"""Full-batch AdamW training of many toy models at once.

AdamW is elementwise, so a stack of models on a leading instance axis follows,
model by model, the trajectory each would follow alone: nothing couples the
instances (no global clipping, no shared statistics). The optimiser is written out
here rather than taken from ``torch.optim`` so that weight decay can differ per
model (a swept setting); its update is torch's AdamW, term for term.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from grokkit.toy.config import ToyInstance, ToyTrainConfig
from grokkit.toy.data import PointBatch, make_dataset, stack_points
from grokkit.toy.model import ToyModels


def lr_at(step: int, cfg: ToyTrainConfig) -> float:
    """Learning rate of 1-based ``step``: linear warm-up to cfg.lr, then cosine decay to 0 at cfg.steps."""
    if step <= cfg.warmup_steps:
        return cfg.lr * step / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    if cfg.cosine == "half":
        return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    return cfg.lr * math.cos(0.5 * math.pi * progress)


class InstanceAdamW:
    """AdamW over [I, ...] parameters with a per-instance weight decay [I]."""

    def __init__(self, params: list[torch.Tensor], weight_decay: torch.Tensor, decay: list[bool], cfg: ToyTrainConfig):
        self.params = params
        self.decay = decay  # per parameter: is it decayed (b only if cfg.decay_bias)
        self.weight_decay = weight_decay  # [I]
        self.cfg = cfg
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[torch.Tensor], lr: float) -> None:
        self.t += 1
        b1, b2 = self.cfg.beta1, self.cfg.beta2
        bias1 = 1 - b1**self.t
        bias2_sqrt = math.sqrt(1 - b2**self.t)
        for p, g, m, v, decay in zip(self.params, grads, self.exp_avg, self.exp_avg_sq, self.decay):
            if decay:
                shape = (-1,) + (1,) * (p.dim() - 1)
                p.mul_(1 - lr * self.weight_decay.view(shape))  # decoupled: before the Adam step, as torch does
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v.sqrt() / bias2_sqrt).add_(self.cfg.eps)
            p.addcdiv_(m, denom, value=-lr / bias1)


@dataclass
class TrainResult:
    """Trained models and what the sweep stores about them."""

    models: ToyModels
    """The I trained models, in the order of the instances given."""
    train: PointBatch
    """Their training points."""
    test: PointBatch
    """Their test points."""
    train_loss: torch.Tensor
    """[I] final full-batch train loss."""
    test_loss: torch.Tensor
    """[I] final test loss."""
    seconds: float
    """Wall time of the optimisation loop."""
    steps: int
    """Steps taken."""


def train_models(
    instances: list[ToyInstance],
    cfg: ToyTrainConfig,
    device: str | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train every instance (sharing n) for cfg.steps full-batch steps, all in one stack."""
    if len({inst.n for inst in instances}) != 1:
        raise ValueError("train_models: all instances must share n")
    device = device or cfg.resolve_device()
    datasets = [make_dataset(inst) for inst in instances]
    train = stack_points([d.train for d in datasets], device)
    test = stack_points([d.test for d in datasets], device)
    models = ToyModels.init(instances, device)
    wd = torch.tensor([inst.weight_decay for inst in instances], device=device)
    opt = InstanceAdamW([models.W, models.b], wd, [True, cfg.decay_bias], cfg)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, desc=f"{len(instances)} models", leave=False, mininterval=1.0)
    start = time.perf_counter()
    for step in range(1, cfg.steps + 1):
        out = models.loss_and_grad(train, grad=True, block_elements=cfg.block_elements)
        opt.step([out.grad_W, out.grad_b], lr_at(step, cfg))
        models.apply_mask()
        if bar is not None:
            bar.update(1)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    train_loss = models.loss_and_grad(train, grad=False, block_elements=cfg.block_elements).loss
    test_loss = models.loss_and_grad(test, grad=False, block_elements=cfg.block_elements).loss
    return TrainResult(models, train, test, train_loss, test_loss, seconds, cfg.steps)

"""Training every member of a capacity study in one stack: AdamW, inverse-square-root schedule, clipping.

Members are independent: their losses are summed before ``backward()`` (no gradient
mixes members), gradient clipping caps each member's own norm (its encoder and all its
decoders, as ``torch.nn.utils.clip_grad_norm_`` over one model's parameters), and the
optimiser is ``grokkit.optim.optimizers.StackOptimizer`` (torch's AdamW term for term, its
state per member). So a member of a stack of widths, seeds and β values follows the
trajectory it follows alone, up to float summation order (``tests/test_capacity_train.py``).

The trainer calls out: a ``StackCallback`` (``grokkit.capacity.callbacks``) sees the models before
and after every step; measures are taken by callbacks (``grokkit.capacity.measures``), never in here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import Tensor

from grokkit.capacity.callbacks import StackCallback
from grokkit.capacity.config import CapacityTrainConfig, Member, MixtureConfig
from grokkit.capacity.data import BatchStream, data_keys
from grokkit.capacity.mixture import frequencies
from grokkit.capacity.model import CapacityModels
from grokkit.optim.optimizers import Hyper, StackOptimizer
from grokkit.optim.schedule import lr_at

CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_'s: coefficient = clip / (norm + 1e-6), at most 1


@dataclass
class TrainedStack:
    """A trained stack: the models, in the order of the members given."""

    models: CapacityModels
    """The I trained models."""
    members: list[Member]
    """Who each model is."""
    steps: int
    """Steps taken."""
    seconds: float
    """Wall time of the optimisation loop."""
    clipped: list[int]
    """Steps at which each member's gradient norm exceeded train.clip (and was scaled down)."""


def clip_per_member(grads: list[Tensor], clip: float) -> Tensor:
    """Scale each member's gradients (``[I, ...]`` tensors, in place) so their joint norm is at most ``clip``;
    returns ``[I]`` bool: which members were scaled."""
    norms = torch.stack([g.pow(2).flatten(1).sum(1) for g in grads]).sum(0).sqrt()  # [I]
    coef = (clip / (norms + CLIP_EPS)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))
    return norms > clip


def train_stack(members: list[Member], mix: MixtureConfig, cfg: CapacityTrainConfig,
                callbacks: list[StackCallback] = (), device: str | None = None, progress: bool = False) -> TrainedStack:
    """Train every member for cfg.steps steps, all in one stack (see the module docstring)."""
    device = device or cfg.resolve_device()
    models = CapacityModels.init(members, mix, device)
    for p in models.parameters().values():
        p.requires_grad_(True)
    keys, key_of = data_keys(members)
    key_index = torch.tensor(key_of, device=device)
    stream = BatchStream(keys, mix, cfg, device) if cfg.objective == "sampled" else None
    pi = torch.stack([frequencies(mix.K, m.beta) for m in members]).to(device, torch.float32)  # [I, K]
    hypers = [Hyper("adamw", cfg.weight_decay, cfg.beta1, cfg.beta2, eps=cfg.eps)] * len(members)
    opt = StackOptimizer(models.parameters(), hypers)
    clipped = torch.zeros(len(members), dtype=torch.long, device=device)
    for cb in callbacks:
        cb.on_start(models)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, desc=f"{len(members)} models", leave=False, mininterval=1.0)
    start = time.perf_counter()
    for step in range(1, cfg.steps + 1):
        for cb in callbacks:
            cb.before_step(step, models)
        if stream is not None:
            batch = stream.next(step)
            loss = models.batch_loss(batch.x[key_index], batch.task[key_index], batch.weight[key_index])
        else:  # the exact full-batch variant: the expected loss itself
            loss = (models.task_losses() * pi).sum(1)
        loss.sum().backward()  # members' losses are independent: each gets its own gradient
        if cfg.clip > 0:
            clipped += clip_per_member([p.grad for p in models.parameters().values()], cfg.clip)
        lr = lr_at(cfg.lr, step - 1, cfg.steps, cfg.warmup_steps, "inverse_sqrt")
        opt.step(torch.full((len(members),), lr, dtype=torch.float64, device=device))
        opt.zero_grad()
        models.apply_mask()
        for cb in callbacks:
            cb.after_step(step, models, loss.detach())
        if bar is not None:
            bar.update(1)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    for p in models.parameters().values():
        p.requires_grad_(False)
    return TrainedStack(models, list(members), cfg.steps, seconds, clipped.tolist())

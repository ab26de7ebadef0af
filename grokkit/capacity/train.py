"""Training every member of a capacity study in one stack: AdamW, inverse-square-root schedule, clipping.

Members are independent: their losses are summed before ``backward()`` (no gradient
mixes members), gradient clipping caps each member's own norm (its encoder and all its
decoders, as ``torch.nn.utils.clip_grad_norm_`` over one model's parameters), and the
optimiser is ``grokkit.optim.optimizers.StackOptimizer`` (torch's AdamW term for term, its
state per member). So a member of a stack of widths, seeds and β values follows the
trajectory it follows alone, up to float summation order (``tests/test_capacity_train.py``).

The trainer calls out: a ``StackCallback`` (``grokkit.capacity.callbacks``) sees the models before
and after every step; measures are taken by callbacks (``grokkit.capacity.measures``), never in here.

Going on: ``TrainedStack.state`` holds what the next step needs besides the weights (each member's
optimiser state, the data stream's generators, the clip counts; each piece names its own tensors), and
``train_stack(..., start=StackStart(step, W, decoders, state))`` continues from there: training n steps,
then going on to 2n, gives the very weights of training 2n in one go (``tests/test_capacity_views.py``).
The inverse-square-root schedule does not depend on the total number of steps, so nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from grokkit.capacity.callbacks import StackCallback
from grokkit.capacity.config import CapacityTrainConfig, Member, MixtureConfig
from grokkit.capacity.data import BatchStream, data_keys
from grokkit.capacity.mixture import frequencies
from grokkit.capacity.model import CapacityModels
from grokkit.errors import RunError
from grokkit.optim.optimizers import Hyper, StackOptimizer
from grokkit.optim.schedule import lr_at
from grokkit.train.step_loop import StepLoop

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
    state: dict[str, Tensor]
    """What training needs to go on bit for bit, besides the weights (``StackStart``)."""


@dataclass
class StackStart:
    """Where a stack's training goes on from: the steps taken, the weights then and ``TrainedStack.state``."""

    step: int
    """Steps already taken (the next is step + 1)."""
    W: Tensor
    """[I, N_max, D] the encoders after ``step`` steps."""
    decoders: Tensor
    """[I, N_max, K·d_T] the decoders after ``step`` steps."""
    state: dict[str, Tensor]
    """``TrainedStack.state`` of the training that stopped at ``step``."""


def stack_state(opt: StackOptimizer, stream: BatchStream | None, clipped: Tensor) -> dict[str, Tensor]:
    """The optimiser's state per member, the stream's generators and the clip counts, as named tensors."""
    out = {f"member{i}.{key}": value for i in range(len(opt.hypers)) for key, value in opt.state_of(i).items()}
    if stream is not None:
        out |= {f"stream.{key}": value for key, value in stream.state().items()}
    return out | {"clipped": clipped.cpu()}


def load_stack_state(state: dict[str, Tensor], opt: StackOptimizer, stream: BatchStream | None) -> Tensor:
    """Restore what ``stack_state`` wrote; returns the clip counts. A tensor missing or of another shape is a
    RunError (a state of another study)."""
    try:
        for i in range(len(opt.hypers)):
            prefix = f"member{i}."
            opt.load_state(i, {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
        if stream is not None:
            stream.load_state({k[len("stream."):]: v for k, v in state.items() if k.startswith("stream.")})
        clipped = state["clipped"]
        if clipped.shape != (len(opt.hypers),):
            raise ValueError(f"clipped has shape {tuple(clipped.shape)}")
    except (KeyError, ValueError, RuntimeError) as exc:
        raise RunError(f"the training state does not fit this study's models ({exc}); "
                       "it belongs to another study") from None
    return clipped.to(opt.t.device, torch.long)


def clip_per_member(grads: list[Tensor], clip: float) -> Tensor:
    """Scale each member's gradients (``[I, ...]`` tensors, in place) so their joint norm is at most ``clip``;
    returns ``[I]`` bool: which members were scaled."""
    norms = torch.stack([g.pow(2).flatten(1).sum(1) for g in grads]).sum(0).sqrt()  # [I]
    coef = (clip / (norms + CLIP_EPS)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))
    return norms > clip


def train_stack(members: list[Member], mix: MixtureConfig, cfg: CapacityTrainConfig,
                callbacks: list[StackCallback] = (), device: str | None = None, progress: bool = False,
                start: StackStart | None = None) -> TrainedStack:
    """Train every member up to step cfg.steps, all in one stack (see the module docstring); from ``start``
    when given, else from the members' initialisation."""
    device = device or cfg.resolve_device()
    models = CapacityModels.init(members, mix, device)
    first = 1
    if start is not None:
        models.load(start.W, start.decoders)
        first = start.step + 1
    for p in models.parameters().values():
        p.requires_grad_(True)
    keys, key_of = data_keys(members)
    key_index = torch.tensor(key_of, device=device)
    stream = BatchStream(keys, mix, cfg, device) if cfg.objective == "sampled" else None
    pi = torch.stack([frequencies(mix.K, m.beta) for m in members]).to(device, torch.float32)  # [I, K]
    hypers = [Hyper("adamw", cfg.weight_decay, cfg.beta1, cfg.beta2, eps=cfg.eps)] * len(members)
    opt = StackOptimizer(models.parameters(), hypers)
    clipped = torch.zeros(len(members), dtype=torch.long, device=device)
    if start is not None:
        clipped = load_stack_state(start.state, opt, stream)
    for cb in callbacks:
        cb.on_start(models, first - 1)
    loop = StepLoop(cfg.steps, f"{len(members)} models", progress, device, first=first)
    for step in loop:
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
    for p in models.parameters().values():
        p.requires_grad_(False)
    return TrainedStack(models, list(members), cfg.steps, loop.seconds, clipped.tolist(), stack_state(opt, stream, clipped))

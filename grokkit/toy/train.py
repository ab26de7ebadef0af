"""Full-batch AdamW training of many toy models at once.

AdamW is elementwise, so a stack of models on a leading instance axis follows,
model by model, the trajectory each would follow alone: nothing couples the
instances (no global clipping, no shared statistics). The optimiser and the
learning-rate schedule are the transformer engine's (``grokkit.optim``), with a
weight decay per instance (a swept setting); only the gradients are the toy
model's own, written by hand (``ToyModels.loss_and_grad``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from grokkit.optim.optimizers import Hyper, StackOptimizer
from grokkit.optim.schedule import lr_at as schedule_lr
from grokkit.toy.config import ToyInstance, ToyTrainConfig
from grokkit.toy.data import PointBatch, make_dataset, stack_points
from grokkit.toy.model import ToyModels
from grokkit.train.step_loop import StepLoop

_SCHEDULE = {"half": "cosine", "quarter": "cosine_quarter"}  # train.cosine → grokkit.optim.schedule


def lr_at(step: int, cfg: ToyTrainConfig) -> float:
    """Learning rate of 1-based ``step``: linear warm-up to cfg.lr, then cosine decay to 0 at cfg.steps."""
    return schedule_lr(cfg.lr, step - 1, cfg.steps, cfg.warmup_steps, _SCHEDULE[cfg.cosine])


class InstanceAdamW:
    """AdamW over ``[I, ...]`` parameters with a weight decay per instance, fed hand-written gradients.

    A thin adapter: the update is ``grokkit.optim.optimizers.StackOptimizer``'s (torch's AdamW, term for term).
    """

    def __init__(self, params: list[torch.Tensor], weight_decay: torch.Tensor, decay: list[bool], cfg: ToyTrainConfig):
        self.params = params
        named = {str(i): p for i, p in enumerate(params)}
        hypers = [Hyper("adamw", float(wd), cfg.beta1, cfg.beta2, eps=cfg.eps) for wd in weight_decay.tolist()]
        self.optimizer = StackOptimizer(named, hypers, decay={str(i): d for i, d in enumerate(decay)})

    def step(self, grads: list[torch.Tensor], lr: float) -> None:
        for p, g in zip(self.params, grads):
            p.grad = g
        self.optimizer.step(torch.full((len(self.optimizer.hypers),), lr, dtype=torch.float64,
                                       device=self.params[0].device))
        self.optimizer.zero_grad()


@dataclass
class TrainedModels:
    """A trained stack of toy models with their data and final losses.

    Not the engine's ``TrainResult`` (how one logged run ended): the toy keeps no run
    folder, so what it returns is the models themselves.
    """

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
) -> TrainedModels:
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
    loop = StepLoop(cfg.steps, f"{len(instances)} models", progress, device)
    for step in loop:
        out = models.loss_and_grad(train, grad=True, block_elements=cfg.block_elements)
        opt.step([out.grad_W, out.grad_b], lr_at(step, cfg))
        models.apply_mask()
    train_loss = models.loss_and_grad(train, grad=False, block_elements=cfg.block_elements).loss
    test_loss = models.loss_and_grad(test, grad=False, block_elements=cfg.block_elements).loss
    return TrainedModels(models, train, test, train_loss, test_loss, loop.seconds, cfg.steps)

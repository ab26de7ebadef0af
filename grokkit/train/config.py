"""Typed configuration of the optimiser and the training loop (reference defaults)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from grokkit.errors import ConfigError
from grokkit.optim.kinds import GROKFAST, OPTIMIZERS, grokfast_lambda
from grokkit.optim.schedule import SCHEDULES
from grokkit.train.cadence import CADENCES
from grokkit.train.device import DEVICES, resolve_device

LOSSES = ("softmax", "stablemax", "mse")  # see grokkit.model.loss
OPTIMIZER_STATE = ("every", "latest")  # which checkpoints keep optimizer.safetensors


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"train.{name}: must be an integer >= {minimum}, got {value!r}")


def _check_float(name: str, value: object, minimum: float = 0.0, maximum: float | None = None) -> None:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and value >= minimum
    if ok and maximum is not None:
        ok = value < maximum
    if not ok:
        upper = f" and < {maximum}" if maximum is not None else ""
        raise ConfigError(f"train.{name}: must be a finite number >= {minimum}{upper}, got {value!r}")


@dataclass
class TrainConfig:
    """Optimiser, schedule, logging and checkpointing of one training run."""

    steps: int = 25_000
    """Optimiser steps (one step = one epoch when full-batch)."""
    optimizer: str = "adamw"
    """adamw (reference), adam (L2 penalty in the gradient) or sgd (with momentum); see grokkit.optim.kinds."""
    lr: float = 1e-3
    """Peak learning rate."""
    weight_decay: float = 1.0
    """Decoupled weight decay for adamw; L2 coefficient for adam and sgd."""
    beta1: float = 0.9
    """Adam β1."""
    beta2: float = 0.98
    """Adam β2 (0.98 in the reference, not PyTorch's 0.999)."""
    momentum: float = 0.9
    """SGD momentum (sgd only)."""
    warmup_steps: int = 10
    """Linear warm-up from 0 to lr over this many steps (the paper's 10; the demo uses 0)."""
    warmup_from_zero: bool = False
    """False: update k (0-based) uses lr·min((k + 1)/warmup_steps, 1). True: lr·min(k/warmup_steps, 1),
    so the first update has lr 0, as the paper's ``LambdaLR(min(step/10, 1))`` gives."""
    schedule: str = "constant"
    """After warm-up: constant (reference), cosine or cosine_quarter (decay to 0 at the last step)."""
    batch_size: int | None = None
    """None: full batch (reference). An integer: shuffled mini-batches of this size."""
    eval_every: int = 100
    """Steps between evaluations (rows of the run's metrics log)."""
    checkpoint_every: int = 100
    """Steps between checkpoints (the reference's 100)."""
    eval_schedule: str = "even"
    """even: a metrics row every eval_every steps; log: eval_count log-spaced steps from 0 to steps
    (for long runs; see grokkit.train.cadence). The last step is always evaluated."""
    eval_count: int = 300
    """Evaluations of a log eval_schedule, first and last step included (ignored by even)."""
    checkpoint_schedule: str = "even"
    """even: a checkpoint every checkpoint_every steps; log: checkpoint_count log-spaced steps from 0
    to steps (a 10⁶-step run keeps a few hundred). The last step is always checkpointed."""
    checkpoint_count: int = 300
    """Checkpoints of a log checkpoint_schedule, first and last step included (ignored by even)."""
    early_stop_after: int | None = None
    """Stop this many steps after test accuracy first reaches early_stop_acc (None: never)."""
    early_stop_acc: float = 0.99
    """Test accuracy that counts as generalised for early stopping."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""
    seed: int = 0
    """Seed of the training RNG (mini-batch order); the init has its own seed in [model]."""
    loss: str = "softmax"
    """Training loss: softmax cross-entropy (reference), stablemax (Prieto et al.) or mse (mean squared error
    on one-hot targets, Gromov 2023); metrics always log softmax."""
    grokfast: str = "none"
    """Grokfast gradient filter: none (reference), ema or ma (moving average); see grokkit.optim.filters."""
    grokfast_alpha: float = 0.98
    """Grokfast EMA decay α, in [0, 1)."""
    grokfast_lamb: float | None = None
    """Grokfast amplification λ >= 0; None: the filter's suggested value (ema 2, ma 5)."""
    grokfast_window: int = 100
    """Grokfast MA window (gradients averaged), >= 1."""
    orthograd: bool = False
    """⊥Grad: project each gradient orthogonal to its weight and restore its norm (Prieto et al.)."""
    optimizer_state: str = "every"
    """Which checkpoints keep the optimiser state (and RNG): every one, or only the latest (the one
    resume needs; the rest keep weights and metadata, about a third of the disk at p = 113)."""

    def __post_init__(self) -> None:
        _check_int("steps", self.steps, 0)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"train.optimizer: must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        _check_float("lr", self.lr)
        _check_float("weight_decay", self.weight_decay)
        _check_float("beta1", self.beta1, 0.0, 1.0)
        _check_float("beta2", self.beta2, 0.0, 1.0)
        _check_float("momentum", self.momentum, 0.0, 1.0)
        _check_int("warmup_steps", self.warmup_steps, 0)
        if not isinstance(self.warmup_from_zero, bool):
            raise ConfigError(f"train.warmup_from_zero: must be true or false, got {self.warmup_from_zero!r}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"train.schedule: must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.batch_size is not None:
            _check_int("batch_size", self.batch_size, 1)
        _check_int("eval_every", self.eval_every, 1)
        _check_int("checkpoint_every", self.checkpoint_every, 1)
        for name in ("eval_schedule", "checkpoint_schedule"):
            if getattr(self, name) not in CADENCES:
                raise ConfigError(f"train.{name}: must be one of {', '.join(CADENCES)}, got {getattr(self, name)!r}")
        _check_int("eval_count", self.eval_count, 2)
        _check_int("checkpoint_count", self.checkpoint_count, 2)
        if self.early_stop_after is not None:
            _check_int("early_stop_after", self.early_stop_after, 0)
        _check_float("early_stop_acc", self.early_stop_acc, 0.0, 1.0 + 1e-12)
        if self.device not in DEVICES:
            raise ConfigError(f"train.device: must be one of {', '.join(DEVICES)}, got {self.device!r}")
        _check_int("seed", self.seed, 0)
        if self.loss not in LOSSES:
            raise ConfigError(f"train.loss: must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.grokfast not in GROKFAST:
            raise ConfigError(f"train.grokfast: must be one of {', '.join(GROKFAST)}, got {self.grokfast!r}")
        _check_float("grokfast_alpha", self.grokfast_alpha, 0.0, 1.0)
        if self.grokfast_lamb is not None:
            _check_float("grokfast_lamb", self.grokfast_lamb)
        _check_int("grokfast_window", self.grokfast_window, 1)
        if not isinstance(self.orthograd, bool):
            raise ConfigError(f"train.orthograd: must be true or false, got {self.orthograd!r}")
        if self.optimizer_state not in OPTIMIZER_STATE:
            raise ConfigError(f"train.optimizer_state: must be one of {', '.join(OPTIMIZER_STATE)}, "
                              f"got {self.optimizer_state!r}")

    @property
    def grokfast_lambda(self) -> float:
        """λ in effect: grokfast_lamb, or the chosen filter's suggested value (grokkit.optim.kinds)."""
        return grokfast_lambda(self)

    def resolve_device(self) -> str:
        return resolve_device(self.device)

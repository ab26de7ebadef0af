"""The learning rate of each update: linear warm-up, then constant, cosine or inverse-square-root decay."""

from __future__ import annotations

import math

SCHEDULES = ("constant", "cosine", "cosine_quarter", "inverse_sqrt")


def lr_at(lr: float, step: int, steps: int, warmup_steps: int = 0, schedule: str = "constant",
          warmup_from_zero: bool = False) -> float:
    """Learning rate of the update taken at 0-based ``step`` (the ``step``-th update, counting from 0).

    Warm-up: ``lr·min((step + 1)/warmup_steps, 1)``, or with ``warmup_from_zero``
    ``lr·min(step/warmup_steps, 1)`` (PyTorch's ``LambdaLR(min(s/w, 1))``, whose first update has
    lr 0, as in the progress-measures paper). After warm-up, with u = (step + 1 − w)/(steps − w):
    constant; cosine, ``lr·½(1 + cos(π·u))``; or a quarter cosine, ``lr·cos(π·u/2)``; both reach 0
    at ``steps``; or the inverse square root, ``lr·√(max(w, 1)/(step + 1))`` (lr at the end of warm-up,
    then falling as 1/√t, never reaching 0).
    """
    done = step if warmup_from_zero else step + 1
    if warmup_steps and done < warmup_steps:
        return lr * done / warmup_steps
    if schedule == "constant":
        return lr
    if schedule == "inverse_sqrt":
        return lr * math.sqrt(max(warmup_steps, 1) / (step + 1))
    u = min(max((step + 1 - warmup_steps) / max(1, steps - warmup_steps), 0.0), 1.0)
    if schedule == "cosine_quarter":
        return lr * math.cos(0.5 * math.pi * u)
    return lr * 0.5 * (1.0 + math.cos(math.pi * u))

"""Sum of squared weights: what weight decay pushes down, falling fast during cleanup."""

from __future__ import annotations

from typing import NamedTuple

from grokkit.measures.base import Context, Measure


class WeightNorm(NamedTuple):
    weight_norm: float
    weight_norm_per_param: dict[str, float]  # {"W_E": Σ W_E², …}


def weight_norm(ctx: Context) -> WeightNorm:
    """Σ θ² over every trained parameter (total), and per parameter (TransformerLens names: W_E, W_in, …).

    Frozen biases (always 0 in the demo setting) are left out; trained MLP biases are included.
    """
    per, seen = {}, set()
    for name, value in ctx.weights._asdict().items():
        if hasattr(value, "requires_grad") and value.requires_grad and id(value) not in seen:
            seen.add(id(value))  # a shared MLP embedding is both W_E_a and W_E_b: counted once
            per[name] = value.detach().double().square().sum().item()
    return WeightNorm(sum(per.values()), per)


WEIGHT_NORM = Measure("weight_norm", weight_norm, WeightNorm)

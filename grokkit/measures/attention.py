"""Attention from ``=`` to each operand, per head."""

from __future__ import annotations

from typing import NamedTuple

from grokkit.measures.base import Context, Measure


class Attention(NamedTuple):
    attn_eq_to_a: list[float]  # one entry per head
    attn_eq_to_b: list[float]


def attention(ctx: Context) -> Attention:
    """mean_inputs pattern[h, q = '=', k = a] and […, k = b] from ``blocks.0.attn.hook_pattern``, per head h."""
    pattern = ctx.act.pattern.double().mean(dim=0)  # [n_heads, n_ctx]
    return Attention(pattern[:, 0].tolist(), pattern[:, 1].tolist())


ATTENTION = Measure("attention", attention, Attention, model_kinds=("transformer",), why_not="no attention")

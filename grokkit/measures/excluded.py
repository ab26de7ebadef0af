"""Excluded loss: the train loss once the key-frequency directions are removed from the logits."""

from __future__ import annotations

from typing import NamedTuple

from grokkit.analysis.fourier import project
from grokkit.measures.base import Context, Measure
from grokkit.train.trainer import loss_and_acc


class Excluded(NamedTuple):
    excluded_loss: float
    excluded_acc: float
    excluded_loss_per_freq: dict[str, float]  # {"k": loss with only frequency k removed}


def excluded(ctx: Context) -> Excluded:
    """Train loss of the logits with the key (a±b) directions removed (grokking.md §3).

    L_ex = L − Σ_{k∈K} P_k(L), P_k(L) = c_k c_kᵀ L + s_k s_kᵀ L with c_k ∝ cos(ω_k(a±b)),
    s_k ∝ sin(ω_k(a±b)) unit vectors over the p² grid; cross-entropy (float64) on the TRAIN
    rows only, no bias correction. The per-frequency version removes one k at a time.
    """
    L, D, run = ctx.logits, ctx.directions, ctx.run  # [N, p], [N, 2|K|]
    rows, y = run.train, run.labels[run.train]
    loss, acc = loss_and_acc((L - project(D, L))[rows], y)
    per_freq = {}
    for i, k in enumerate(ctx.key_freqs):
        D_k = D[:, 2 * i : 2 * i + 2]  # columns come in (c_k, s_k) pairs
        per_freq[str(k)] = loss_and_acc((L - project(D_k, L))[rows], y)[0].item()
    return Excluded(loss.item(), acc.item(), per_freq)


EXCLUDED = Measure("excluded", excluded, Excluded, fourier=True)

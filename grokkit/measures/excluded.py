"""Excluded loss: the train loss once the key-frequency directions are removed from the logits."""

from __future__ import annotations

from typing import NamedTuple

from grokkit.measures.base import Context, Measure
from grokkit.model.loss import loss_and_acc


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
    run, C = ctx.run, ctx.key_coeffs  # C = Dᵀ L over the whole grid, [2|K|, p]
    rows, y = run.train, run.labels[run.train]
    L = ctx.logits[rows]  # only the train rows are scored, so only they are edited
    D = run.memo(("train_directions", tuple(ctx.key_freqs)), lambda: ctx.directions[rows])  # [n_train, 2|K|]
    loss, acc = loss_and_acc(L - D @ C, y)
    per_freq = {}
    for i, k in enumerate(ctx.key_freqs):
        pair = slice(2 * i, 2 * i + 2)  # columns come in (c_k, s_k) pairs
        per_freq[str(k)] = loss_and_acc(L - D[:, pair] @ C[pair], y)[0].item()
    return Excluded(loss.item(), acc.item(), per_freq)


EXCLUDED = Measure("excluded", excluded, Excluded, fourier=True)

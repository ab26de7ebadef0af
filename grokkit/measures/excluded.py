"""Excluded loss: the train loss once the key-frequency (key-component) directions are removed from the logits."""

from __future__ import annotations

from typing import NamedTuple

from grokkit.measures.base import Context, Measure
from grokkit.model.loss import loss_and_acc


class Excluded(NamedTuple):
    excluded_loss: float
    excluded_acc: float
    excluded_loss_per_freq: dict[str, float]  # {"k": loss with only frequency k removed}


def excluded(ctx: Context) -> Excluded:
    """Train loss of the logits with the key directions removed (Nanda et al. 2023, *Progress
    measures for grokking*, section "Progress measures").

    L_ex = L − Σ_{k∈K} P_k(L), P_k(L) = D_k D_kᵀ L with D_k the unit vectors of component k
    over the grid (over Z_p: c_k ∝ cos(ω_k(a±b)), s_k ∝ sin(ω_k(a±b))); cross-entropy
    (float64) on the TRAIN rows of the group grid only (every train row for add and sub; for
    mul and div those with non-zero operands), no bias correction. The per-frequency
    version removes one component k at a time.
    """
    run, C = ctx.run, ctx.key_coeffs  # C = Dᵀ L over the whole grid, [m, n_symbols]
    rows = run.grid.train
    y = run.labels[run.grid.rows[rows]]
    L = ctx.grid_logits[rows]  # only the train rows are scored, so only they are edited
    key = tuple(ctx.key_freqs)
    D = run.memo(("train_directions", key), lambda: ctx.directions.D[rows])  # [n_train, m]
    loss, acc = loss_and_acc(L - D @ C, y)
    per_freq = {}
    for k, cols in zip(ctx.key_freqs, ctx.directions.slices):  # the columns of component k
        per_freq[str(k)] = loss_and_acc(L - D[:, cols] @ C[cols], y)[0].item()
    return Excluded(loss.item(), acc.item(), per_freq)


EXCLUDED = Measure("excluded", excluded, Excluded, needs="circuit")

"""Restricted loss: the loss of the logits kept only along the key-frequency directions."""

from __future__ import annotations

from typing import NamedTuple

from grokkit.analysis.keys import restricted_logits
from grokkit.measures.base import Context, Measure
from grokkit.model.loss import loss_and_acc


class Restricted(NamedTuple):
    restricted_loss: float  # over all rows of the group grid (the paper: all p²)
    restricted_acc: float
    restricted_loss_test: float  # over the test rows (the TransformerLens demo)
    restricted_acc_test: float


def restricted(ctx: Context) -> Restricted:
    """Loss of the logits projected onto the key directions, bias-corrected (Nanda et al. 2023,
    *Progress measures for grokking*, section "Progress measures").

    L_r = Σ_{k∈K} P_k(L) + mean_inputs(L − Σ_{k∈K} P_k(L)) (the per-class mean keeps the
    constant term); cross-entropy (float64) over all rows of the group grid, and over its
    test rows (all p² rows for add and sub; the (p−1)² with non-zero operands for mul, div).
    """
    L, run, grid = ctx.grid_logits, ctx.run, ctx.run.grid
    kept = ctx.directions.D @ ctx.key_coeffs  # Σ_k P_k(L)
    L_r = restricted_logits(L, kept)
    y = run.labels[grid.rows]
    loss, acc = loss_and_acc(L_r, y)
    loss_test, acc_test = loss_and_acc(L_r[grid.test], y[grid.test])
    return Restricted(loss.item(), acc.item(), loss_test.item(), acc_test.item())


RESTRICTED = Measure("restricted", restricted, Restricted, needs="circuit")

"""Restricted loss: the loss of the logits kept only along the key-frequency directions."""

from __future__ import annotations

from typing import NamedTuple

from grokkit.measures.base import Context, Measure
from grokkit.model.loss import loss_and_acc


class Restricted(NamedTuple):
    restricted_loss: float  # over all p² rows (the paper)
    restricted_acc: float
    restricted_loss_test: float  # over the test rows (the TransformerLens demo)
    restricted_acc_test: float


def restricted(ctx: Context) -> Restricted:
    """Loss of the logits projected onto the key (a±b) directions, bias-corrected (grokking.md §3).

    L_r = Σ_{k∈K} P_k(L) + mean_inputs(L − Σ_{k∈K} P_k(L)) (the per-class mean keeps the
    constant term); cross-entropy (float64) over all rows, and over the test rows.
    """
    L, run = ctx.logits, ctx.run
    kept = ctx.directions @ ctx.key_coeffs  # Σ_k P_k(L)
    L_r = kept + (L - kept).mean(dim=0, keepdim=True)
    loss, acc = loss_and_acc(L_r, run.labels)
    loss_test, acc_test = loss_and_acc(L_r[run.test], run.labels[run.test])
    return Restricted(loss.item(), acc.item(), loss_test.item(), acc_test.item())


RESTRICTED = Measure("restricted", restricted, Restricted, fourier=True)

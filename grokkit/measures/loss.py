"""Train and test loss and accuracy over the whole grid."""

from __future__ import annotations

from typing import NamedTuple

from grokkit.measures.base import Context, Measure
from grokkit.model.loss import loss_and_acc


class Losses(NamedTuple):
    train_loss: float
    test_loss: float
    train_acc: float
    test_acc: float


def losses(ctx: Context) -> Losses:
    """Cross-entropy (float64) and accuracy of the last-position logits on the train and test rows.

    loss = −mean_r log softmax(L_r)[y_r] over the rows of each split; acc = mean_r [argmax L_r = y_r].
    """
    L, y, run = ctx.logits, ctx.run.labels, ctx.run
    train_loss, train_acc = loss_and_acc(L[run.train], y[run.train])
    test_loss, test_acc = loss_and_acc(L[run.test], y[run.test])
    return Losses(train_loss.item(), test_loss.item(), train_acc.item(), test_acc.item())


LOSS = Measure("loss", losses, Losses)

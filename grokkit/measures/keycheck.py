"""The self-check of the key components: on a grokked checkpoint the keys must carry the logits.

After grokking the circuit is what predicts, so the logits kept along the key directions
(restricted loss) must do about as well as the model: a restricted loss above the test loss
(a fortiori above the uniform guess ln(classes)) means the keys miss part of the circuit. The check
then looks for the better set: components added largest logit share first
(``grokkit.analysis.keys``) until the restricted loss is no longer above the test loss.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import torch

from grokkit.analysis.groups import component_logit_shares, key_directions
from grokkit.analysis.keys import explained_share
from grokkit.measures.milestones import has_grokked
from grokkit.model.loss import loss_and_acc


class KeyWarning(UserWarning):
    """The key components of a grokked run do not carry its logits."""


class KeyCheck(NamedTuple):
    """A failed self-check: what the keys gave, and the set that does better."""

    step: int
    keys: list[int]
    restricted_loss: float
    test_loss: float
    better: list[int]  # the components, largest logit share first, until restricted loss ≤ test loss
    better_explained: float  # their share of the centred logit table
    better_loss: float  # their restricted loss

    @property
    def message(self) -> str:
        return (f"key components {self.keys} do not carry the logits of this grokked run: at step {self.step} "
                f"their restricted loss {self.restricted_loss:.3g} is above the test loss {self.test_loss:.3g}; "
                f"the components {self.better} explain {self.better_explained:.2f} of the logit table and give "
                f"restricted loss {self.better_loss:.3g} (pass --key-freqs {','.join(map(str, self.better))})")


def keys_fail(row: dict[str, Any]) -> bool:
    """Whether a measures row is grokked (test_acc ≥ 0.99) and its restricted loss is above its test loss.

    (A grokked run's test loss is far below ln(classes), the uniform guess, so this also catches
    keys that predict worse than guessing.)"""
    if not has_grokked(row) or row.get("restricted_loss") is None or row.get("test_loss") is None:
        return False
    return row["restricted_loss"] > row["test_loss"]


def restricted_loss(grid_logits: torch.Tensor, y: torch.Tensor, D: torch.Tensor) -> float:
    """Restricted loss of the grid logits ``[n*n, classes]`` kept along the orthonormal columns of ``D``."""
    from grokkit.measures.restricted import restricted_logits

    return loss_and_acc(restricted_logits(grid_logits, D @ (D.T @ grid_logits)), y)[0].item()


def better_keys(basis: Any, labels: torch.Tensor, grid_logits: torch.Tensor, y: torch.Tensor, target: float
                ) -> tuple[list[int], float, float]:
    """Components added largest logit share first until the restricted loss ≤ ``target``.

    Returns (keys ascending, their explained share, their restricted loss); all components
    when no smaller set reaches the target.
    """
    L = grid_logits.double()
    shares = component_logit_shares(basis, labels, L)
    order = [int(i) + 1 for i in torch.argsort(shares, descending=True, stable=True)]
    dirs = key_directions(basis, labels, order)
    loss = math.inf
    for n, cols in enumerate(dirs.slices, 1):
        loss = restricted_loss(L, y, dirs.D[:, : cols.stop])
        if loss <= target:
            break
    keys = sorted(order[:n])
    return keys, explained_share(shares, keys), loss


def check_keys(ctx: Any, row: dict[str, Any]) -> KeyCheck | None:
    """The self-check on one checkpoint (``ctx``, a ``grokkit.measures.base.Context``) and its measures row:
    None when the row is not grokked or its keys carry the logits, else the better set."""
    if not keys_fail(row):
        return None
    run = ctx.run
    y = run.labels[run.grid.rows]
    better, explained, loss = better_keys(run.basis, run.grid.labels, ctx.grid_logits, y, row["test_loss"])
    return KeyCheck(ctx.step, list(row["key_freqs"]), row["restricted_loss"], row["test_loss"], better, explained,
                    loss)


def warn(check: KeyCheck | None) -> None:
    """A ``KeyWarning`` with the check's message (nothing when the check passed)."""
    if check is not None:
        warnings.warn(check.message, KeyWarning, stacklevel=3)

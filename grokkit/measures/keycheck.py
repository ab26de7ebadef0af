"""The self-check of the key components: on a grokked checkpoint the keys must carry the logits.

After grokking the circuit is what predicts, so the logits kept along the key directions
(restricted loss) must do about as well as the model: a restricted loss above the test loss
(a fortiori above the uniform guess ln(classes)) means the keys miss part of the circuit. The check
then looks for the better set: components added largest logit share first
(``grokkit.analysis.keys``) until the restricted loss is no longer above the test loss.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import torch

from grokkit.analysis.groups.base import component_logit_shares
from grokkit.analysis.keys import carrying_keys, explained_share
from grokkit.measures.milestones import has_grokked


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


def better_keys(basis: Any, labels: torch.Tensor, grid_logits: torch.Tensor, targets: torch.Tensor, target: float
                ) -> tuple[list[int], float, float]:
    """Components added largest logit share first until the restricted loss ≤ ``target``
    (``grokkit.analysis.keys.carrying_keys``): (keys ascending, their explained share, their restricted loss)."""
    shares = component_logit_shares(basis, labels, grid_logits.double())
    found = carrying_keys(basis, labels, grid_logits, targets, target, shares=shares)
    return found.keys, explained_share(shares, found.keys), found.restricted_loss


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

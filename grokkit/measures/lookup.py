"""The lookup-table signature of memorisation, per input: how many MLP neurons each input row fires.

The lottery-ticket vs random-walk debate asks whether memorised inputs are served by a
sparse, input-specific set of neurons (a lookup table) while generalised ones use the
shared circuit. So instead of one average (``mlp_sparsity``) this measure splits the
inputs:

- ``train`` / ``test``: the split;
- ``memorised``: train rows still answered correctly once the key directions are removed
  from the logits (the excluded logits of ``excluded``) — the model does not need its
  circuit for them;
- ``generalised``: train rows answered correctly, but wrongly once the key directions are
  removed — the circuit carries them.

Rows outside the group grid (mul and div with a 0 operand) are in train/test only.

With the square activation (``model.act_fn = "square"``) "a neuron fires" means nothing: x² is positive
wherever its input is not exactly 0, so every row would fire ≈ every neuron whatever the network computes
(the reason ``mlp_sparsity`` is skipped for square). There ``lookup_active_frac`` is left empty ({}); the
memorised and generalised shares do not read the activations and are kept.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from grokkit.measures.base import Context, Measure


# activation functions whose output is > 0 for almost every input: "the share of neurons firing" is ≈ 1 always
NO_FIRING = ("square",)


class LookupSignature(NamedTuple):
    lookup_active_frac: dict[str, float]  # mean over the rows of each kind of the share of neurons firing; {} for x²
    lookup_memorised_frac: float  # share of train rows (of the group grid) that are memorised
    lookup_generalised_frac: float  # share of train rows (of the group grid) that are generalised


def lookup_signature(ctx: Context) -> LookupSignature:
    """Per row r, a_r = #{neurons with post-activation > 0 at '='} / d_mlp; its mean over each kind of row.

    Kinds: train, test, memorised (train rows with argmax L_ex = y, L_ex = L − Σ_k P_k(L) the
    excluded logits), generalised (train rows with argmax L = y but argmax L_ex ≠ y). A kind with
    no row is left out of ``lookup_active_frac``; with act_fn square it is empty (see the module docstring).
    """
    run, grid = ctx.run, ctx.run.grid
    active = (ctx.act.post > 0).double().mean(dim=1)  # [N] share of neurons each input fires
    rows = grid.rows[grid.train]  # dataset rows of the grid's train positions
    y = run.labels[rows]
    L = ctx.grid_logits[grid.train]
    D = run.memo(("train_directions", tuple(ctx.key_freqs)), lambda: ctx.directions.D[grid.train])
    excluded_right = (L - D @ ctx.key_coeffs).argmax(-1) == y
    right = L.argmax(-1) == y
    kinds = {"train": run.train, "test": run.test, "memorised": rows[excluded_right],
             "generalised": rows[right & ~excluded_right]}
    fires = ctx.weights is None or ctx.weights.act_fn not in NO_FIRING
    means = {name: active[idx].mean().item() for name, idx in kinds.items() if len(idx)} if fires else {}
    n = max(len(rows), 1)
    return LookupSignature(means, int(excluded_right.sum()) / n, int((right & ~excluded_right).sum()) / n)


LOOKUP_SIGNATURE = Measure("lookup_signature", lookup_signature, LookupSignature, needs="circuit")

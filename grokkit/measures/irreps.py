"""Chughtai, Chan and Nanda 2023 ("A toy model of universality"): how much of each weight and of the logits
each irreducible representation (each component of the task's group basis) explains.

Over a compose task the components are the real irreps computed from the group's table
(``grokkit.analysis.groups.irreps``), over the S5 ops the same computed irreps of S5. Every share is a fraction of a
centred squared norm, so the shares of one quantity add up to ≤ 1 (the rest is the constant
part, or, for the neurons and the logits, what no single component's block holds).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from grokkit.analysis.fourier import FourierBasis, frequency_block_shares
from grokkit.analysis.groups.base import component_logit_shares
from grokkit.measures.base import Context, Measure


class IrrepShares(NamedTuple):
    irrep_embed: dict[str, float]  # {"k": share of the centred embedding of the group's elements in component k}
    irrep_unembed: dict[str, float]  # {"k": … of the centred unembedding W_U (the output classes)}
    irrep_neurons: dict[str, float]  # {"k": … of the centred neuron activations, in the (const ∪ k)² blocks}
    irrep_logits: dict[str, float]  # {"k": … of the centred logit table along k's key directions (logit attribution)}


def row_shares(basis: FourierBasis, X: Tensor) -> Tensor:
    """``[n_freqs]``: Σ_{r ∈ k} ‖(F X)_r‖² / Σ_{r ≠ const} ‖(F X)_r‖² for ``X [n, d]`` indexed by group element."""
    T = basis.F.to(torch.float64) @ X.double()  # [n, d]
    mass = torch.zeros(basis.n_freqs + 1, dtype=torch.float64, device=X.device)
    mass.index_add_(0, torch.tensor(basis.freqs, device=X.device), T.square().sum(1))
    return mass[1:] / mass[1:].sum().clamp_min(1e-30)


def neuron_shares(basis: FourierBasis, acts: Tensor) -> Tensor:
    """``[n_freqs]``: each component's share of Σ_neurons ‖N_n − mean‖² (``frequency_block_shares`` weighted by mass)."""
    acts = acts.double()
    per_neuron = frequency_block_shares(basis, acts)  # [n_freqs, d_mlp]
    mass = acts.square().sum(0) - acts.sum(0).square() / len(acts)  # [d_mlp]: centred squared mass
    return (per_neuron * mass).sum(1) / mass.sum().clamp_min(1e-30)


def irrep_shares(ctx: Context) -> IrrepShares:
    """The share of each irrep (component k) in the embeddings, the unembedding, the neurons and the logits.

    embed: X = W_E[elements] ([W_E_a | W_E_b] for an MLP), share_k = ‖F_k X‖² / ‖(I − const) X‖² with F_k
    component k's basis rows. unembed: the same for W_U's rows of the elements (the output classes).
    neurons: the neurons' post-activations at '=' over the grid, each neuron's centred mass split by
    ``frequency_block_shares`` (its (const ∪ k)² block of F·N·Fᵀ), summed over neurons weighted by mass.
    logits: ``component_logit_shares``, ‖D_kᵀ (L − mean)‖² / ‖L − mean‖², the logit attribution whose
    largest components the key rule keeps (Chughtai et al.'s per-irrep logit attribution).
    """
    run, w = ctx.run, ctx.weights
    basis, symbols = run.basis, run.group.symbols
    shares = (
        row_shares(basis, w.W_E.detach()[symbols]),
        row_shares(basis, w.W_U.detach()[symbols]),
        neuron_shares(basis, ctx.act.post[run.grid.rows]),
        component_logit_shares(basis, run.grid.labels, ctx.grid_logits),
    )
    as_dict = lambda s: {str(k + 1): float(v) for k, v in enumerate(s.tolist())}  # noqa: E731
    return IrrepShares(*(as_dict(s) for s in shares))


IRREP_SHARES = Measure("irrep_shares", irrep_shares, IrrepShares, needs="circuit", kinds=("finite", "s5"))
"""Defined for the groups of irreps (compose, the S5 ops); over Z_p the same shares are the frequency spectra that
the embedding and neuron figures already show."""

__all__ = ["IRREP_SHARES", "IrrepShares", "irrep_shares", "neuron_shares", "row_shares"]

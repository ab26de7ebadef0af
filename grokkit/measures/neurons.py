"""MLP neurons: how many are explained by one frequency, and how many fire per input."""

from __future__ import annotations

from typing import NamedTuple

import torch

from grokkit.analysis.fourier import neuron_freq_clusters
from grokkit.measures.base import Context, Measure


class NeuronsExplained(NamedTuple):
    frac_neurons_explained: float


def neurons_explained(ctx: Context) -> NeuronsExplained:
    """Fraction of MLP neurons whose centred activation grid has > 85 % of its squared mass in one frequency.

    share_k(n) = ‖(F·N_n·Fᵀ) restricted to {const, cos k, sin k}², minus (const, const)‖² / ‖N_n − mean‖²
    over the post-ReLU activations N_n at the last position; explained when max_k share_k > 0.85.
    In the task's group basis over the group grid (components instead of frequencies over S5).
    """
    clusters = neuron_freq_clusters(ctx.run.basis, ctx.act.post[ctx.run.grid.rows].float())
    return NeuronsExplained(clusters.explained.double().mean().item())


class MlpSparsity(NamedTuple):
    mlp_active_frac: float


def mlp_sparsity(ctx: Context) -> MlpSparsity:
    """Mean over inputs of the fraction of MLP neurons with post-activation > 0 at the last position.

    A lookup table fires few neurons per input; the generalising circuit uses many. Not defined for the
    square activation: x² is positive wherever the pre-activation is not exactly 0, so the share would be
    ≈ 1 whatever the network computes (``act_fns``; ``info`` and ``measure`` say so in one line).
    """
    post = ctx.act.post
    return MlpSparsity(torch.count_nonzero(post > 0).item() / post.numel())


NEURONS_EXPLAINED = Measure("neurons_explained", neurons_explained, NeuronsExplained, needs="basis")
MLP_SPARSITY = Measure("mlp_sparsity", mlp_sparsity, MlpSparsity, act_fns=("relu", "gelu"),
                       why_not="counts neurons with post-activation > 0, and x² is > 0 wherever its input is not "
                               "exactly 0: the share is ≈ 1 whatever the network computes")

"""Clock or Pizza: the two measures of Zhong, Liu, Tegmark and Andreas (2023) that tell the algorithms apart.

On a + b mod p the Clock algorithm (Nanda et al.) multiplies the two tokens' rotations:
its correct-answer logit does not depend on the distance a − b, and its logit gradients
with respect to the two input embeddings differ. The Pizza algorithm averages the two
embeddings first: its correct logit carries |cos(ω(a − b)/2)|, and since the output
depends on E_a + E_b the two gradients coincide. Hence, as in the paper and its code
(github.com/fjzzq2002/pizza):

- ``gradient symmetricity`` = mean over sampled (a, b, c) of cos(∂L_c/∂E_a, ∂L_c/∂E_b):
  Pizza ≈ 1, Clock lower;
- ``distance irrelevance`` q = mean_d std_{a−b=d}(L_{y}(a, b)) / std_{a,b}(L_{y}(a, b)) over
  the correct-answer logit L_y: Clock ≈ 1, Pizza low.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from grokkit.analysis.fourier import FourierNotApplicable
from grokkit.measures.base import Context, Measure, MeasureError
from grokkit.model import forward

N_SAMPLES = 100
"""Triples (a, b, c) averaged over, as in the paper's code (100 random triples)."""
SAMPLE_SEED = 0


class GradientSymmetricity(NamedTuple):
    gradient_symmetricity: float


def gradient_symmetricity(ctx: Context) -> GradientSymmetricity:
    """mean over 100 seeded triples (a, b, c) of cos(∂L_c/∂E_a, ∂L_c/∂E_b), L_c the logit of class c at '='.

    E_a, E_b are the embedding vectors at the two operand positions; c is drawn uniformly
    over the classes, not only the correct one (the paper's choice). So that one backward
    pass gives every input's own gradients, each sampled input gets two private tokens
    whose embedding rows are copies of W_E[a] and W_E[b]: the gradient of that row is the
    gradient with respect to E_a (E_b) of that input alone.
    """
    run = ctx.run
    rows, classes = run.memo("symmetricity_samples", lambda: _samples(run))
    params = _params_of(ctx.weights)
    n, tokens = len(rows), run.tokens[rows]  # [S, n_ctx]
    W_E = params.W_E.detach()  # [1, d_vocab, d_model]: a stack of one
    d_vocab = W_E.shape[1]
    private = torch.cat([W_E[:, tokens[:, 0]], W_E[:, tokens[:, 1]]], dim=1).requires_grad_(True)  # [1, 2S, d]
    own = torch.arange(n, device=tokens.device)
    tokens = tokens.clone()
    tokens[:, 0], tokens[:, 1] = d_vocab + own, d_vocab + n + own
    with torch.enable_grad():
        logits = forward.last_logits(params._replace(W_E=torch.cat([W_E, private], dim=1)), tokens)  # [1, S, out]
        logits[0, own, classes].sum().backward()
    g = private.grad[0].double()  # [2S, d_model]
    cos = torch.nn.functional.cosine_similarity(g[:n], g[n:], dim=-1)
    return GradientSymmetricity(cos.mean().item())


def _samples(run) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(SAMPLE_SEED)
    rows = torch.randint(len(run.labels), (N_SAMPLES,), generator=generator)
    classes = torch.randint(run.p, (N_SAMPLES,), generator=generator)
    return rows.to(run.device), classes.to(run.device)


def _params_of(weights: Any) -> forward.Params:
    params = getattr(weights, "params", None)
    if params is None:
        raise MeasureError("gradient_symmetricity: needs the model's weights (gradients of the logits), "
                           "not a logit table alone")
    return params


class DistanceIrrelevance(NamedTuple):
    distance_irrelevance: float


def distance_irrelevance(ctx: Context) -> DistanceIrrelevance:
    """q = mean_d std_{a−b=d}(L_y) / std(L_y) over the correct-answer logit L_y of every pair of the group grid.

    The paper tabulates L_y by (a + b, a − b) and averages the per-distance standard deviation
    (population std, ``np.std``). Over a cyclic group in its own coordinates i, j (the discrete
    logarithms for mul and div) with answer i ± j, the "distance" is the other combination,
    i ∓ j. Defined for add, sub, mul and div.
    """
    run = ctx.run
    distance = run.memo("distance", lambda: _distance(run))
    correct = ctx.grid_logits.gather(1, run.labels[run.grid.rows][:, None]).squeeze(1)  # [n*n]
    n = run.group.n
    counts = torch.bincount(distance, minlength=n).to(correct.dtype)  # n pairs at each distance
    mean = torch.zeros(n, dtype=correct.dtype, device=correct.device).index_add_(0, distance, correct) / counts
    spread = torch.zeros_like(mean).index_add_(0, distance, (correct - mean[distance]).square())
    std_within = (spread / counts).sqrt()  # [n]: population std at each distance (two passes: exact zeros)
    total = correct.std(unbiased=False)
    return DistanceIrrelevance((std_within.mean() / total.clamp_min(1e-30)).item())


def _distance(run) -> Tensor:
    """``[n*n]``: i − j where the answer is i + j, i + j where it is i − j (group coordinates)."""
    group = run.group
    if group.kind not in ("cyclic", "multiplicative"):
        raise FourierNotApplicable(f"distance_irrelevance: defined for a cyclic group (add, sub, mul, div), "
                                   f"not {group.name}")
    n = group.n
    i = torch.arange(n, device=run.device).repeat_interleave(n)
    j = torch.arange(n, device=run.device).repeat(n)
    if torch.equal(run.grid.labels, (i + j) % n):
        return (i - j) % n
    return (i + j) % n  # the answer is i − j


GRADIENT_SYMMETRICITY = Measure("gradient_symmetricity", gradient_symmetricity, GradientSymmetricity,
                                model_kinds=("transformer",), why_not="reads one embedding at two positions")
DISTANCE_IRRELEVANCE = Measure("distance_irrelevance", distance_irrelevance, DistanceIrrelevance, needs="circuit",
                               kinds=("cyclic", "multiplicative"))

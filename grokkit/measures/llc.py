"""The local learning coefficient (LLC) of a checkpoint, estimated with SGLD (Lau et al. 2023; devinterp).

    λ̂(w*) = nβ · (E_w[L_n(w)] − L_n(w*)),   β = 1 / log n,

with L_n the mean train loss over the n train rows and the expectation over a posterior
localised at the checkpoint w*, ∝ exp(−nβ L_n(w) − γ/2 ‖w − w*‖²), sampled by SGLD:

    w ← w − (ε/2) · (nβ ∇L_n(w) + γ (w − w*)) + N(0, ε)

(full-batch gradients on the train rows; ``chains`` chains of ``burnin`` + ``draws``
steps; the loss of each draw, before its step, is averaged). For a regular model with d
parameters λ = d/2 (``tests/test_measures_llc.py`` checks the estimator on a linear
regression); across a grokking run it rises while the model memorises and falls as it
generalises. The settings are the spec's ``[measures] llc_*`` fields. Each draw costs a
forward and backward pass over the train rows, about one training step, so the measure is
off unless named (``grokkit measure RUN --measures all,llc``). Written here rather than taken
from devinterp so that it runs on the engine's forward without a DataLoader or an extra
dependency; devinterp's ``estimate_learning_coeff`` computes the same quantity.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import torch
from torch import Tensor

from grokkit.measures.base import Context, Measure, MeasureError
from grokkit.measures.sgld import SGLD
from grokkit.model import forward
from grokkit.model.loss import softmax_nll


class LLCEstimate(NamedTuple):
    llc: float  # λ̂, averaged over the chains
    llc_std: float  # standard deviation of λ̂ over the chains (0 with one chain)


def sgld_llc(loss_fn: Callable[[Sequence[Tensor]], Tensor], w_star: Sequence[Tensor], n: int,
             sgld: SGLD) -> LLCEstimate:
    """λ̂ = nβ (mean_draws L_n(w) − L_n(w*)) for ``loss_fn`` (mean loss over n rows) around ``w_star``.

    ``loss_fn(ws)`` returns the 0-d mean loss for the parameter tensors ``ws`` (shaped as
    ``w_star``); nothing in ``w_star`` is changed.
    """
    n_beta = n / math.log(n)
    generator = torch.Generator(device=w_star[0].device).manual_seed(sgld.seed)
    with torch.no_grad():
        base = loss_fn(list(w_star)).item()
    estimates = []
    for _ in range(sgld.chains):
        ws = [w.detach().clone().requires_grad_(True) for w in w_star]
        losses = []
        for step in range(sgld.burnin + sgld.draws):
            with torch.enable_grad():
                loss = loss_fn(ws)
                grads = torch.autograd.grad(loss, ws)
            if step >= sgld.burnin:
                losses.append(loss.item())
            with torch.no_grad():
                for w, g, w0 in zip(ws, grads, w_star):
                    drift = n_beta * g + sgld.gamma * (w - w0)
                    noise = torch.randn(w.shape, generator=generator, device=w.device, dtype=w.dtype)
                    w.add_(-0.5 * sgld.lr * drift + math.sqrt(sgld.lr) * noise)
        estimates.append(n_beta * (sum(losses) / len(losses) - base))
    mean = sum(estimates) / len(estimates)
    std = math.sqrt(sum((e - mean) ** 2 for e in estimates) / len(estimates))
    return LLCEstimate(mean, std)


def llc(ctx: Context) -> LLCEstimate:
    """λ̂ = nβ (E_w[L_n(w)] − L_n(w*)), β = 1/log n, SGLD around the checkpoint on the n train rows (see module).

    L_n is the float64 softmax cross-entropy of the symbols' logits at '=' over the train rows;
    every trained tensor of the model is sampled.
    """
    params = getattr(ctx.weights, "params", None)
    if params is None:
        raise MeasureError("llc: needs the model's weights (SGLD moves them), not a logit table alone")
    run = ctx.run
    tokens, labels = run.tokens[run.train], run.labels[run.train]
    names = [name for name in params._fields if isinstance(getattr(params, name), Tensor)]
    if getattr(params, "W_E_a", None) is not None and params.W_E_a is params.W_E_b:
        names.remove("W_E_b")  # a shared MLP embedding is one tensor: sampled once, fed to both operands
    blocks = getattr(params, "blocks", ())  # the MLP (grokkit.model.mlp_forward.MLPParams) has none
    block_fields = [(i, f) for i, block in enumerate(blocks) for f in block._fields
                    if isinstance(getattr(block, f), Tensor)]
    w_star = [getattr(params, name).detach() for name in names]
    w_star += [getattr(blocks[i], f).detach() for i, f in block_fields]

    def loss_fn(ws: Sequence[Tensor]) -> Tensor:
        top = dict(zip(names, ws[: len(names)]))
        if "W_E_a" in top and "W_E_b" not in top:
            top["W_E_b"] = top["W_E_a"]
        new_blocks = list(blocks)
        for (i, f), w in zip(block_fields, ws[len(names):]):
            new_blocks[i] = new_blocks[i]._replace(**{f: w})
        p = params._replace(**top, **({"blocks": tuple(new_blocks)} if blocks else {}))
        logits = forward.last_logits(p, tokens)[0, :, : run.p]  # [n_train, n_symbols]
        return softmax_nll(logits, labels).mean()

    return sgld_llc(loss_fn, w_star, len(labels), run.sgld)


LLC = Measure("llc", llc, LLCEstimate, opt_in=True)

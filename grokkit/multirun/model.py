"""The one-layer model with its parameters stacked along a leading run axis.

``StackedWeights`` holds, for R runs of the same shape, every *trained* tensor of
``grokkit.model.fast.Weights`` as one ``[R, ...]`` leaf. ``stacked_last_logits`` is
``last_logits`` batched over that axis: the same maths, with ``F.linear`` replaced by
batched matmuls. Attention biases are frozen at zero in every grokkit model, and MLP
biases too unless ``model.train_biases``; a frozen (zero) bias is left out, which is
exact.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from grokkit.model.fast import weights_of

# fields of grokkit.model.fast.Weights that can be trained, in the bridge's parameter order
FIELDS = ("W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "b_in", "W_out", "b_out", "W_U")


class StackedWeights(NamedTuple):
    """Trained tensors of R runs, ``[R, *shape of one run]`` each; ``b_in``/``b_out`` None when frozen."""

    W_E: Tensor  # [R, d_vocab, d_model]
    W_pos: Tensor  # [R, n_ctx, d_model]
    W_Q: Tensor  # [R, H*dh, d_model]
    W_K: Tensor
    W_V: Tensor
    W_O: Tensor  # [R, d_model, H*dh]
    W_in: Tensor  # [R, d_mlp, d_model]
    b_in: Tensor | None  # [R, d_mlp]
    W_out: Tensor  # [R, d_model, d_mlp]
    b_out: Tensor | None  # [R, d_model]
    W_U: Tensor  # [R, d_vocab_out, d_model]
    n_heads: int
    act_fn: str

    def params(self) -> dict[str, Tensor]:
        """Field name → stacked leaf, for the optimiser and gradient filters."""
        return {f: getattr(self, f) for f in FIELDS if getattr(self, f) is not None}


def trained_fields(bridge: Any) -> list[str]:
    """The Weights fields of ``bridge`` that require grad (the rest are frozen zero biases)."""
    w = weights_of(bridge)
    return [f for f in FIELDS if getattr(w, f).requires_grad]


def stack_bridges(bridges: list[Any]) -> StackedWeights:
    """Copy the trained weights of same-shaped bridges into fresh ``[R, ...]`` leaves."""
    fields = trained_fields(bridges[0])
    ws = [weights_of(b) for b in bridges]
    stacked = {f: None for f in FIELDS}
    for f in fields:
        stacked[f] = torch.stack([getattr(w, f).detach() for w in ws]).clone().requires_grad_(True)
    return StackedWeights(**stacked, n_heads=ws[0].n_heads, act_fn=ws[0].act_fn)


@torch.no_grad()
def copy_into_bridge(w: StackedWeights, index: int, bridge: Any) -> None:
    """Write run ``index`` of the stack into a bridge's own parameters (for checkpoints and measures)."""
    solo = weights_of(bridge)
    for f, value in w.params().items():
        getattr(solo, f).copy_(value[index])


def select_runs(w: StackedWeights, keep: Tensor) -> StackedWeights:
    """A new stack with only the runs in ``keep`` (fresh leaves)."""
    out = {f: None for f in FIELDS}
    for f, value in w.params().items():
        out[f] = value.detach()[keep].clone().requires_grad_(True)
    return StackedWeights(**out, n_heads=w.n_heads, act_fn=w.act_fn)


def _linear(x: Tensor, W: Tensor, b: Tensor | None = None) -> Tensor:
    """Batched ``F.linear``: x ``[R, ..., in]``, W ``[R, out, in]``, b ``[R, out]`` → ``[R, ..., out]``."""
    shape = x.shape
    y = torch.bmm(x.reshape(shape[0], -1, shape[-1]), W.transpose(1, 2)).view(*shape[:-1], W.shape[1])
    if b is not None:
        y = y + b.view(b.shape[0], *([1] * (y.dim() - 2)), b.shape[1])
    return y


def stacked_last_logits(w: StackedWeights, tokens: Tensor) -> Tensor:
    """``last_logits`` for every run at once: tokens ``[batch, n_ctx]`` (shared) → ``[R, batch, d_vocab_out]``."""
    batch, n_ctx = tokens.shape
    runs = w.W_E.shape[0]
    d_head = w.W_Q.shape[1] // w.n_heads
    # resid_table[r, i, t] = W_E[r, t] + W_pos[r, i]: every (position, token) computed once, then gathered
    resid_table = w.W_E.unsqueeze(1) + w.W_pos[:, :n_ctx].unsqueeze(2)  # [R, n_ctx, d_vocab, d_model]
    k_table = _linear(resid_table, w.W_K)  # [R, n_ctx, d_vocab, H*dh]
    v_table = _linear(resid_table, w.W_V)
    last = n_ctx - 1
    q_table = _linear(resid_table[:, last], w.W_Q)  # only the last position queries

    d_vocab = w.W_E.shape[1]
    d_mlp, d_out = w.W_in.shape[1], w.W_U.shape[1]
    act = F.relu if w.act_fn == "relu" else F.gelu
    # row r*d_vocab + t of a flattened [R*d_vocab, d] table is run r's entry for token t: one
    # F.embedding gather per table (its backward is a dense index_add, not a slow index_put)
    offset = (torch.arange(runs, device=tokens.device) * d_vocab).view(runs, 1, 1)
    idx = offset + tokens.unsqueeze(0)  # [R, batch, n_ctx]

    def gather(table: Tensor, pos: int) -> Tensor:  # table [R, d_vocab, d] → [R, batch, d]
        return F.embedding(idx[:, :, pos], table.reshape(runs * d_vocab, -1))

    eq = tokens[0, last]
    if bool((tokens[:, last] == eq).all()):
        # grokkit's tasks always end in '=': one query per run, so every score is a table lookup
        q = q_table[:, eq].view(runs, 1, 1, w.n_heads, d_head)
        s_table = (k_table.view(runs, n_ctx, d_vocab, w.n_heads, d_head) * q).sum(-1)  # [R, n_ctx, d_vocab, H]
        scores = torch.stack([gather(s_table[:, i], i) for i in range(n_ctx)], dim=2)  # [R, batch, n_ctx, H]

        def last_linear(table: Tensor, W: Tensor, b: Tensor | None = None) -> Tensor:
            return _linear(table[:, eq].unsqueeze(1), W, b)  # [R, 1, out], broadcast over the batch
    else:
        q = gather(q_table, last).view(runs, batch, 1, w.n_heads, d_head)
        k = torch.stack([gather(k_table[:, i], i) for i in range(n_ctx)], dim=2)  # [R, batch, n_ctx, H*dh]
        scores = (q * k.view(runs, batch, n_ctx, w.n_heads, d_head)).sum(-1)

        def last_linear(table: Tensor, W: Tensor, b: Tensor | None = None) -> Tensor:
            return gather(_linear(table, W, b), last)  # [R, batch, out]: project the table, then gather
    pattern = (scores / math.sqrt(d_head)).softmax(dim=2)  # the last position sees every position
    z = sum(pattern[:, :, i].unsqueeze(-1) * gather(v_table[:, i], i).view(runs, batch, w.n_heads, d_head)
            for i in range(n_ctx)).reshape(runs, batch, -1)  # [R, batch, H*dh]
    e_table = resid_table[:, last]  # [R, d_vocab, d_model]: the last position's embedding rows

    if d_out >= w.W_E.shape[2]:  # the plain order: resid → MLP → resid → W_U
        resid = gather(e_table, last) + _linear(z, w.W_O)  # [R, batch, d_model]
        post = act(_linear(resid, w.W_in, w.b_in))
        return _linear(resid + _linear(post, w.W_out, w.b_out), w.W_U)

    # With fewer output classes than d_model, fold the linear maps around the MLP (the same
    # function, ~1/3 fewer FLOPs per row; the products cost a few matmuls per step):
    #   resid  = e + W_O z
    #   pre    = W_in e + (W_in W_O) z + b_in
    #   logits = W_U e + (W_U W_O) z + (W_U W_out) post + W_U b_out
    # baddbmm adds the (broadcast) first term inside the GEMM: one pass less over [R, batch, d]
    pre = torch.baddbmm(last_linear(e_table, w.W_in, w.b_in), z, torch.bmm(w.W_in, w.W_O).transpose(1, 2))
    direct = torch.baddbmm(last_linear(e_table, w.W_U), z, torch.bmm(w.W_U, w.W_O).transpose(1, 2))
    if w.b_out is not None:
        direct = direct + torch.bmm(w.W_U, w.b_out.unsqueeze(2)).transpose(1, 2)  # + W_U b_out, [R, 1, d_out]
    # pre feeds nothing else, so the activation may overwrite it
    post = F.relu(pre, inplace=True) if w.act_fn == "relu" else F.gelu(pre)
    return torch.baddbmm(direct, post, torch.bmm(w.W_U, w.W_out).transpose(1, 2))  # [R, batch, d_vocab_out]

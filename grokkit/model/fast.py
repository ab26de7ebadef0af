"""A forward pass that computes only the logits at the final (``=``) position.

Only the last position feeds the loss, so computing the MLP and unembedding at the
other positions is wasted work (two thirds of the reference forward). Every input
row is a sequence of *tokens*, so everything that depends on one (token, position)
pair — the embedding plus position, its keys, values and query — is computed once
on the vocabulary table and gathered, instead of once per row.

The result is the same function as the TransformerLens forward up to float
rounding (``tests/test_model.py`` checks it on every input). It reads the bridge's
own parameters, so gradients flow straight into the TransformerLens model.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor


class Weights(NamedTuple):
    """The parameters of the one-layer model, in nn.Linear layout (out, in)."""

    W_E: Tensor  # [d_vocab, d_model]
    W_pos: Tensor  # [n_ctx, d_model]
    W_Q: Tensor  # [n_heads*d_head, d_model]
    b_Q: Tensor
    W_K: Tensor
    b_K: Tensor
    W_V: Tensor
    b_V: Tensor
    W_O: Tensor  # [d_model, n_heads*d_head]
    b_O: Tensor
    W_in: Tensor  # [d_mlp, d_model]
    b_in: Tensor
    W_out: Tensor  # [d_model, d_mlp]
    b_out: Tensor
    W_U: Tensor  # [d_vocab_out, d_model]
    n_heads: int
    act_fn: str


def weights_of(bridge: Any) -> Weights:
    """Views of a bridge's parameters (no copies: gradients reach the bridge)."""
    native = bridge.original_model
    attn, mlp = native.layers[0].attn, native.layers[0].mlp
    return Weights(
        W_E=native.tok_embed.weight,
        W_pos=native.pos.weight,
        W_Q=attn.q.weight,
        b_Q=attn.q.bias,
        W_K=attn.k.weight,
        b_K=attn.k.bias,
        W_V=attn.v.weight,
        b_V=attn.v.bias,
        W_O=attn.o.weight,
        b_O=attn.o.bias,
        W_in=mlp.fc_in.weight,
        b_in=mlp.fc_in.bias,
        W_out=mlp.fc_out.weight,
        b_out=mlp.fc_out.bias,
        W_U=native.head.weight,
        n_heads=native.cfg.n_heads,
        act_fn=(native.cfg.act_fn or "relu").lower(),
    )


class LastPosition(NamedTuple):
    """Activations at the last (``=``) position for a batch of inputs."""

    logits: Tensor  # [batch, d_vocab_out]
    post: Tensor  # [batch, d_mlp]            = blocks.0.mlp.hook_post[:, -1]
    pattern: Tensor  # [batch, n_heads, n_ctx] = blocks.0.attn.hook_pattern[:, :, -1, :]


def last_position(w: Weights, tokens: Tensor) -> LastPosition:
    """The forward at the last position: ``[batch, n_ctx]`` int tokens → logits, MLP post, pattern."""
    batch, n_ctx = tokens.shape
    d_head = w.W_Q.shape[0] // w.n_heads
    # Per-position vocabulary tables: resid_table[i, t] = W_E[t] + W_pos[i].
    resid_table = w.W_E.unsqueeze(0) + w.W_pos[:n_ctx].unsqueeze(1)  # [n_ctx, d_vocab, d_model]
    k_table = F.linear(resid_table, w.W_K, w.b_K)  # [n_ctx, d_vocab, H*dh]
    v_table = F.linear(resid_table, w.W_V, w.b_V)
    last = n_ctx - 1
    q_table = F.linear(resid_table[last], w.W_Q, w.b_Q)  # only the last position queries

    q = q_table[tokens[:, last]].view(batch, 1, w.n_heads, d_head)
    # keys/values of every position, gathered per row: [batch, n_ctx, H, dh]
    k = torch.stack([k_table[i][tokens[:, i]] for i in range(n_ctx)], dim=1).view(batch, n_ctx, w.n_heads, d_head)
    v = torch.stack([v_table[i][tokens[:, i]] for i in range(n_ctx)], dim=1).view(batch, n_ctx, w.n_heads, d_head)

    # The last position sees every position under the causal mask. Broadcast-and-sum, not
    # einsum: einsum lowers to batch·H tiny matmuls, several times slower on CPU.
    scores = (q * k).sum(-1) / math.sqrt(d_head)  # [batch, n_ctx, H]
    pattern = scores.softmax(dim=1)
    z = (pattern.unsqueeze(-1) * v).sum(1).reshape(batch, -1)  # [batch, H*dh]
    resid = resid_table[last][tokens[:, last]] + F.linear(z, w.W_O, w.b_O)  # [batch, d_model]

    pre = F.linear(resid, w.W_in, w.b_in)
    post = F.relu(pre) if w.act_fn == "relu" else F.gelu(pre)
    if w.W_U.shape[0] < w.W_U.shape[1]:
        # Fewer output classes than d_model (p < 128 at the reference width): fold the
        # unembedding into the MLP output, W_U (resid + W_out post + b_out) =
        # W_U resid + (W_U W_out) post + W_U b_out — the same function with a smaller
        # matmul per row (d_mlp × p instead of d_mlp × d_model + d_model × p).
        logits = F.linear(resid, w.W_U) + F.linear(post, w.W_U @ w.W_out, F.linear(w.b_out, w.W_U))
    else:
        logits = F.linear(resid + F.linear(post, w.W_out, w.b_out), w.W_U)
    return LastPosition(logits, post, pattern.transpose(1, 2))


def last_logits(w: Weights, tokens: Tensor) -> Tensor:
    """Logits at the last position: ``[batch, n_ctx]`` int tokens → ``[batch, d_vocab_out]``."""
    return last_position(w, tokens).logits

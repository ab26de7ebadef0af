"""The activations the measures read, at the last (``=``) position over the whole input grid.

Two producers give the same ``LastPosition``:

- ``from_hooks(model, tokens)``: TransformerLens ``run_with_cache``, reading the hooks
  ``blocks.0.attn.hook_pattern`` and ``blocks.0.mlp.hook_post`` (the reference path);
- ``from_weights(weights, tokens)``: the same maths on the last position only, from the
  parameters (``grokkit.model.fast``'s trick: only the ``=`` position feeds the logits,
  so the MLP and unembedding run on one position instead of three).

``tests/test_measures.py`` checks that the two agree on every input.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from grokkit.model.fast import Weights

HOOK_POST = "blocks.0.mlp.hook_post"
HOOK_PATTERN = "blocks.0.attn.hook_pattern"


class LastPosition(NamedTuple):
    """Activations at the last position for a batch of inputs."""

    logits: Tensor  # [batch, d_vocab_out]
    post: Tensor  # [batch, d_mlp]   blocks.0.mlp.hook_post[:, -1]
    pattern: Tensor  # [batch, n_heads, n_ctx]   blocks.0.attn.hook_pattern[:, :, -1, :]


@torch.no_grad()
def from_hooks(model: Any, tokens: Tensor) -> LastPosition:
    """Run the TransformerLens model with a cache of the two hooks the measures need."""
    logits, cache = model.run_with_cache(tokens, names_filter=lambda name: name in (HOOK_POST, HOOK_PATTERN))
    return LastPosition(logits[:, -1], cache[HOOK_POST][:, -1], cache[HOOK_PATTERN][:, :, -1, :])


@torch.no_grad()
def from_weights(w: Weights, tokens: Tensor) -> LastPosition:
    """The forward of ``fast.last_logits``, also returning the post-activations and the pattern."""
    batch, n_ctx = tokens.shape
    d_head = w.W_Q.shape[0] // w.n_heads
    resid_table = w.W_E.unsqueeze(0) + w.W_pos[:n_ctx].unsqueeze(1)  # [n_ctx, d_vocab, d_model]
    k_table = F.linear(resid_table, w.W_K, w.b_K)  # [n_ctx, d_vocab, H*dh]
    v_table = F.linear(resid_table, w.W_V, w.b_V)
    last = n_ctx - 1
    q = F.linear(resid_table[last], w.W_Q, w.b_Q)[tokens[:, last]].view(batch, w.n_heads, d_head)
    k = torch.stack([k_table[i][tokens[:, i]] for i in range(n_ctx)], dim=1).view(batch, n_ctx, w.n_heads, d_head)
    v = torch.stack([v_table[i][tokens[:, i]] for i in range(n_ctx)], dim=1).view(batch, n_ctx, w.n_heads, d_head)
    pattern = (torch.einsum("bhd,bphd->bhp", q, k) / math.sqrt(d_head)).softmax(dim=-1)  # [batch, H, n_ctx]
    z = torch.einsum("bhp,bphd->bhd", pattern, v).reshape(batch, -1)
    resid = resid_table[last][tokens[:, last]] + F.linear(z, w.W_O, w.b_O)  # [batch, d_model]
    pre = F.linear(resid, w.W_in, w.b_in)
    post = F.relu(pre) if w.act_fn == "relu" else F.gelu(pre)
    resid = resid + F.linear(post, w.W_out, w.b_out)
    return LastPosition(F.linear(resid, w.W_U), post, pattern)

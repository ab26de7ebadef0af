"""The transformer's forward, for R runs of one shape at once (a single run is R = 1).

Every tensor of ``Params`` carries a leading run axis ``R``; matmuls are batched over
it. Only the last (``=``) position feeds the logits, so both forwards return the
last position's logits, MLP activations and attention pattern:

- ``eq_forward`` (one layer, no LayerNorm, every input ending in the same ``=``
  token: grokkit's tasks). Everything that depends on one (position, token) pair is
  computed once on the vocabulary table and gathered: keys, values, the query (one
  per run) and so every attention score is a table lookup; with fewer output
  classes than ``d_model`` the linear maps around the MLP are folded
  (``W_U·W_out``, ``W_in·W_O``). The attention output is never formed: through the
  map after it, it is a weighted sum of n_ctx·H rows of a per-(head, position, token)
  table (``grokkit.model.gather_sum``), 13 rows per input on the quickstart instead of a
  128-wide product (since 2026-12-08; float32 sums in another order than the dense
  product, so weights differ from earlier releases' in the last bits).
- ``deep_forward`` (any depth, optional LayerNorm): the full sequence, layer by layer.

Gathers are ``F.embedding`` on flattened ``[R·d_vocab, d]`` tables: its backward is a
dense, deterministic accumulation (an ``index_put_`` with ``accumulate=True``, what
``table[tokens]`` differentiates to, is neither deterministic nor fast with several
CPU threads). ``tests/test_model.py`` (one run) and ``tests/test_train_runs.py`` (a stack,
one and two layers) check both forwards against the TransformerLens bridge on every input.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from grokkit.model.gather_sum import Bags, bags, gather_sum
from grokkit.model.mlp_forward import MLPParams, mlp_forward


class Block(NamedTuple):
    """One layer's parameters, ``[R, ...]`` each, in ``nn.Linear`` layout (out, in); None = frozen at zero / absent."""

    W_Q: Tensor  # [R, H*dh, d_model]
    W_K: Tensor
    W_V: Tensor
    W_O: Tensor  # [R, d_model, H*dh]
    W_in: Tensor  # [R, d_mlp, d_model]
    W_out: Tensor  # [R, d_model, d_mlp]
    b_Q: Tensor | None = None  # [R, H*dh]
    b_K: Tensor | None = None
    b_V: Tensor | None = None
    b_O: Tensor | None = None  # [R, d_model]
    b_in: Tensor | None = None  # [R, d_mlp]
    b_out: Tensor | None = None  # [R, d_model]
    ln1_w: Tensor | None = None  # [R, d_model] (LayerNorm before attention)
    ln1_b: Tensor | None = None
    ln2_w: Tensor | None = None  # (LayerNorm before the MLP)
    ln2_b: Tensor | None = None


class Params(NamedTuple):
    """All parameters of R runs of one shape."""

    W_E: Tensor  # [R, d_vocab, d_model]
    W_pos: Tensor  # [R, n_ctx, d_model]
    blocks: tuple[Block, ...]
    W_U: Tensor  # [R, d_vocab_out, d_model]
    ln_final_w: Tensor | None  # [R, d_model]
    ln_final_b: Tensor | None
    n_heads: int
    act_fn: str
    eps: float = 1e-5
    attn_coeff: float = 1.0  # attention rate α: pattern = α·softmax + (1 − α) on visible positions
    attn_scale: Tensor | None = None  # [R] each run's √d_head in a padded stack (grokkit.model.pad); None: √d_head

    @property
    def runs(self) -> int:
        return self.W_E.shape[0]

    @property
    def layer_norm(self) -> bool:
        return self.ln_final_w is not None


class LastPosition(NamedTuple):
    """Activations at the last (``=``) position, per run."""

    logits: Tensor  # [R, batch, d_vocab_out]
    post: Tensor | None  # [R, batch, d_mlp]          = blocks.{last}.mlp.hook_post[:, -1]
    pattern: Tensor | None  # [R, batch, H, n_ctx]  = blocks.{last}.attn.hook_pattern[:, :, -1, :]


def _per_run(b: Tensor, like_dims: int) -> Tensor:
    """``[R, out]`` → ``[R, 1, …, out]`` broadcastable against a ``like_dims``-dimensional activation."""
    return b.view(b.shape[0], *([1] * (like_dims - 2)), b.shape[1])


def linear(x: Tensor, W: Tensor, b: Tensor | None = None) -> Tensor:
    """Batched ``F.linear``: x ``[R, ..., in]``, W ``[R, out, in]``, b ``[R, out]`` → ``[R, ..., out]``."""
    shape = x.shape
    y = torch.bmm(x.reshape(shape[0], -1, shape[-1]), W.transpose(1, 2)).view(*shape[:-1], W.shape[1])
    return y if b is None else y + _per_run(b, y.dim())


def layer_norm(x: Tensor, w: Tensor | None, b: Tensor | None, eps: float) -> Tensor:
    """``nn.LayerNorm`` with a weight and bias per run (identity when the model has no LayerNorm)."""
    if w is None:
        return x
    return torch.addcmul(_per_run(b, x.dim()), F.layer_norm(x, x.shape[-1:], eps=eps), _per_run(w, x.dim()))


def activation(name: str):
    return F.relu if name == "relu" else F.gelu


def _gather_index(tokens: Tensor, runs: int, d_vocab: int) -> Tensor:
    """``[R, batch, n_ctx]``: row r·d_vocab + t of a flattened ``[R·d_vocab, d]`` table is run r's entry for token t."""
    offset = (torch.arange(runs, device=tokens.device) * d_vocab).view(runs, 1, 1)
    return offset + tokens.unsqueeze(0)


_PLANS: list[tuple[Tensor, int, tuple[int, int, int], Bags]] = []  # (tokens, version, shape, plan), newest last


def _head_bags(tokens: Tensor, runs: int, d_vocab: int, heads: int) -> Bags:
    """The table rows each input sums. Per head, the table holds every token at each position before
    the last and the last position's one token (every input ends in it): run r's row for head h,
    position i < last, token t is r·rows + h·per_head + i·d_vocab + t; for the last position
    r·rows + h·per_head + last·d_vocab; its constant row r·rows + rows − 1 (per_head = last·d_vocab + 1,
    rows = heads·per_head + 1). Ascending along each input's row, as ``bags`` needs.

    Kept for the last few token tensors (a full-batch step and the evaluation pass the same ones
    each time; holding them keeps ``is`` a safe key, ``_version`` catches an in-place change)."""
    key = (runs, d_vocab, heads)
    for held, version, shape, plan in _PLANS:
        if held is tokens and version == tokens._version and shape == key:
            return plan
    plan = _make_head_bags(tokens, runs, d_vocab, heads)
    _PLANS.append((tokens, tokens._version, key, plan))
    del _PLANS[:-4]
    return plan


def _make_head_bags(tokens: Tensor, runs: int, d_vocab: int, heads: int) -> Bags:
    batch, n_ctx = tokens.shape
    last = n_ctx - 1
    per_head = last * d_vocab + 1
    rows = heads * per_head + 1
    dev = tokens.device
    body = tokens[:, :last] + torch.arange(last, device=dev) * d_vocab  # [batch, last]
    body = torch.cat([body, body.new_full((batch, 1), last * d_vocab)], dim=1)  # [batch, n_ctx]
    index = ((torch.arange(heads, device=dev) * per_head).view(1, 1, heads, 1) + body.view(1, batch, 1, n_ctx)
             + (torch.arange(runs, device=dev) * rows).view(runs, 1, 1, 1))  # [R, batch, H, n_ctx]
    const = (torch.arange(runs, device=dev) * rows + rows - 1).view(runs, 1, 1).expand(runs, batch, 1)
    index = torch.cat([index.reshape(runs, batch, heads * n_ctx), const], dim=2).view(runs * batch, -1)
    return bags(index, runs * rows)


def can_use_eq_forward(p: Params, tokens: Tensor) -> bool:
    """True for one layer without LayerNorm, every row ending in the same token (grokkit's tasks)."""
    if len(p.blocks) != 1 or p.layer_norm or tokens.shape[0] == 0:
        return False
    last = tokens[:, -1]
    return bool((last == last[0]).all())


def last_position(p: Params | MLPParams, tokens: Tensor, activations: bool = False,
                  same_last: bool | None = None) -> LastPosition:
    """The last position's logits (and, with ``activations``, MLP post and pattern) for ``[batch, n_ctx]`` tokens.

    ``same_last``: whether every row ends in the same token, when the caller knows (the engine
    does, once per grid); None: look at the tokens. An ``MLPParams`` stack (``model.kind = "mlp"``)
    runs ``grokkit.model.mlp_forward`` (no pattern): the one seam where the engine meets the MLP.
    """
    if isinstance(p, MLPParams):
        out = mlp_forward(p, tokens, activations)
        return LastPosition(out.logits, out.post, None)
    if same_last is None:
        use_eq = can_use_eq_forward(p, tokens)
    else:
        use_eq = same_last and len(p.blocks) == 1 and not p.layer_norm
    return eq_forward(p, tokens, activations) if use_eq else deep_forward(p, tokens, activations)


def last_logits(p: Params | MLPParams, tokens: Tensor, same_last: bool | None = None) -> Tensor:
    """``[batch, n_ctx]`` int tokens (shared by the runs) → ``[R, batch, d_vocab_out]``."""
    return last_position(p, tokens, same_last=same_last).logits


def eq_forward(p: Params, tokens: Tensor, activations: bool = False) -> LastPosition:
    """The one-layer forward at the ``=`` position, from per-(position, token) tables (see the module docstring)."""
    (blk,) = p.blocks
    batch, n_ctx = tokens.shape
    runs, d_vocab, d_model = p.W_E.shape
    H = p.n_heads
    d_head = blk.W_Q.shape[1] // H
    last = n_ctx - 1
    # resid_table[r, i, t] = W_E[r, t] + W_pos[r, i]: every (position, token) computed once, then gathered
    resid_table = p.W_E.unsqueeze(1) + p.W_pos[:, :n_ctx].unsqueeze(2)  # [R, n_ctx, d_vocab, d_model]
    k_table = linear(resid_table, blk.W_K, blk.b_K)  # [R, n_ctx, d_vocab, H*dh]
    v_table = linear(resid_table, blk.W_V, blk.b_V)
    # [R, 1, d_model]: the '=' row, shared by every input (index_select: no sync, as indexing by a 0-d tensor is)
    e_eq = resid_table[:, last].index_select(1, tokens[:1, last])
    q = linear(e_eq, blk.W_Q, blk.b_Q).view(runs, 1, 1, H, d_head)  # one query per run
    scale = math.sqrt(d_head) if p.attn_scale is None else p.attn_scale.view(runs, 1, 1, 1)
    s_table = (k_table.view(runs, n_ctx, d_vocab, H, d_head) * q).sum(-1) / scale  # [R, n_ctx, d_vocab, H]
    idx = _gather_index(tokens, runs, d_vocab)

    def gather(table: Tensor, pos: int) -> Tensor:  # table [R, d_vocab, d] → [R, batch, d]
        return F.embedding(idx[:, :, pos], table.reshape(runs * d_vocab, -1))

    scores = torch.stack([gather(s_table[:, i], i) for i in range(n_ctx)], dim=2)  # [R, batch, n_ctx, H]
    pattern = scores.softmax(dim=2)  # the last position attends to every position
    if p.attn_coeff != 1.0:  # the attention rate (every position is visible to the last)
        pattern = p.attn_coeff * pattern + (1 - p.attn_coeff)
    # The attention output never needs z: through any linear map M after it, it is a weighted sum of
    # n_ctx·H rows of a table with one row per (head, position, token), M·W_O,h·v_{i,h}[t], plus a
    # constant row (weight 1) for what every input shares (grokkit.model.gather_sum).
    plan = _head_bags(tokens, runs, d_vocab, H)
    mix = torch.cat([pattern.transpose(2, 3).reshape(runs * batch, H * n_ctx),  # (h, i) order: plan's rows
                     pattern.new_ones(runs * batch, 1)], dim=1)  # [R·batch, H·n_ctx + 1]
    # values of every token before the last position, and of the last position's one token (plan's rows)
    v_rows = torch.cat([v_table[:, :last].reshape(runs, last * d_vocab, H * d_head),
                        v_table[:, last].index_select(1, tokens[:1, last])], dim=1)
    v_heads = v_rows.view(runs, last * d_vocab + 1, H, d_head).transpose(1, 2)  # [R, H, per_head, dh]

    def attn_out(M: Tensor | None, const: Tensor) -> Tensor:  # Σ_{h,i} pattern·M W_O,h v_{i,h} + const: [R, batch, D]
        MW_O = blk.W_O if M is None else torch.bmm(M, blk.W_O)  # [R, D, H*dh]
        D = MW_O.shape[1]
        heads = torch.matmul(v_heads, MW_O.view(runs, D, H, d_head).permute(0, 2, 3, 1))  # [R, H, per_head, D]
        table = torch.cat([heads.reshape(runs, -1, D), const.reshape(runs, 1, D)], dim=1)
        return gather_sum(mix, table.view(-1, D), plan, (runs, batch, D))

    act = activation(p.act_fn)
    d_out = p.W_U.shape[1]
    e = e_eq if blk.b_O is None else e_eq + blk.b_O.unsqueeze(1)  # [R, 1, d_model]

    if d_out >= d_model:  # the plain order: resid → MLP → resid → W_U
        resid = attn_out(None, e)  # [R, batch, d_model]
        post = act(linear(resid, blk.W_in, blk.b_in))
        logits = linear(resid + linear(post, blk.W_out, blk.b_out), p.W_U)
    else:
        # With fewer output classes than d_model, fold the linear maps around the MLP (the same
        # function, fewer FLOPs per row; the products cost a few small matmuls per step):
        #   pre    = W_in (e + b_O) + b_in + W_in W_O z
        #   logits = W_U (e + b_O + b_out) + W_U W_O z + (W_U W_out) post
        pre = attn_out(blk.W_in, linear(e, blk.W_in, blk.b_in))  # [R, batch, d_mlp]
        e_out = e if blk.b_out is None else e + blk.b_out.unsqueeze(1)
        direct = attn_out(p.W_U, linear(e_out, p.W_U))  # [R, batch, d_out]
        # pre feeds nothing else, so the activation may overwrite it (not when the caller keeps post)
        post = F.relu(pre, inplace=not activations) if p.act_fn == "relu" else F.gelu(pre)
        logits = torch.baddbmm(direct, post, torch.bmm(p.W_U, blk.W_out).transpose(1, 2))  # [R, batch, d_out]
    if not activations:
        return LastPosition(logits, None, None)
    return LastPosition(logits, post, pattern.transpose(2, 3))


def deep_forward(p: Params, tokens: Tensor, activations: bool = False) -> LastPosition:
    """Any depth, pre-LayerNorm optional, causal attention over the whole sequence; the last position's outputs."""
    batch, n_ctx = tokens.shape
    runs, d_vocab, d_model = p.W_E.shape
    H = p.n_heads
    idx = _gather_index(tokens, runs, d_vocab)
    x = F.embedding(idx, p.W_E.reshape(runs * d_vocab, d_model)) + p.W_pos[:, :n_ctx].unsqueeze(1)  # [R, B, n, d]
    causal = torch.ones(n_ctx, n_ctx, dtype=torch.bool, device=tokens.device).triu(1)
    act = activation(p.act_fn)
    post = pattern = None
    for blk in p.blocks:
        d_head = blk.W_Q.shape[1] // H
        h = layer_norm(x, blk.ln1_w, blk.ln1_b, p.eps)
        q = linear(h, blk.W_Q, blk.b_Q).view(runs, batch, n_ctx, H, d_head).transpose(2, 3)  # [R, B, H, n, dh]
        k = linear(h, blk.W_K, blk.b_K).view(runs, batch, n_ctx, H, d_head).transpose(2, 3)
        v = linear(h, blk.W_V, blk.b_V).view(runs, batch, n_ctx, H, d_head).transpose(2, 3)
        scale = math.sqrt(d_head) if p.attn_scale is None else p.attn_scale.view(runs, 1, 1, 1, 1)
        scores = (q @ k.transpose(-1, -2)) / scale  # [R, B, H, n, n]
        pattern = scores.masked_fill(causal, float("-inf")).softmax(-1)
        if p.attn_coeff != 1.0:  # the attention rate, on visible positions only
            pattern = p.attn_coeff * pattern + (1 - p.attn_coeff) * (~causal).to(pattern.dtype)
        z = (pattern @ v).transpose(2, 3).reshape(runs, batch, n_ctx, H * d_head)
        x = x + linear(z, blk.W_O, blk.b_O)
        post = act(linear(layer_norm(x, blk.ln2_w, blk.ln2_b, p.eps), blk.W_in, blk.b_in))  # [R, B, n, d_mlp]
        x = x + linear(post, blk.W_out, blk.b_out)
    logits = linear(layer_norm(x[:, :, -1], p.ln_final_w, p.ln_final_b, p.eps), p.W_U)
    if not activations:
        return LastPosition(logits, None, None)
    return LastPosition(logits, post[:, :, -1], pattern[:, :, :, -1, :])

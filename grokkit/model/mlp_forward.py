"""The one-hidden-layer MLP's forward, for R runs of one shape at once (a single run is R = 1).

The model (``model.kind = "mlp"``; Chughtai, Chan, Nanda 2023; Gromov 2023) reads the
operands a = tokens[:, 0] and b = tokens[:, 1]::

    e_a = W_E_a[a],  e_b = W_E_b[b]                       (one W_E for both when shared)
    pre = W_in·[e_a; e_b] + b_in   (combine = concat)
        = W_in·(e_a + e_b) + b_in  (sum)
        = e_a + e_b + b_in         (direct: the embeddings are the hidden layer's input weights)
    post = act(pre)                (relu, gelu or square x²)
    logits = W_U·post + b_U

Every tensor of ``MLPParams`` carries a leading run axis R (nn.Linear layout, out × in).
Without hooks the first layer is folded into per-symbol tables (``W_E_a·W_in_aᵀ``: n rows
instead of one per input) and gathered, the same function in fewer FLOPs; with hooks
(``grokkit.model.mlp.HookedMLP``, a stack of one) every stage is computed as written above
and passed through its hook point. ``tests/test_model_mlp.py`` checks both against a plain
reference. Gathers are ``F.embedding`` on flattened ``[R·n, d]`` tables, as in
``grokkit.model.forward`` (a deterministic backward).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

HOOKS = ("hook_embed_a", "hook_embed_b", "hook_pre", "hook_post", "hook_logits")
Hook = Callable[[str, Tensor], Tensor]  # (hook name, [R, batch, d]) → the tensor the forward goes on with


class MLPParams(NamedTuple):
    """All parameters of R MLP runs of one shape; None = absent (direct: no W_in) or frozen at zero."""

    W_E_a: Tensor  # [R, n_symbols, d_embed]
    W_E_b: Tensor  # [R, n_symbols, d_embed] (the same tensor as W_E_a when the embedding is shared)
    W_in: Tensor | None  # [R, d_mlp, 2·d_model] (concat) or [R, d_mlp, d_model] (sum); None (direct)
    b_in: Tensor | None  # [R, d_mlp]
    W_U: Tensor  # [R, d_vocab_out, d_mlp]
    b_U: Tensor | None  # [R, d_vocab_out]
    act_fn: str
    combine: str

    @property
    def runs(self) -> int:
        return self.W_E_a.shape[0]

    @property
    def W_E(self) -> Tensor:
        """``[R, n_symbols, 2·d_embed]``: [W_E_a | W_E_b] per run (W_E_a alone when shared): what the
        measures read as "the embedding" (its Fourier spectrum covers both operands)."""
        return self.W_E_a if self.W_E_a is self.W_E_b else torch.cat([self.W_E_a, self.W_E_b], dim=-1)


class MLPOutput(NamedTuple):
    """Logits and hidden activations, per run (the MLP has no attention pattern)."""

    logits: Tensor  # [R, batch, d_vocab_out]
    post: Tensor | None  # [R, batch, d_mlp] (hook_post)
    pattern: None = None


def act(name: str, x: Tensor) -> Tensor:
    """The hidden non-linearity: relu, gelu (exact, as nn.GELU) or square (x², Gromov)."""
    if name == "relu":
        return F.relu(x)
    if name == "gelu":
        return F.gelu(x)
    return x * x


def _linear(x: Tensor, W: Tensor, b: Tensor | None = None) -> Tensor:
    """Batched ``F.linear``: x ``[R, batch, in]``, W ``[R, out, in]``, b ``[R, out]`` → ``[R, batch, out]``."""
    y = torch.bmm(x, W.transpose(1, 2))
    return y if b is None else y + b.unsqueeze(1)


def _gather(table: Tensor, symbols: Tensor) -> Tensor:
    """``table[r, symbols]`` for each run r: table ``[R, n, d]``, symbols ``[batch]`` → ``[R, batch, d]``."""
    runs, n, d = table.shape
    idx = symbols.unsqueeze(0) + (torch.arange(runs, device=symbols.device) * n).unsqueeze(1)  # [R, batch]
    return F.embedding(idx, table.reshape(runs * n, d))


def first_layer_tables(p: MLPParams) -> tuple[Tensor, Tensor]:
    """``[R, n, d_mlp]`` tables A, B with pre = A[a] + B[b] + b_in."""
    if p.combine == "direct":
        return p.W_E_a, p.W_E_b
    if p.combine == "sum":
        W_a = W_b = p.W_in
    else:
        d = p.W_E_a.shape[-1]
        W_a, W_b = p.W_in[:, :, :d], p.W_in[:, :, d:]
    return torch.bmm(p.W_E_a, W_a.transpose(1, 2)), torch.bmm(p.W_E_b, W_b.transpose(1, 2))


def mlp_forward(p: MLPParams, tokens: Tensor, activations: bool = False, hook: Hook | None = None) -> MLPOutput:
    """``[batch, n_ctx ≥ 2]`` int tokens (shared by the runs; a, b at positions 0, 1) → logits ``[R, batch, d_out]``
    (and, with ``activations``, the hidden post-activations). ``hook``: each stage goes through it (see HOOKS)."""
    a, b = tokens[:, 0], tokens[:, 1]
    if hook is None:
        A, B = first_layer_tables(p)
        pre = _gather(A, a) + _gather(B, b)
    else:
        e_a = hook("hook_embed_a", _gather(p.W_E_a, a))  # [R, batch, d_embed]
        e_b = hook("hook_embed_b", _gather(p.W_E_b, b))
        if p.combine == "direct":
            pre = e_a + e_b
        elif p.combine == "sum":
            pre = _linear(e_a + e_b, p.W_in)
        else:
            pre = _linear(torch.cat([e_a, e_b], dim=-1), p.W_in)
    if p.b_in is not None:
        pre = pre + p.b_in.unsqueeze(1)
    if hook is not None:
        pre = hook("hook_pre", pre)
    post = act(p.act_fn, pre)  # [R, batch, d_mlp]
    if hook is not None:
        post = hook("hook_post", post)
    logits = _linear(post, p.W_U, p.b_U)
    if hook is not None:
        logits = hook("hook_logits", logits)
    return MLPOutput(logits, post if activations else None)

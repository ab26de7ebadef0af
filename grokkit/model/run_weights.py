"""One run's one-layer weights by name, and the last-position forward on them (for measures and ablations).

``weights_of(bridge)`` gives views of a bridge's parameters under the field's names
(``W_E``, ``W_Q`` … ``W_U``, nn.Linear layout), so measures read the weights the way
the papers write them. ``last_position`` runs the engine's forward
(``grokkit.model.forward``) as a stack of one: there is one forward in grokkit.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from torch import Tensor

from grokkit.errors import ConfigError
import grokkit.model.forward as forward
from grokkit.model.stack import bridge_view


class Weights(NamedTuple):
    """The parameters of a one-layer model, in nn.Linear layout (out, in)."""

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
    params: forward.Params  # the same tensors as a stack of one, for the forward


class LastPosition(NamedTuple):
    """Activations at the last (``=``) position for a batch of inputs."""

    logits: Tensor  # [batch, d_vocab_out]
    post: Tensor  # [batch, d_mlp]            = blocks.0.mlp.hook_post[:, -1]
    pattern: Tensor  # [batch, n_heads, n_ctx] = blocks.0.attn.hook_pattern[:, :, -1, :]


def weights_of(bridge: Any) -> Weights:
    """Views of a one-layer bridge's parameters (no copies: gradients reach the bridge)."""
    native = bridge.original_model
    if native.cfg.n_layers != 1 or native.cfg.normalization_type is not None:
        raise ConfigError("this measure reads one-layer weights by name (W_in, W_out …); the model has "
                          f"n_layers = {native.cfg.n_layers}, LayerNorm {native.cfg.normalization_type or 'none'}")
    attn, mlp = native.layers[0].attn, native.layers[0].mlp
    return Weights(
        W_E=native.tok_embed.weight, W_pos=native.pos.weight,
        W_Q=attn.q.weight, b_Q=attn.q.bias, W_K=attn.k.weight, b_K=attn.k.bias,
        W_V=attn.v.weight, b_V=attn.v.bias, W_O=attn.o.weight, b_O=attn.o.bias,
        W_in=mlp.fc_in.weight, b_in=mlp.fc_in.bias, W_out=mlp.fc_out.weight, b_out=mlp.fc_out.bias,
        W_U=native.head.weight, n_heads=native.cfg.n_heads, act_fn=(native.cfg.act_fn or "relu").lower(),
        params=bridge_view(bridge),
    )


def last_position(w: Weights, tokens: Tensor) -> LastPosition:
    """The forward at the last position: ``[batch, n_ctx]`` int tokens → logits, MLP post, pattern."""
    out = forward.last_position(w.params, tokens, activations=True)
    return LastPosition(out.logits[0], out.post[0], out.pattern[0])


def last_logits(w: Weights, tokens: Tensor) -> Tensor:
    """Logits at the last position: ``[batch, n_ctx]`` int tokens → ``[batch, d_vocab_out]``."""
    return forward.last_logits(w.params, tokens)[0]

"""One run's weights by name, and the last-position forward on them (for measures and ablations).

``weights_of(bridge)`` gives views of a bridge's parameters under the field's names
(``W_E``, ``W_Q`` … ``W_U``, nn.Linear layout), so measures read the weights the way
the papers write them; for an MLP (``grokkit.model.mlp.HookedMLP``) it gives ``MLPWeights``
(``W_E_a``, ``W_E_b``, ``W_in``, ``W_U`` …, and ``W_E`` = [W_E_a | W_E_b], ``W_L`` = W_Uᵀ).
This is the one place measures get weights by name; a measure that reads a transformer-only
name (``W_Q``, a pattern) declares ``model_kinds`` in its ``Measure``. ``last_position`` runs the engine's forward
(``grokkit.model.forward``) as a stack of one: there is one forward in grokkit.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from grokkit.errors import ConfigError
from grokkit.model import forward
from grokkit.model.param_stack import Shape, bridge_view, params


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


class MLPWeights(NamedTuple):
    """The parameters of a one-hidden-layer MLP, in nn.Linear layout (out, in); see ``grokkit.model.mlp``."""

    W_E_a: Tensor  # [n_symbols, d_embed]
    W_E_b: Tensor
    W_in: Tensor | None  # [d_mlp, d_in]; None when the embeddings feed the neurons directly
    b_in: Tensor  # [d_mlp]
    W_U: Tensor  # [d_vocab_out, d_mlp]
    b_U: Tensor  # [d_vocab_out]
    act_fn: str
    combine: str
    params: Any  # grokkit.model.mlp_forward.MLPParams: the same tensors as a stack of one
    kind: str = "mlp"
    shared: bool = False  # one embedding for a and b (model.embed = "shared")

    @property
    def W_E(self) -> Tensor:
        """``[n_symbols, 2·d_embed]``: [W_E_a | W_E_b] (W_E_a alone when shared), detached. Formed on each read:
        the measures load every checkpoint into the same views, so a copy made once would keep the first
        checkpoint's embedding."""
        return self.W_E_a.detach() if self.shared else torch.cat([self.W_E_a, self.W_E_b], dim=1).detach()

    @property
    def W_L(self) -> Tensor:
        """``[d_mlp, d_vocab_out]``: each neuron's direct effect on each logit (W_Uᵀ)."""
        return self.W_U.T


class LastPosition(NamedTuple):
    """Activations at the last (``=``) position for a batch of inputs."""

    logits: Tensor  # [batch, d_vocab_out]
    post: Tensor  # [batch, d_mlp]            = blocks.0.mlp.hook_post[:, -1]
    pattern: Tensor | None  # [batch, n_heads, n_ctx] = blocks.0.attn.hook_pattern[:, :, -1, :]; None: an MLP


def model_kind(model: Any) -> str:
    """transformer (a TransformerLens bridge) or mlp (``HookedMLP``), from the model or its weights."""
    kind = getattr(model, "kind", None)  # MLPWeights
    if isinstance(kind, str):
        return kind
    if hasattr(model, "original_model"):  # a TransformerLens bridge
        return "transformer"
    return getattr(getattr(model, "cfg", None), "kind", "transformer")  # HookedMLP: its ModelConfig


NEURON_HOOKS = {"transformer": "blocks.0.mlp.hook_post", "mlp": "hook_post"}  # the neurons' hook, per model kind


def neuron_hook(model: Any) -> str:
    """The name of the hook holding the MLP neurons (post-activation) of a bridge or ``HookedMLP``."""
    return NEURON_HOOKS[model_kind(model)]


def weights_of(bridge: Any) -> Weights | MLPWeights:
    """Views of a one-layer bridge's parameters (no copies: gradients reach the bridge)."""
    if not hasattr(bridge, "original_model"):  # grokkit.model.mlp.HookedMLP
        return MLPWeights(W_E_a=bridge.W_E_a, W_E_b=bridge.W_E_b, W_in=bridge.W_in,
                          b_in=bridge.b_in, W_U=bridge.W_U, b_U=bridge.b_U, act_fn=bridge.cfg.act_fn,
                          combine=bridge.cfg.combine, params=bridge.params(), shared=bridge.cfg.embed == "shared")
    native = bridge.original_model
    _refuse_depth(native.cfg.n_layers, native.cfg.normalization_type)
    attn, mlp = native.layers[0].attn, native.layers[0].mlp
    return Weights(
        W_E=native.tok_embed.weight, W_pos=native.pos.weight,
        W_Q=attn.q.weight, b_Q=attn.q.bias, W_K=attn.k.weight, b_K=attn.k.bias,
        W_V=attn.v.weight, b_V=attn.v.bias, W_O=attn.o.weight, b_O=attn.o.bias,
        W_in=mlp.fc_in.weight, b_in=mlp.fc_in.bias, W_out=mlp.fc_out.weight, b_out=mlp.fc_out.bias,
        W_U=native.head.weight, n_heads=native.cfg.n_heads, act_fn=(native.cfg.act_fn or "relu").lower(),
        params=bridge_view(bridge),
    )


def _refuse_depth(n_layers: int, normalization: str | None) -> None:
    if n_layers != 1 or normalization is not None:
        raise ConfigError("this measure reads one-layer weights by name (W_in, W_out …); the model has "
                          f"n_layers = {n_layers}, LayerNorm {normalization or 'none'}")


def weights_from_state(state: dict[str, Tensor], model_cfg: Any) -> Weights | MLPWeights:
    """The weights by name of one run's state dict (a checkpoint's tensors, no run axis), as ``weights_of``
    gives them of a model holding it: views of ``state``'s tensors (requiring no gradient), so the forward
    (``last_position``) runs without building the model. Shapes are the caller's to check
    (``grokkit.model.param_stack.check_shapes``)."""
    shape = Shape.of_config(model_cfg)
    p = params({name: t.unsqueeze(0) for name, t in state.items()}, shape)  # a stack of one

    def one(t: Tensor | None) -> Tensor | None:
        return None if t is None else t[0]

    if shape.kind == "mlp":
        return MLPWeights(W_E_a=p.W_E_a[0], W_E_b=p.W_E_b[0], W_in=one(p.W_in), b_in=one(p.b_in), W_U=p.W_U[0],
                          b_U=one(p.b_U), act_fn=p.act_fn, combine=p.combine, params=p,
                          shared=model_cfg.embed == "shared")
    _refuse_depth(model_cfg.n_layers, "LN" if model_cfg.layer_norm else None)
    b = p.blocks[0]
    return Weights(W_E=p.W_E[0], W_pos=p.W_pos[0], W_Q=b.W_Q[0], b_Q=one(b.b_Q), W_K=b.W_K[0], b_K=one(b.b_K),
                   W_V=b.W_V[0], b_V=one(b.b_V), W_O=b.W_O[0], b_O=one(b.b_O), W_in=b.W_in[0], b_in=one(b.b_in),
                   W_out=b.W_out[0], b_out=one(b.b_out), W_U=p.W_U[0], n_heads=p.n_heads, act_fn=p.act_fn, params=p)


def last_position(w: Weights | MLPWeights, tokens: Tensor) -> LastPosition:
    """The forward at the last position: ``[batch, n_ctx]`` int tokens → logits, MLP post, pattern (None: MLP)."""
    out = forward.last_position(w.params, tokens, activations=True)
    return LastPosition(out.logits[0], out.post[0], None if out.pattern is None else out.pattern[0])


def last_logits(w: Weights | MLPWeights, tokens: Tensor) -> Tensor:
    """Logits at the last position: ``[batch, n_ctx]`` int tokens → ``[batch, d_vocab_out]``."""
    return forward.last_logits(w.params, tokens)[0]

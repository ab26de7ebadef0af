"""HookedTransformer's weights: its names and layouts ⇄ the bridge's state dict, and its init.

TransformerLens's ``HookedTransformer`` (the grokking demo's model) stores each weight
in the field's layout: ``W_Q [n_heads, d_model, d_head]``, ``W_O [n_heads, d_head,
d_model]``, ``W_in [d_model, d_mlp]``, ``W_U [d_model, d_vocab_out]``. The bridge keeps
the same function in ``nn.Linear`` layout (out, in) under other names. This module is
the one place that knows both, so imports (``grokkit.importer``) and other weight
sources (``grokkit.model.paper``) go through the HookedTransformer names. ``hooked_init``
draws HookedTransformer's own initial weights (``model.init = "hooked"``).
"""

from __future__ import annotations

import torch
from torch import Tensor

# HookedTransformer names of a one-layer, LayerNorm-free model; the biases may be absent.
WEIGHTS = ("embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q", "blocks.0.attn.W_K", "blocks.0.attn.W_V",
           "blocks.0.attn.W_O", "blocks.0.mlp.W_in", "blocks.0.mlp.W_out", "unembed.W_U")
BIASES = ("blocks.0.attn.b_Q", "blocks.0.attn.b_K", "blocks.0.attn.b_V", "blocks.0.attn.b_O",
          "blocks.0.mlp.b_in", "blocks.0.mlp.b_out", "unembed.b_U")
BUFFERS = ("blocks.0.attn.mask", "blocks.0.attn.IGNORE")  # constants of the causal mask, not weights
# The order HookedTransformer (TransformerLens 1.x to 3.x) registers its weights, which its init follows.
DRAW_ORDER = ("embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q", "blocks.0.attn.W_O", "blocks.0.attn.W_K",
              "blocks.0.attn.W_V", "blocks.0.mlp.W_in", "blocks.0.mlp.W_out", "unembed.W_U")


def hooked_init(d_model: int, n_heads: int, d_head: int, d_mlp: int, n_ctx: int, d_vocab: int, d_vocab_out: int,
                seed: int, std: float) -> dict[str, Tensor]:
    """HookedTransformer's gpt2 init, draw for draw: ``torch.manual_seed(seed)`` (its config's
    ``set_seed_everywhere``), then ``nn.init.normal_(W, std=initializer_range)`` on every weight in
    registration order and layout; biases stay 0. With the demo's config this is bit-identical to its
    initial model on the CPU, where HookedTransformer initialises before moving to its device
    (``tests/fixtures/tl_demo_init.json``, from transformer-lens 1.19.0, 2.18.0 and 3.9.0). torch's
    normal_ rounds differently on its vectorised (AVX2/AVX512) and scalar CPU paths, so the bits
    hold between machines of one class; across classes they agree to float rounding."""
    shapes = {
        "embed.W_E": (d_vocab, d_model), "pos_embed.W_pos": (n_ctx, d_model),
        "blocks.0.attn.W_Q": (n_heads, d_model, d_head), "blocks.0.attn.W_O": (n_heads, d_head, d_model),
        "blocks.0.attn.W_K": (n_heads, d_model, d_head), "blocks.0.attn.W_V": (n_heads, d_model, d_head),
        "blocks.0.mlp.W_in": (d_model, d_mlp), "blocks.0.mlp.W_out": (d_mlp, d_model),
        "unembed.W_U": (d_model, d_vocab_out),
    }
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.empty(shapes[name]).normal_(0.0, std, generator=generator) for name in DRAW_ORDER}


def hooked_to_bridge(hooked: dict[str, Tensor]) -> dict[str, Tensor]:
    """The bridge's state dict for HookedTransformer-named weights (missing biases become 0).

    Shapes in: ``embed.W_E [d_vocab, d_model]``, ``pos_embed.W_pos [n_ctx, d_model]``,
    ``W_Q|W_K|W_V [n_heads, d_model, d_head]``, ``b_Q|b_K|b_V [n_heads, d_head]``,
    ``W_O [n_heads, d_head, d_model]``, ``W_in [d_model, d_mlp]``, ``W_out [d_mlp, d_model]``,
    ``W_U [d_model, d_vocab_out]``.
    """
    W_Q = hooked["blocks.0.attn.W_Q"]
    n_heads, d_model, d_head = W_Q.shape
    d_mlp = hooked["blocks.0.mlp.W_in"].shape[1]
    d_vocab_out = hooked["unembed.W_U"].shape[1]

    def bias(name: str, *shape: int) -> Tensor:
        value = hooked.get(name)
        return torch.zeros(shape, dtype=W_Q.dtype) if value is None else value.reshape(shape)

    def qkv(name: str) -> Tensor:  # [n_heads, d_model, d_head] → [n_heads·d_head, d_model], head-major rows
        return hooked[name].permute(0, 2, 1).reshape(n_heads * d_head, d_model)

    state = {
        "embed.weight": hooked["embed.W_E"],
        "pos_embed.weight": hooked["pos_embed.W_pos"],
        "blocks.0.attn.q.weight": qkv("blocks.0.attn.W_Q"),
        "blocks.0.attn.q.bias": bias("blocks.0.attn.b_Q", n_heads * d_head),
        "blocks.0.attn.k.weight": qkv("blocks.0.attn.W_K"),
        "blocks.0.attn.k.bias": bias("blocks.0.attn.b_K", n_heads * d_head),
        "blocks.0.attn.v.weight": qkv("blocks.0.attn.W_V"),
        "blocks.0.attn.v.bias": bias("blocks.0.attn.b_V", n_heads * d_head),
        # [n_heads, d_head, d_model] → [d_model, n_heads·d_head]: z is flattened head-major
        "blocks.0.attn.o.weight": hooked["blocks.0.attn.W_O"].reshape(n_heads * d_head, d_model).T,
        "blocks.0.attn.o.bias": bias("blocks.0.attn.b_O", d_model),
        "blocks.0.mlp.in.weight": hooked["blocks.0.mlp.W_in"].T,
        "blocks.0.mlp.in.bias": bias("blocks.0.mlp.b_in", d_mlp),
        "blocks.0.mlp.out.weight": hooked["blocks.0.mlp.W_out"].T,
        "blocks.0.mlp.out.bias": bias("blocks.0.mlp.b_out", d_model),
        "unembed.weight": hooked["unembed.W_U"].T,
        "unembed.bias": bias("unembed.b_U", d_vocab_out),
    }
    return {name: value.detach().to(torch.float32).contiguous() for name, value in state.items()}


def bridge_to_hooked(state: dict[str, Tensor], n_heads: int) -> dict[str, Tensor]:
    """The inverse of ``hooked_to_bridge``: a bridge state dict under HookedTransformer names and layouts."""
    d_model = state["embed.weight"].shape[1]
    d_head = state["blocks.0.attn.q.weight"].shape[0] // n_heads

    def qkv(name: str) -> Tensor:  # [n_heads·d_head, d_model] → [n_heads, d_model, d_head]
        return state[name].reshape(n_heads, d_head, d_model).permute(0, 2, 1)

    hooked = {
        "embed.W_E": state["embed.weight"],
        "pos_embed.W_pos": state["pos_embed.weight"],
        "blocks.0.attn.W_Q": qkv("blocks.0.attn.q.weight"),
        "blocks.0.attn.W_K": qkv("blocks.0.attn.k.weight"),
        "blocks.0.attn.W_V": qkv("blocks.0.attn.v.weight"),
        "blocks.0.attn.W_O": state["blocks.0.attn.o.weight"].T.reshape(n_heads, d_head, d_model),
        "blocks.0.attn.b_Q": state["blocks.0.attn.q.bias"].reshape(n_heads, d_head),
        "blocks.0.attn.b_K": state["blocks.0.attn.k.bias"].reshape(n_heads, d_head),
        "blocks.0.attn.b_V": state["blocks.0.attn.v.bias"].reshape(n_heads, d_head),
        "blocks.0.attn.b_O": state["blocks.0.attn.o.bias"],
        "blocks.0.mlp.W_in": state["blocks.0.mlp.in.weight"].T,
        "blocks.0.mlp.b_in": state["blocks.0.mlp.in.bias"],
        "blocks.0.mlp.W_out": state["blocks.0.mlp.out.weight"].T,
        "blocks.0.mlp.b_out": state["blocks.0.mlp.out.bias"],
        "unembed.W_U": state["unembed.weight"].T,
        "unembed.b_U": state["unembed.bias"],
    }
    return {name: value.detach().contiguous() for name, value in hooked.items()}

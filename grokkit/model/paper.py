"""The progress-measures paper's parameter layout and initialisation (its ``transformers.py``).

The paper's model is the same function as ours, with its weights stored transposed
or grouped differently: ``embed.W_E [d_model, d_vocab]``, ``blocks.0.attn.W_K|W_Q|W_V
[n_heads, d_head, d_model]``, ``blocks.0.attn.W_O [d_model, n_heads·d_head]``,
``blocks.0.mlp.W_in [d_mlp, d_model]``, ``blocks.0.mlp.W_out [d_model, d_mlp]``,
``unembed.W_U [d_model, d_vocab]``; MLP biases ``b_in``, ``b_out``; no other biases.
Its attention scores are q·k/√d_head with a causal mask, like TransformerLens's.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

# The paper's names of every parameter, in the order its constructor draws them.
DRAW_ORDER = ("embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_K", "blocks.0.attn.W_Q", "blocks.0.attn.W_V",
              "blocks.0.attn.W_O", "blocks.0.mlp.W_in", "blocks.0.mlp.W_out", "unembed.W_U")
BIASES = ("blocks.0.mlp.b_in", "blocks.0.mlp.b_out")
BUFFERS = ("blocks.0.attn.mask",)  # tril(ones(n_ctx, n_ctx)): the causal mask, not a weight


def paper_to_hooked(paper: dict[str, Tensor]) -> dict[str, Tensor]:
    """The paper's weights under HookedTransformer names and layouts (see ``grokkit.model.hooked``)."""
    W_O = paper["blocks.0.attn.W_O"]  # [d_model, n_heads·d_head], columns head-major
    n_heads, d_head, d_model = paper["blocks.0.attn.W_Q"].shape
    hooked = {
        "embed.W_E": paper["embed.W_E"].T,  # [d_vocab, d_model]
        "pos_embed.W_pos": paper["pos_embed.W_pos"],
        "blocks.0.attn.W_O": W_O.T.reshape(n_heads, d_head, d_model),
        "blocks.0.mlp.W_in": paper["blocks.0.mlp.W_in"].T,  # [d_model, d_mlp]
        "blocks.0.mlp.W_out": paper["blocks.0.mlp.W_out"].T,  # [d_mlp, d_model]
        "unembed.W_U": paper["unembed.W_U"],  # [d_model, d_vocab]: already TransformerLens's layout
    }
    for name in ("W_Q", "W_K", "W_V"):
        hooked[f"blocks.0.attn.{name}"] = paper[f"blocks.0.attn.{name}"].permute(0, 2, 1)  # [n_heads, d_model, d_head]
    for name in BIASES:
        if name in paper:
            hooked[name] = paper[name]
    return hooked


def hooked_to_paper(hooked: dict[str, Tensor]) -> dict[str, Tensor]:
    """The inverse of ``paper_to_hooked``: HookedTransformer-named weights in the paper's names and layouts.

    The paper's model has no attention or unembedding biases: those must be zero (as a grokkit run's are,
    trained with ``train_biases`` or not), or the paper's model would compute another function.
    """
    for name in ("blocks.0.attn.b_Q", "blocks.0.attn.b_K", "blocks.0.attn.b_V", "blocks.0.attn.b_O", "unembed.b_U"):
        if name in hooked and bool(hooked[name].any()):
            raise ValueError(f"{name} is not zero: the paper's model has no such bias")
    n_heads, d_model, d_head = hooked["blocks.0.attn.W_Q"].shape
    paper = {
        "embed.W_E": hooked["embed.W_E"].T,  # [d_model, d_vocab]
        "pos_embed.W_pos": hooked["pos_embed.W_pos"],
        "blocks.0.attn.W_O": hooked["blocks.0.attn.W_O"].reshape(n_heads * d_head, d_model).T,  # head-major columns
        "blocks.0.mlp.W_in": hooked["blocks.0.mlp.W_in"].T,  # [d_mlp, d_model]
        "blocks.0.mlp.W_out": hooked["blocks.0.mlp.W_out"].T,  # [d_model, d_mlp]
        "unembed.W_U": hooked["unembed.W_U"],
    }
    for name in ("W_Q", "W_K", "W_V"):
        paper[f"blocks.0.attn.{name}"] = hooked[f"blocks.0.attn.{name}"].permute(0, 2, 1)  # [n_heads, d_head, d_model]
    for name in BIASES:
        if name in hooked:
            paper[name] = hooked[name]
    return {name: value.detach().contiguous() for name, value in paper.items()}


def paper_init(d_model: int, n_heads: int, d_head: int, d_mlp: int, n_ctx: int, d_vocab: int, d_vocab_out: int,
               seed: int) -> dict[str, Tensor]:
    """Weights drawn as the paper's constructor draws them, in its layout and order.

    Every weight is N(0, 1)/√d_model except ``W_U``, N(0, 1)/√d_vocab (d_vocab counts the
    '=' token, p + 1); the MLP biases start at 0. The draws come from a generator seeded
    with ``seed`` in the constructor's order, so ``torch.manual_seed(seed)`` before the
    paper's ``Transformer(config)`` (on CPU) gives the same numbers. The paper itself seeds
    no torch RNG, so its own runs cannot be matched draw for draw.
    """
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape: int) -> Tensor:
        return torch.randn(*shape, generator=generator)

    paper = {
        "embed.W_E": randn(d_model, d_vocab) / math.sqrt(d_model),
        "pos_embed.W_pos": randn(n_ctx, d_model) / math.sqrt(d_model),
        "blocks.0.attn.W_K": randn(n_heads, d_head, d_model) / math.sqrt(d_model),
        "blocks.0.attn.W_Q": randn(n_heads, d_head, d_model) / math.sqrt(d_model),
        "blocks.0.attn.W_V": randn(n_heads, d_head, d_model) / math.sqrt(d_model),
        "blocks.0.attn.W_O": randn(d_model, d_head * n_heads) / math.sqrt(d_model),
        "blocks.0.mlp.W_in": randn(d_mlp, d_model) / math.sqrt(d_model),
        "blocks.0.mlp.b_in": torch.zeros(d_mlp),
        "blocks.0.mlp.W_out": randn(d_model, d_mlp) / math.sqrt(d_model),
        "blocks.0.mlp.b_out": torch.zeros(d_model),
        "unembed.W_U": randn(d_model, d_vocab_out) / math.sqrt(d_vocab),
    }
    return paper

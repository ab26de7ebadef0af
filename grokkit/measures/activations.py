"""The activations the measures read, at the last (``=``) position over the whole input grid.

Two producers give the same ``LastPosition``:

- ``from_hooks(model, tokens)``: TransformerLens ``run_with_cache``, reading the hooks
  ``blocks.0.attn.hook_pattern`` and ``blocks.0.mlp.hook_post`` (the reference path);
- ``from_weights(weights, tokens)``: the same maths on the last position only, from the
  parameters (``grokkit.model.run_weights``'s trick: only the ``=`` position feeds the logits,
  so the MLP and unembedding run on one position instead of three).

``tests/test_measures.py`` checks that the two agree on every input.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from grokkit.model.run_weights import LastPosition, Weights, last_position, model_kind, neuron_hook

HOOK_POST = "blocks.0.mlp.hook_post"
HOOK_PATTERN = "blocks.0.attn.hook_pattern"


@torch.no_grad()
def from_hooks(model: Any, tokens: Tensor) -> LastPosition:
    """Run the TransformerLens model with a cache of the two hooks the measures need (an MLP
    (``grokkit.model.mlp.HookedMLP``): its ``hook_post``; it has no pattern)."""
    if model_kind(model) == "mlp":
        logits, cache = model.run_with_cache(tokens, names_filter=neuron_hook(model))
        return LastPosition(logits[:, -1], cache[neuron_hook(model)][:, -1], None)
    logits, cache = model.run_with_cache(tokens, names_filter=lambda name: name in (HOOK_POST, HOOK_PATTERN))
    return LastPosition(logits[:, -1], cache[HOOK_POST][:, -1], cache[HOOK_PATTERN][:, :, -1, :])


@torch.no_grad()
def from_weights(w: Weights, tokens: Tensor) -> LastPosition:
    """The forward of ``grokkit.model.run_weights``, which also returns the post-activations and the pattern."""
    return last_position(w, tokens)

"""The MLP's state-dict names and shapes, and the typed view of a stack of MLP runs (no TransformerLens
import: the run's sizes are checked, and its report drawn, without building the model).

Names (the checkpoints' and the training stack's, ``grokkit.model.mlp.HookedMLP``'s own):
``embed_a.weight``, ``embed_b.weight`` (one ``embed.weight`` when shared), ``hidden.weight``
(absent with ``combine = "direct"``), ``hidden.bias``, ``unembed.weight``, ``unembed.bias``.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from grokkit.model.mlp_forward import MLPParams

# state-dict name of each MLPParams field
NAMES = {"W_E_a": "embed_a.weight", "W_E_b": "embed_b.weight", "W_in": "hidden.weight", "b_in": "hidden.bias",
         "W_U": "unembed.weight", "b_U": "unembed.bias"}
SHARED = "embed.weight"


def mlp_params(stack: dict[str, Tensor], act_fn: str, combine: str) -> MLPParams:
    """The typed view of a stack of MLP runs (no copies); a frozen bias absent from ``stack`` is None."""
    fields = {field: stack.get(name) for field, name in NAMES.items()}
    if SHARED in stack:
        fields["W_E_a"] = fields["W_E_b"] = stack[SHARED]
    return MLPParams(**fields, act_fn=act_fn, combine=combine)


def expected_shapes(cfg: Any, n_symbols: int, d_vocab_out: int) -> dict[str, tuple[int, ...]]:
    """State-dict name → shape of every tensor of the MLP ``cfg`` describes."""
    d_embed = cfg.d_mlp if cfg.combine == "direct" else cfg.d_model
    shapes: dict[str, tuple[int, ...]] = {}
    if cfg.embed == "shared":
        shapes[SHARED] = (n_symbols, d_embed)
    else:
        shapes[NAMES["W_E_a"]] = shapes[NAMES["W_E_b"]] = (n_symbols, d_embed)
    if cfg.combine != "direct":
        shapes[NAMES["W_in"]] = (cfg.d_mlp, 2 * cfg.d_model if cfg.combine == "concat" else cfg.d_model)
    shapes[NAMES["b_in"]] = (cfg.d_mlp,)
    shapes[NAMES["W_U"]] = (d_vocab_out, cfg.d_mlp)
    shapes[NAMES["b_U"]] = (d_vocab_out,)
    return shapes

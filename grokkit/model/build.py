"""Build the transformer (one layer by default, any depth, optional LayerNorm) as a TransformerLens ``TransformerBridge``.

The bridge is the model everywhere: its hooks (``blocks.0.mlp.hook_post`` …),
``run_with_cache`` and ``run_with_hooks`` work as researchers know them, and the
training engine's forward (``grokkit.model.forward``) reads the very same parameters.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from grokkit.data.dataset import TaskConfig
from grokkit.model.config import ModelConfig

# Parameters that exist in the TL-native module but not in the reference model.
_ATTN_BIASES = ("q", "k", "v", "o")


def build_model(model_cfg: ModelConfig, task_cfg: TaskConfig, device: str | torch.device = "cpu") -> Any:
    """Return a freshly initialised ``TransformerBridge`` in compatibility mode.

    Biases the configuration does not train are zeroed and get ``requires_grad=False``.
    ``model.kind = "mlp"``: a ``grokkit.model.mlp.HookedMLP`` instead (a TransformerLens
    ``HookedRootModule``; the same training engine, checkpoints and hooks API).
    """
    if model_cfg.kind == "mlp":
        from grokkit.model.mlp import build_mlp

        return build_mlp(model_cfg, task_cfg, device)
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    tl_cfg = TransformerBridgeConfig(
        d_model=model_cfg.d_model,
        d_head=model_cfg.d_head,
        n_heads=model_cfg.n_heads,
        n_layers=model_cfg.n_layers,
        n_ctx=task_cfg.n_ctx,
        d_vocab=task_cfg.d_vocab,
        d_vocab_out=task_cfg.d_vocab_out + (1 if model_cfg.eq_output else 0),  # the paper keeps '=' as a class
        d_mlp=model_cfg.d_mlp,
        act_fn=model_cfg.act_fn,
        normalization_type="LN" if model_cfg.layer_norm else None,
        positional_embedding_type="standard",
        attention_dir="causal",
        init_mode="gpt2",
        seed=model_cfg.seed,
    )
    bridge = TransformerBridge.boot_native(tl_cfg, device=torch.device(device))
    bridge.enable_compatibility_mode()
    native = bridge.original_model
    if model_cfg.init != "tl":  # the paper's or HookedTransformer's draws replace TL 4's native init
        bridge.load_state_dict(foreign_init(model_cfg, tl_cfg), strict=True)
    with torch.no_grad():
        if model_cfg.init == "tl" and not model_cfg.residual_init_scaling:  # undo TL 4's 1/√(2·n_layers) on output projections
            for block in native.layers:
                for weight in (block.attn.o.weight, block.mlp.fc_out.weight):
                    weight.mul_(math.sqrt(2 * tl_cfg.n_layers))
        if model_cfg.init != "paper" and model_cfg.init_scale != 1.0:
            for param in native.parameters():
                param.mul_(model_cfg.init_scale)
        frozen = []
        for block in native.layers:
            frozen += [getattr(block.attn, name).bias for name in _ATTN_BIASES]
            if not model_cfg.train_biases:
                frozen += [block.mlp.fc_in.bias, block.mlp.fc_out.bias]
        for bias in frozen:
            bias.zero_()
            bias.requires_grad_(False)
    if model_cfg.attn_coeff != 1.0:
        _set_attention_rate(bridge, float(model_cfg.attn_coeff), task_cfg.n_ctx)
    bridge.eval()  # no dropout exists, but keep TL in inference mode for hooks
    return bridge


def _set_attention_rate(bridge: Any, alpha: float, n_ctx: int) -> None:
    """``model.attn_coeff``: a permanent hook on each ``blocks.L.attn.hook_pattern`` gives
    α·pattern + (1 − α)·[k ≤ q], so the bridge (hooks, caches, ablations) computes what the
    engine's forward does (``grokkit.model.forward``, which reads ``bridge.grokkit_attn_coeff``)."""
    visible = torch.ones(n_ctx, n_ctx).tril()  # [q, k]: the causal mask

    def rate(pattern: torch.Tensor, hook: Any) -> torch.Tensor:
        q, k = pattern.shape[-2:]
        return alpha * pattern + (1 - alpha) * visible[:q, :k].to(pattern)

    for block in bridge.blocks:
        block.attn.hook_pattern.add_hook(rate, is_permanent=True)
    bridge.grokkit_attn_coeff = alpha


def foreign_init(model_cfg: ModelConfig, tl_cfg: Any) -> dict[str, torch.Tensor]:
    """``model.init`` = paper (``grokkit.model.paper``) or hooked (``grokkit.model.hooked``) as the
    bridge's state dict, drawn from ``model.seed``."""
    from grokkit.model.hooked import hooked_init, hooked_to_bridge
    from grokkit.model.paper import paper_init, paper_to_hooked

    widths = (tl_cfg.d_model, tl_cfg.n_heads, tl_cfg.d_head, tl_cfg.d_mlp, tl_cfg.n_ctx, tl_cfg.d_vocab,
              tl_cfg.d_vocab_out)
    if model_cfg.init == "paper":
        return hooked_to_bridge(paper_to_hooked(paper_init(*widths, seed=model_cfg.seed)))
    std = 0.8 / math.sqrt(tl_cfg.d_model)  # HookedTransformerConfig's initializer_range for gpt2 init
    return hooked_to_bridge(hooked_init(*widths, seed=model_cfg.seed, std=std))


def trainable_parameters(bridge: Any) -> dict[str, torch.nn.Parameter]:
    """Name → parameter for everything the optimiser updates, in a stable order."""
    return {name: p for name, p in bridge.named_parameters() if p.requires_grad}


def model_state(bridge: Any) -> dict[str, torch.Tensor]:
    """The bridge's full state dict (TransformerLens names), detached and contiguous."""
    return {k: v.detach().contiguous() for k, v in bridge.state_dict().items()}

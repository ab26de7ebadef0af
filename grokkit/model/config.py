"""Typed configuration of the one-layer transformer (defaults from the reference)."""

from __future__ import annotations

from dataclasses import dataclass

from grokkit.errors import ConfigError

ACT_FNS = ("relu", "gelu")


@dataclass
class ModelConfig:
    """Architecture and initialisation of the one-layer, LayerNorm-free transformer."""

    d_model: int = 128
    """Residual stream width."""
    n_heads: int = 4
    """Attention heads."""
    d_head: int = 32
    """Width of each head."""
    d_mlp: int = 512
    """MLP hidden width."""
    act_fn: str = "relu"
    """MLP non-linearity: relu (reference) or gelu."""
    seed: int = 999
    """Initialisation seed (999 is the TransformerLens demo's)."""
    init_scale: float = 1.0
    """Multiplier on TransformerLens's gpt2 init (std 0.8/√d_model, output projections /√2)."""
    residual_init_scaling: bool = True
    """True: TransformerLens 4's native init, which draws the output projections (W_O, W_out)
    with std/√(2·n_layers), i.e. /√2 here. False: the legacy HookedTransformer init that the
    TransformerLens grokking demo used (every W_ at std 0.8/√d_model; TL 4 dropped it)."""
    train_biases: bool = False
    """False: every bias frozen at 0 (the demo's choice). True: MLP biases trained (the paper's).
    Attention has no biases in either source, so its biases stay frozen at 0 always."""

    def __post_init__(self) -> None:
        for name in ("d_model", "n_heads", "d_head", "d_mlp"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"model.{name}: must be a positive integer, got {value!r}")
        if self.act_fn not in ACT_FNS:
            raise ConfigError(f"model.act_fn: must be one of {', '.join(ACT_FNS)}, got {self.act_fn!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError(f"model.seed: must be an integer, got {self.seed!r}")
        if not isinstance(self.init_scale, (int, float)) or not self.init_scale > 0:
            raise ConfigError(f"model.init_scale: must be a number > 0, got {self.init_scale!r}")
        if not isinstance(self.residual_init_scaling, bool):
            raise ConfigError(f"model.residual_init_scaling: must be true or false, got {self.residual_init_scaling!r}")
        if not isinstance(self.train_biases, bool):
            raise ConfigError(f"model.train_biases: must be true or false, got {self.train_biases!r}")

"""Typed configuration of the one-layer transformer (defaults from the reference)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from grokkit.errors import ConfigError

ACT_FNS = ("relu", "gelu")
INITS = ("tl", "hooked", "paper")


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
    n_layers: int = 1
    """Transformer blocks (1 in the progress-measures paper; Power et al. used 2)."""
    attn_coeff: float = 1.0
    """Attention rate (Zhong et al. 2023, "The Clock and the Pizza"): the pattern is α·softmax(scores)
    + (1 − α) on every visible position, as in their code (not renormalised): 1 is ordinary learned
    attention, 0 constant attention, which pushes a + b models towards the Pizza algorithm."""
    layer_norm: bool = False
    """Pre-LayerNorm before attention, MLP and unembedding (TransformerLens "LN"); the paper's model has none."""
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
    eq_output: bool = False
    """False: one output class per symbol (the demo's d_vocab_out = p). True: the paper's p + 1 classes,
    the '=' class kept in the softmax (labels never use it; the measures drop its column)."""
    init: str = "tl"
    """tl: TransformerLens 4's native gpt2 init (see init_scale, residual_init_scaling). hooked:
    HookedTransformer's gpt2 init (TransformerLens 1–3, the demo's model), draw for draw: every W_
    N(0, (0.8/√d_model)²) in its order and layout, bit-identical to the demo's initial weights.
    paper: the paper's ``transformers.py``, every weight N(0, 1/d_model) except W_U N(0, 1/d_vocab)."""

    def __post_init__(self) -> None:
        for name in ("d_model", "n_heads", "d_head", "d_mlp", "n_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"model.{name}: must be a positive integer, got {value!r}")
        if self.act_fn not in ACT_FNS:
            raise ConfigError(f"model.act_fn: must be one of {', '.join(ACT_FNS)}, got {self.act_fn!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError(f"model.seed: must be an integer, got {self.seed!r}")
        if (isinstance(self.init_scale, bool) or not isinstance(self.init_scale, (int, float))
                or not 0 < self.init_scale < math.inf):
            raise ConfigError(f"model.init_scale: must be a finite number > 0, got {self.init_scale!r}")
        if not isinstance(self.residual_init_scaling, bool):
            raise ConfigError(f"model.residual_init_scaling: must be true or false, got {self.residual_init_scaling!r}")
        if not isinstance(self.train_biases, bool):
            raise ConfigError(f"model.train_biases: must be true or false, got {self.train_biases!r}")
        if not isinstance(self.eq_output, bool):
            raise ConfigError(f"model.eq_output: must be true or false, got {self.eq_output!r}")
        if self.init not in INITS:
            raise ConfigError(f"model.init: must be one of {', '.join(INITS)}, got {self.init!r}")
        if (isinstance(self.attn_coeff, bool) or not isinstance(self.attn_coeff, (int, float))
                or not 0.0 <= self.attn_coeff <= 1.0):
            raise ConfigError(f"model.attn_coeff: must be a number in [0, 1], got {self.attn_coeff!r}")
        if not isinstance(self.layer_norm, bool):
            raise ConfigError(f"model.layer_norm: must be true or false, got {self.layer_norm!r}")
        if self.init in ("paper", "hooked") and (self.n_layers != 1 or self.layer_norm):
            raise ConfigError(f"model.init: {self.init!r} draws a one-layer model without LayerNorm; got "
                              f"n_layers = {self.n_layers}, layer_norm = {str(self.layer_norm).lower()}")

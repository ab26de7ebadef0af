"""Typed configuration of the model: the one-layer transformer (defaults from the reference) or the
one-hidden-layer MLP (``kind = "mlp"``, Chughtai et al. 2023; Gromov 2023)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from grokkit.errors import ConfigError

ACT_FNS = ("relu", "gelu")
INITS = ("tl", "hooked", "paper")
KINDS = ("transformer", "mlp")
MLP_ACT_FNS = ("relu", "gelu", "square")
EMBEDS = ("separate", "shared")
COMBINES = ("concat", "sum", "direct")
MLP_INITS = ("torch", "gromov", "chughtai")
# fields only one kind reads, with their defaults: setting one for the other kind is an error
TRANSFORMER_ONLY = {"n_heads": 4, "d_head": 32, "n_layers": 1, "attn_coeff": 1.0, "layer_norm": False,
                    "residual_init_scaling": True, "eq_output": False, "init": "tl"}
MLP_ONLY = {"embed": "separate", "combine": "concat", "mlp_init": "torch"}


@dataclass
class ModelConfig:
    """Architecture and initialisation of the one-layer, LayerNorm-free transformer, or of the MLP."""

    kind: str = "transformer"
    """transformer (the default) or mlp: learned embeddings of a and b, one hidden layer, an unembedding
    (``grokkit.model.mlp``); for the mlp, d_model is the embedding width and d_mlp the hidden width."""
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
    """MLP non-linearity: relu (reference) or gelu; the mlp kind also takes square (x², Gromov 2023)."""
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
    Attention has no biases in either source, so its biases stay frozen at 0 always. The mlp kind:
    the hidden layer's and the unembedding's biases (Chughtai et al. train both; Gromov has none)."""
    eq_output: bool = False
    """False: one output class per symbol (the demo's d_vocab_out = p). True: the paper's p + 1 classes,
    the '=' class kept in the softmax (labels never use it; the measures drop its column)."""
    init: str = "tl"
    """tl: TransformerLens 4's native gpt2 init (see init_scale, residual_init_scaling). hooked:
    HookedTransformer's gpt2 init (TransformerLens 1–3, the demo's model), draw for draw: every W_
    N(0, (0.8/√d_model)²) in its order and layout, bit-identical to the demo's initial weights.
    paper: the paper's ``transformers.py``, every weight N(0, 1/d_model) except W_U N(0, 1/d_vocab)."""
    embed: str = "separate"
    """mlp: separate embeddings of a and b (W_E_a, W_E_b: Chughtai's left and right) or one shared W_E."""
    combine: str = "concat"
    """mlp: how the embeddings reach the hidden layer. concat: W_in·[e_a; e_b] (Chughtai et al.); sum:
    W_in·(e_a + e_b); direct: no W_in, embeddings of width d_mlp summed into the pre-activations
    (Gromov's first layer acting on the concatenated one-hot inputs; d_model unused)."""
    mlp_init: str = "torch"
    """mlp: torch (PyTorch's nn.Embedding / nn.Linear defaults: embeddings N(0, 1), weights and biases
    U(±1/√fan_in)), gromov (every weight N(0, 0.25/(2·d_mlp)^(2/3)), the d-doshi/Grokking code's "standard
    initialization"; biases 0) or chughtai (bilal-chughtai/rep-theory-mech-interp's OneLayerMLP: every
    weight N(0, 1/fan_in), the embeddings' fan-in their own width; biases 0). init_scale multiplies each."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"model.kind: must be one of {', '.join(KINDS)}, got {self.kind!r}")
        other = "mlp" if self.kind == "transformer" else "transformer"
        for name, default in (MLP_ONLY if other == "mlp" else TRANSFORMER_ONLY).items():
            value = getattr(self, name)  # the other kind's fields must keep their defaults
            if value != default or type(value) is not type(default):
                raise ConfigError(f"model.{name}: applies to the {other} kind only; this model has kind = "
                                  f"{self.kind!r}")
        if self.kind == "mlp":
            self._check_mlp()
        for name in ("d_model", "n_heads", "d_head", "d_mlp", "n_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"model.{name}: must be a positive integer, got {value!r}")
        if self.kind == "transformer" and self.act_fn not in ACT_FNS:
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

    def _check_mlp(self) -> None:
        for name, allowed in (("act_fn", MLP_ACT_FNS), ("embed", EMBEDS), ("combine", COMBINES),
                              ("mlp_init", MLP_INITS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"model.{name}: must be one of {', '.join(allowed)} for the mlp kind, "
                                  f"got {getattr(self, name)!r}")

"""The one-hidden-layer MLP (``model.kind = "mlp"``) as a TransformerLens ``HookedRootModule``.

The model of Chughtai, Chan, Nanda 2023 ("A toy model of universality": left and right
embeddings, concatenated, one ReLU layer, an unembedding, biases) and of Gromov 2023
("Grokking modular arithmetic": the first layer on the concatenated one-hot inputs, x²,
no biases; here ``combine = "direct"``, ``act_fn = "square"``). The maths and the batched
forward the engine trains are in ``grokkit.model.mlp_forward``; this module is the one
run as researchers hold it, with its hook points:

==================  =====================  ==========================================
hook                shape                  what
==================  =====================  ==========================================
``hook_embed_a``    [batch, 1, d_embed]    e_a = W_E_a[a]
``hook_embed_b``    [batch, 1, d_embed]    e_b = W_E_b[b]
``hook_pre``        [batch, 1, d_mlp]      the hidden pre-activations
``hook_post``       [batch, 1, d_mlp]      act(pre): the neurons
``hook_logits``     [batch, 1, d_out]      the output (also what ``forward`` returns)
==================  =====================  ==========================================

Every activation has one position (axis 1), the place of the transformer's ``=``, so code
written for ``[:, -1]`` (``grokkit.ablation``'s ``pos=-1``, the measures) reads the MLP
unchanged. The input is the task's tokens ``[batch, n_ctx]``: a at position 0, b at 1.

State-dict names (the checkpoints' and the training stack's; ``grokkit.model.mlp_names``): ``embed_a.weight``,
``embed_b.weight`` (or one ``embed.weight`` when shared), ``hidden.weight`` (absent with
``combine = "direct"``), ``hidden.bias``, ``unembed.weight``, ``unembed.bias``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from transformer_lens.hook_points import HookPoint
from transformer_lens.HookedRootModule import HookedRootModule

from grokkit.model.config import ModelConfig
from grokkit.model.mlp_forward import HOOKS, MLPParams, mlp_forward
from grokkit.model.mlp_names import NAMES, SHARED, expected_shapes, mlp_params


class _Bias(nn.Module):
    """A module holding only a bias (the hidden layer's, when the embeddings are its input weights)."""

    def __init__(self, n: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(n))


class HookedMLP(HookedRootModule):
    """Embeddings of a and b, one hidden layer, an unembedding; see the module docstring for the hooks."""

    def __init__(self, cfg: ModelConfig, n_symbols: int, d_vocab_out: int):
        super().__init__()
        self.cfg = cfg
        d_embed = cfg.d_mlp if cfg.combine == "direct" else cfg.d_model
        if cfg.embed == "shared":
            self.embed = nn.Embedding(n_symbols, d_embed)
        else:
            self.embed_a = nn.Embedding(n_symbols, d_embed)
            self.embed_b = nn.Embedding(n_symbols, d_embed)
        if cfg.combine == "direct":
            self.hidden = _Bias(cfg.d_mlp)
        else:
            d_in = 2 * cfg.d_model if cfg.combine == "concat" else cfg.d_model
            self.hidden = nn.Linear(d_in, cfg.d_mlp)
        self.unembed = nn.Linear(cfg.d_mlp, d_vocab_out)
        for name in HOOKS:
            setattr(self, name, HookPoint())
        self.setup()

    # --- the field's names (nn.Linear layout: out × in) --------------------------------
    @property
    def W_E_a(self) -> Tensor:  # [n_symbols, d_embed]
        return self.embed.weight if self.cfg.embed == "shared" else self.embed_a.weight

    @property
    def W_E_b(self) -> Tensor:
        return self.embed.weight if self.cfg.embed == "shared" else self.embed_b.weight

    @property
    def W_E(self) -> Tensor:
        """``[n_symbols, 2·d_embed]``: each symbol's a- and b-embeddings side by side (one when shared)."""
        return self.W_E_a if self.cfg.embed == "shared" else torch.cat([self.W_E_a, self.W_E_b], dim=1)

    @property
    def W_in(self) -> Tensor | None:  # [d_mlp, d_in]; None with combine = "direct"
        return getattr(self.hidden, "weight", None)

    @property
    def b_in(self) -> Tensor:
        return self.hidden.bias

    @property
    def W_U(self) -> Tensor:  # [d_vocab_out, d_mlp]
        return self.unembed.weight

    @property
    def b_U(self) -> Tensor:
        return self.unembed.bias

    @property
    def W_L(self) -> Tensor:
        """``[d_mlp, d_vocab_out]``: each neuron's direct effect on each logit (W_Uᵀ; the transformer's W_out·W_U)."""
        return self.W_U.T

    def params(self) -> MLPParams:
        """The module's own tensors as a stack of one (views: gradients reach the module)."""
        return mlp_params({k: v.unsqueeze(0) for k, v in self.named_tensors().items()}, self.cfg.act_fn,
                          self.cfg.combine)

    def named_tensors(self) -> dict[str, Tensor]:
        """State-dict name → the module's own parameter (frozen biases included)."""
        return dict(self.named_parameters())

    def _hook(self, name: str, x: Tensor) -> Tensor:
        # a stack of one is [1, batch, d]: its transpose is the [batch, pos = 1, d] the hook shows
        return getattr(self, name)(x.transpose(0, 1)).transpose(0, 1)

    def forward(self, tokens: Tensor) -> Tensor:
        """``[batch, n_ctx]`` int tokens (a at 0, b at 1) → logits ``[batch, 1, d_vocab_out]``."""
        return mlp_forward(self.params(), tokens, hook=self._hook).logits.transpose(0, 1)


def init_state(cfg: ModelConfig, n_symbols: int, d_vocab_out: int) -> dict[str, Tensor]:
    """The initial tensors, drawn from ``model.seed`` in state-dict order (see ``model.mlp_init``)."""
    generator = torch.Generator().manual_seed(cfg.seed)
    state = {}
    for name, shape in expected_shapes(cfg, n_symbols, d_vocab_out).items():
        t = torch.empty(shape)
        if cfg.mlp_init == "gromov":  # d-doshi/Grokking's fcn: N(0, 0.25/(2N)^(2/3)), no biases
            std = 0.5 / (2 * cfg.d_mlp) ** (1 / 3)
            t = t.normal_(0.0, std, generator=generator) if name.endswith("weight") else t.zero_()
        elif cfg.mlp_init == "chughtai":  # rep-theory-mech-interp's OneLayerMLP: N(0, 1/fan_in), no biases
            t = t.normal_(0.0, 1 / math.sqrt(shape[1]), generator=generator) if len(shape) == 2 else t.zero_()
        elif name in (SHARED, NAMES["W_E_a"], NAMES["W_E_b"]):  # nn.Embedding: N(0, 1)
            t.normal_(0.0, 1.0, generator=generator)
        else:  # nn.Linear: weight and bias U(±1/√fan_in)
            fan_in = shape[1] if len(shape) == 2 else _fan_in(cfg, name)
            bound = 1 / math.sqrt(fan_in)
            t.uniform_(-bound, bound, generator=generator)
        state[name] = t * cfg.init_scale
    return state


def _fan_in(cfg: ModelConfig, bias_name: str) -> int:
    """A bias's fan-in: its layer's input width."""
    if bias_name == NAMES["b_U"]:
        return cfg.d_mlp
    return {"concat": 2 * cfg.d_model, "sum": cfg.d_model, "direct": 2}[cfg.combine]  # direct: one-hot pair


def build_mlp(cfg: ModelConfig, task_cfg: Any, device: str | torch.device = "cpu") -> HookedMLP:
    """A freshly initialised ``HookedMLP`` for the task; untrained biases are zero with ``requires_grad=False``."""
    model = HookedMLP(cfg, task_cfg.n_symbols, task_cfg.d_vocab_out)
    model.load_state_dict(init_state(cfg, task_cfg.n_symbols, task_cfg.d_vocab_out), strict=True)
    if not cfg.train_biases:
        with torch.no_grad():
            for bias in (model.hidden.bias, model.unembed.bias):
                bias.zero_()
                bias.requires_grad_(False)
    model.eval()
    return model.to(torch.device(device))

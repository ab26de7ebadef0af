"""Parameters of R same-shaped models as one stack, and the way to and from TransformerLens bridges.

A stack is a dict ``name → [R, *shape]`` leaf, keyed by the bridge's state-dict names
(``embed.weight``, ``blocks.0.attn.q.weight``, ``blocks.0.mlp.in.bias``, ``unembed.weight``
…), the names its checkpoints use. Only *trained* tensors are stacked: a frozen
tensor is a zero bias (attention biases always; MLP biases unless
``model.train_biases``), which the forward leaves out, exactly.

An MLP (``model.kind = "mlp"``, ``grokkit.model.mlp``) is stacked the same way under its own
names (``embed_a.weight`` …); ``Shape.kind`` says which forward a stack feeds.

``params(stack, shape)`` turns the dict into the forward's typed ``Params`` (``MLPParams``);
``stack_bridges`` copies bridges in, ``copy_into_bridge`` copies one run back out (for
checkpoints and live measures), ``bridge_view`` is a stack of one made of views of a
bridge's own parameters (gradients reach the bridge).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from grokkit.model.forward import Block, Params
from grokkit.model.mlp_forward import MLPParams

# Block field → state-dict name inside "blocks.{l}."
_BLOCK_NAMES = {
    "W_Q": "attn.q.weight", "b_Q": "attn.q.bias", "W_K": "attn.k.weight", "b_K": "attn.k.bias",
    "W_V": "attn.v.weight", "b_V": "attn.v.bias", "W_O": "attn.o.weight", "b_O": "attn.o.bias",
    "W_in": "mlp.in.weight", "b_in": "mlp.in.bias", "W_out": "mlp.out.weight", "b_out": "mlp.out.bias",
    "ln1_w": "ln1.weight", "ln1_b": "ln1.bias", "ln2_w": "ln2.weight", "ln2_b": "ln2.bias",
}
_TOP_NAMES = {"W_E": "embed.weight", "W_pos": "pos_embed.weight", "W_U": "unembed.weight",
              "ln_final_w": "ln_final.weight", "ln_final_b": "ln_final.bias"}


@dataclass(frozen=True)
class Shape:
    """What the forward needs besides the tensors (shared by every run of a stack)."""

    n_layers: int
    n_heads: int
    act_fn: str
    eps: float = 1e-5
    attn_coeff: float = 1.0  # model.attn_coeff (the attention rate)
    kind: str = "transformer"  # model.kind: which forward the stack feeds
    combine: str = "concat"  # model.combine (the mlp kind)

    @classmethod
    def of(cls, bridge: Any) -> "Shape":
        if not hasattr(bridge, "original_model"):  # grokkit.model.mlp.HookedMLP
            return cls.of_config(bridge.cfg)
        cfg = bridge.original_model.cfg
        return cls(cfg.n_layers, cfg.n_heads, (cfg.act_fn or "relu").lower(), float(getattr(cfg, "eps", 1e-5)),
                   float(getattr(bridge, "grokkit_attn_coeff", 1.0)))

    @classmethod
    def of_config(cls, model_cfg: Any) -> "Shape":
        """The shape ``build_model(model_cfg, …)`` gives (TransformerLens's LayerNorm eps), without building it."""
        if model_cfg.kind == "mlp":
            return cls(1, 1, model_cfg.act_fn, kind="mlp", combine=model_cfg.combine)
        return cls(model_cfg.n_layers, model_cfg.n_heads, model_cfg.act_fn.lower(), 1e-5, float(model_cfg.attn_coeff))


def params(stack: dict[str, Tensor], shape: Shape) -> Params | MLPParams:
    """The typed view of a stack (no copies)."""
    if shape.kind == "mlp":
        from grokkit.model.mlp_names import mlp_params

        return mlp_params(stack, shape.act_fn, shape.combine)
    blocks = tuple(
        Block(**{field: stack.get(f"blocks.{layer}.{name}") for field, name in _BLOCK_NAMES.items()})
        for layer in range(shape.n_layers)
    )
    top = {field: stack.get(name) for field, name in _TOP_NAMES.items()}
    return Params(blocks=blocks, n_heads=shape.n_heads, act_fn=shape.act_fn, eps=shape.eps,
                  attn_coeff=shape.attn_coeff, **top)


def check_shapes(state: dict[str, Tensor], model_cfg: Any, task_cfg: Any) -> None:
    """Raise ``ValueError`` naming the first tensor ``params`` reads from one run's ``state`` (a checkpoint's
    weights, no run axis) whose shape is not what ``build_model(model_cfg, task_cfg)`` has, or that is missing
    (biases may be absent: frozen at zero)."""
    if model_cfg.kind == "mlp":
        from grokkit.model.mlp_names import expected_shapes

        expected = expected_shapes(model_cfg, task_cfg.n_symbols, task_cfg.d_vocab_out)
        return _check_against(state, expected)
    d, hd, mlp = model_cfg.d_model, model_cfg.n_heads * model_cfg.d_head, model_cfg.d_mlp
    d_out = task_cfg.d_vocab_out + (1 if model_cfg.eq_output else 0)
    block = {"W_Q": (hd, d), "W_K": (hd, d), "W_V": (hd, d), "W_O": (d, hd), "W_in": (mlp, d), "W_out": (d, mlp),
             "b_Q": (hd,), "b_K": (hd,), "b_V": (hd,), "b_O": (d,), "b_in": (mlp,), "b_out": (d,)}
    top = {"W_E": (task_cfg.d_vocab, d), "W_pos": (task_cfg.n_ctx, d), "W_U": (d_out, d)}
    expected = {_TOP_NAMES[field]: shape for field, shape in top.items()}
    for layer in range(model_cfg.n_layers):
        expected.update({f"blocks.{layer}.{_BLOCK_NAMES[field]}": shape for field, shape in block.items()})
    _check_against(state, expected)


def _check_against(state: dict[str, Tensor], expected: dict[str, tuple[int, ...]]) -> None:
    for name, shape in expected.items():
        if name not in state:
            if ".weight" in name:
                raise ValueError(f"{name} is missing")
        elif tuple(state[name].shape) != shape:
            raise ValueError(f"{name} is {tuple(state[name].shape)}, the model's is {shape}")


def trained_state(bridge: Any) -> dict[str, Tensor]:
    """State-dict name → the bridge's own parameter, for every tensor the optimiser trains, in a stable order."""
    module = getattr(bridge, "original_model", bridge)  # a bridge's native model, or the HookedMLP itself
    trained = {p.data_ptr(): p for p in module.parameters() if p.requires_grad}
    out = {}
    for name, tensor in bridge.state_dict().items():  # the state dict shares storage with the parameters
        param = trained.get(tensor.data_ptr())
        if param is not None and param.shape == tensor.shape:
            out[name] = param
    return out


def stack_bridges(bridges: list[Any]) -> dict[str, Tensor]:
    """Copy the trained tensors of same-shaped bridges into fresh ``[R, ...]`` leaves."""
    states = [trained_state(b) for b in bridges]
    return {name: torch.stack([s[name].detach() for s in states]).clone().requires_grad_(True) for name in states[0]}


@torch.no_grad()
def copy_into_bridge(stack: dict[str, Tensor], index: int, bridge: Any, padding: Any = None) -> None:
    """Write run ``index`` of the stack into a bridge's own parameters (cropped to its own widths when
    the stack is padded: ``padding``, a ``grokkit.model.pad.Padding``)."""
    own = trained_state(bridge)
    for name, value in stack.items():
        own[name].copy_(value[index] if padding is None else padding.crop(index, name, value[index]))


def bridge_view(bridge: Any) -> Params:
    """A stack of one run made of views of ``bridge``'s tensors, frozen biases included (so weights
    loaded into the bridge later, an imported model's non-zero biases among them, are seen as they are)."""
    trained = trained_state(bridge)
    state = {name: trained.get(name, tensor) for name, tensor in bridge.state_dict().items()}
    return params({k: v.unsqueeze(0) for k, v in state.items()}, Shape.of(bridge))


def select(stack: dict[str, Tensor], keep: Tensor) -> dict[str, Tensor]:
    """A new stack with only the runs in ``keep`` (fresh leaves)."""
    return {name: value.detach()[keep].clone().requires_grad_(True) for name, value in stack.items()}

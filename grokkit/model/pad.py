"""Runs of different widths in one stack: each run's tensors zero-padded to the widest, and masked.

A width sweep varies ``d_model``, ``d_mlp`` and ``d_head`` (``n_heads`` fixed). Run r's tensors are
built at its own shape (its own init and RNG, exactly as alone), then padded with zeros to the
stack's widest shape: residual dimensions beyond its ``d_model``, MLP neurons beyond its ``d_mlp``,
and inside every head the dimensions beyond its ``d_head`` (a ``[H·dh, …]`` axis is padded head by
head, ``[H, dh] → [H, dh_max]``).

Why a padded run computes what it computes alone (up to float summation order): every padded
entry is 0, so a padded residual dimension stays 0 through the embeddings, W_O and W_out; a
padded neuron's pre-activation is 0 and ReLU(0) = GELU(0) = 0; a padded head dimension adds
0·0 to every attention score, which is divided by the run's own √d_head (``Params.attn_scale``).
Each padded entry's gradient is a product with one of these zeros, and ``mask_grads`` zeroes it
anyway, so AdamW's moments stay 0, its update 0/(0 + ε) = 0 and its decay θ·(1 − lr·wd) = 0:
padded entries are exactly 0 after every step. LayerNorm averages over ``d_model``, so a model with
LayerNorm never pads ``d_model`` (``paddable``); the MLP model kind never pads.

``Padding`` holds the runs' widths, the masks ``name → [R, …]`` and the per-run √d_head; it pads
a run's tensors into the stack and crops them back out (checkpoints, optimiser and filter state
are always at the run's own shape).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import torch
from torch import Tensor

# the role of each axis of a trained tensor, by state-dict name (inside "blocks.{l}." for a block's)
_TOP_AXES = {"embed.weight": (None, "d_model"), "pos_embed.weight": (None, "d_model"),
             "unembed.weight": (None, "d_model"), "unembed.bias": (None,),
             "ln_final.weight": ("d_model",), "ln_final.bias": ("d_model",)}  # LayerNorm: d_model equal (paddable)
_BLOCK_AXES = {
    "attn.q.weight": ("head", "d_model"), "attn.k.weight": ("head", "d_model"), "attn.v.weight": ("head", "d_model"),
    "attn.q.bias": ("head",), "attn.k.bias": ("head",), "attn.v.bias": ("head",),
    "attn.o.weight": ("d_model", "head"), "attn.o.bias": ("d_model",),
    "mlp.in.weight": ("d_mlp", "d_model"), "mlp.in.bias": ("d_mlp",),
    "mlp.out.weight": ("d_model", "d_mlp"), "mlp.out.bias": ("d_model",),
    "ln1.weight": ("d_model",), "ln1.bias": ("d_model",), "ln2.weight": ("d_model",), "ln2.bias": ("d_model",),
}
WIDTHS = ("d_model", "d_mlp", "d_head")  # what may differ between the runs of a padded stack


class Widths(NamedTuple):
    """The widths of one run (or of a padded stack: the widest of each)."""

    d_model: int
    d_mlp: int
    d_head: int
    n_heads: int

    @classmethod
    def of(cls, model_cfg: Any) -> "Widths":
        return cls(model_cfg.d_model, model_cfg.d_mlp, model_cfg.d_head, model_cfg.n_heads)

    @classmethod
    def widest(cls, widths: Sequence["Widths"]) -> "Widths":
        return cls(*(max(w[i] for w in widths) for i in range(len(cls._fields))))


def paddable(model_cfg: Any) -> tuple[str, ...]:
    """The widths a run of this model may be padded in (``stack_key`` leaves them out)."""
    if model_cfg.kind != "transformer":
        return ()
    if model_cfg.layer_norm:  # LayerNorm's mean and variance run over d_model
        return ("d_mlp", "d_head")
    return WIDTHS


def axes(name: str) -> tuple[str | None, ...]:
    """The role of each axis of the trained tensor ``name`` (ValueError for one that cannot be padded)."""
    if name in _TOP_AXES:
        return _TOP_AXES[name]
    if name.startswith("blocks."):
        inner = name.split(".", 2)[2]
        if inner in _BLOCK_AXES:
            return _BLOCK_AXES[inner]
    raise ValueError(f"padding: no rule for the tensor {name!r} (the MLP kind does not pad)")


def resize(name: str, tensor: Tensor, src: Widths, dst: Widths) -> Tensor:
    """``tensor`` (trained tensor ``name`` of a model of widths ``src``, any leading axes) at widths ``dst``:
    zero-padded where ``dst`` is wider, cropped where it is narrower (a new tensor)."""
    roles = axes(name)
    n_lead = tensor.dim() - len(roles)
    lead = tensor.shape[:n_lead]
    src_split: list[int] = []  # a "head" axis as two, [H, dh], so each head is padded on its own
    dst_split: list[int] = []
    dst_shape: list[int] = []
    for size, role in zip(tensor.shape[n_lead:], roles):
        if role == "head":
            if size != src.n_heads * src.d_head:
                raise ValueError(f"padding: {name} has {size} head rows, its widths say {src.n_heads * src.d_head}")
            src_split += [src.n_heads, src.d_head]
            dst_split += [dst.n_heads, dst.d_head]
            dst_shape.append(dst.n_heads * dst.d_head)
        else:
            if role is not None and size != getattr(src, role):
                raise ValueError(f"padding: {name} is {size} wide in {role}, its widths say {getattr(src, role)}")
            new = size if role is None else getattr(dst, role)
            src_split.append(size)
            dst_split.append(new)
            dst_shape.append(new)
    out = tensor.new_zeros((*lead, *dst_split))
    common = tuple(slice(0, min(a, b)) for a, b in zip(src_split, dst_split))
    out[(Ellipsis, *common)] = tensor.reshape(*lead, *src_split)[(Ellipsis, *common)]
    return out.reshape(*lead, *dst_shape)


class Padding:
    """The widths of a padded stack's runs, their masks and attention scales (see the module docstring)."""

    def __init__(self, widths: Sequence[Widths], masks: dict[str, Tensor], attn_scale: Tensor):
        self.widths = list(widths)
        self.to = Widths.widest(self.widths)
        self.masks = masks  # name → [R, …] 1 on each run's own entries, 0 on its padding
        self.attn_scale = attn_scale  # [R] each run's own √d_head (the stack's d_head is the widest)

    @classmethod
    def needed(cls, model_cfgs: Sequence[Any]) -> bool:
        """True when the runs' widths differ (equal widths stack as they are: the default path)."""
        return len({Widths.of(m) for m in model_cfgs}) > 1

    def pad(self, index: int, name: str, tensor: Tensor) -> Tensor:
        """Run ``index``'s tensor ``name`` (own shape, any leading axes) at the stack's shape."""
        return resize(name, tensor, self.widths[index], self.to)

    def crop(self, index: int, name: str, tensor: Tensor) -> Tensor:
        """The stack's tensor ``name`` of run ``index`` (stack shape, any leading axes) at the run's own shape."""
        return resize(name, tensor, self.to, self.widths[index])

    @torch.no_grad()
    def mask_grads(self, stack: dict[str, Tensor]) -> None:
        """Zero the gradient of every padded entry (they are 0 already; this keeps them so whatever the filter)."""
        for name, p in stack.items():
            if p.grad is not None:
                p.grad.mul_(self.masks[name])

    def select(self, keep: Sequence[int]) -> None:
        """Follow a stack that kept only the runs at ``keep`` (the stack keeps its widest shape)."""
        idx = torch.tensor(list(keep), device=self.attn_scale.device)
        self.widths = [self.widths[i] for i in keep]
        self.masks = {name: m.index_select(0, idx) for name, m in self.masks.items()}
        self.attn_scale = self.attn_scale.index_select(0, idx)


def stack_padded(states: Sequence[dict[str, Tensor]], widths: Sequence[Widths]) -> tuple[dict[str, Tensor], Padding]:
    """Fresh ``[R, …]`` leaves of the runs' trained tensors (``grokkit.model.param_stack.trained_state``, each at
    its run's own shape), zero-padded to the widest run, and the ``Padding`` that masks and crops them."""
    if len({w.n_heads for w in widths}) > 1:
        raise ValueError("padding: every run of a padded stack has the same n_heads")
    to = Widths.widest(widths)
    names = list(states[0])
    stack = {name: torch.stack([resize(name, s[name].detach(), w, to) for s, w in zip(states, widths)])
             .clone().requires_grad_(True) for name in names}
    masks = {name: torch.stack([resize(name, torch.ones_like(s[name]), w, to) for s, w in zip(states, widths)])
             for name in names}
    some = stack[names[0]]
    scale = torch.tensor([float(w.d_head) ** 0.5 for w in widths], dtype=some.dtype, device=some.device)
    return stack, Padding(widths, masks, scale)

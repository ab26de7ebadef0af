"""Ablation hooks for ``model.run_with_hooks``: zero, mean, resample, and Fourier keep/remove.

Each builder returns a TransformerLens hook function ``fn(activation, hook) -> activation``
that returns an edited copy; attach it for one forward pass only::

    logits = model.run_with_hooks(tokens, fwd_hooks=[("blocks.0.mlp.hook_post", zero_ablation(index=[3, 7]))])

Activations are ``[batch, pos, …]`` at most hook points, so ``pos`` picks one position
(``-1``: the ``=`` token, the only one that feeds the loss) or ``None`` for all;
``index`` picks entries of the last axis (neurons, logits, …) or ``None`` for all.
The Fourier ablations need the batch to be the whole a-major input grid
(``run.dataset.tokens`` of an add or sub task).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import torch
from torch import Tensor

from grokkit.analysis.fourier import grid_directions, project

HookFn = Callable[[Tensor, Any], Tensor]
FOURIER_MODES = ("remove", "keep")


def _edit(act: Tensor, pos: int | None, index: Sequence[int] | None, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """A copy of ``act`` with ``fn`` applied to ``act[:, pos][..., index]`` (the batch stays on axis 0)."""
    out = act.clone()
    region = (slice(None),) + ((pos,) if pos is not None else ())
    view = out[region]
    if index is None:
        out[region] = fn(view)
    else:
        index = torch.as_tensor(index, device=act.device)
        view[..., index] = fn(view[..., index])
        out[region] = view
    return out


def zero_ablation(pos: int | None = None, index: Sequence[int] | None = None) -> HookFn:
    """Set the chosen entries to 0."""
    return lambda act, hook=None: _edit(act, pos, index, torch.zeros_like)


def mean_ablation(mean: Tensor, pos: int | None = None, index: Sequence[int] | None = None) -> HookFn:
    """Replace the chosen entries by ``mean`` (the activation averaged over a reference batch,
    shaped like one row of the selected region; see :func:`mean_activation`)."""
    return lambda act, hook=None: _edit(act, pos, index, lambda x: mean.to(x).expand_as(x))


@torch.no_grad()
def mean_activation(model: Any, tokens: Tensor, hook_name: str, pos: int | None = None,
                    index: Sequence[int] | None = None) -> Tensor:
    """Mean over ``tokens`` of the activation at ``hook_name`` (selected like the hooks select)."""
    _, cache = model.run_with_cache(tokens, names_filter=lambda name: name == hook_name)
    act = cache[hook_name]
    act = act[:, pos] if pos is not None else act
    act = act[..., torch.as_tensor(index)] if index is not None else act
    return act.mean(dim=0)


def resample_ablation(source: Tensor, pos: int | None = None, index: Sequence[int] | None = None,
                      seed: int = 0) -> HookFn:
    """Replace each input's entries by those of another input: ``source`` (the same hook's
    activations on a reference batch, selected like the hooks select) rows in a seeded random
    order, cycled if the batch is larger than ``source``."""
    generator = torch.Generator().manual_seed(seed)

    def hook_fn(act: Tensor, hook: Any = None) -> Tensor:
        rows = torch.randint(len(source), (act.shape[0],), generator=generator).to(source.device)
        return _edit(act, pos, index, lambda x: source[rows].to(x))

    return hook_fn


def fourier_ablation(p: int, freqs: Iterable[int], mode: str = "remove", sign: int = 1, pos: int | None = -1,
                     index: Sequence[int] | None = None) -> HookFn:
    """Remove or keep the (a ± b) Fourier directions of ``freqs`` along the batch axis.

    With D the unit vectors c_k ∝ cos(ω_k(a ± b)), s_k ∝ sin(…) over the p² grid
    (``grid_directions``) and X the selected activations flattened to ``[p², n]``:
    ``remove``: X − D Dᵀ X (the excluded-loss edit); ``keep``: D Dᵀ X + mean_rows(X − D Dᵀ X)
    (the restricted-loss edit). Computed in float64, returned in the activation's dtype.
    """
    if mode not in FOURIER_MODES:
        raise ValueError(f"mode: must be one of {', '.join(FOURIER_MODES)}, got {mode!r}")
    D = grid_directions(p, list(freqs), sign)  # [p*p, 2|K|]

    def edit(x: Tensor) -> Tensor:
        if x.shape[0] != p * p:
            raise ValueError(f"fourier_ablation: the batch must be the whole {p}×{p} input grid, got {x.shape[0]} rows")
        flat = x.reshape(p * p, -1).double()
        kept = project(D.to(flat.device), flat)
        out = flat - kept if mode == "remove" else kept + (flat - kept).mean(dim=0, keepdim=True)
        return out.reshape(x.shape).to(x.dtype)

    return lambda act, hook=None: _edit(act, pos, index, edit)

"""One checkpoint of a run as the measures see it, for readers beside the measures drivers (the report).

``checkpoint_context(run, step)`` is the run's context (``RunContext.of`` with the run's ``[measures]``
settings) and the checkpoint's ``Context``: its weights (``grokkit.model.load``) and its last-position
activations over the whole grid from the measures' producer (``grokkit.measures.activations``), so a
reader gets the numbers, the group, the grid, the key detection (``detect_keys``) and the self-check
(``keycheck.check_keys``) the measures use, not a copy of them.

A model whose weights the measures read by name (one layer, no LayerNorm; an MLP) is read straight from
the checkpoint's tensors, no model built (so no TransformerLens import). Any other is built, and its
activations read through its hooks (``activations.from_hooks``: layer 0's neurons and pattern, the
logits); the model itself stands for its weights, of which such a reader takes ``W_E`` only.
"""

from __future__ import annotations

from typing import Any

import torch

from grokkit.errors import ConfigError
from grokkit.measures.activations import from_hooks
from grokkit.measures.base import Context, RunContext


def checkpoint_context(run: Any, step: int | None = None, device: str | torch.device = "cpu") -> Context:
    """The checkpoint of ``run`` at ``step`` (default: the latest) as a measures ``Context``; key components
    are the spec's ``[measures] key_freqs`` when it gives them (else ``detect_keys`` on the context finds them)."""
    from grokkit.model.load import model_at, weights_at

    ckpt = run.checkpoint(step)
    cfg = run.config
    ctx_run = RunContext.of(run.dataset, device, cfg.measures, key_freqs=cfg.measures.key_freqs, metrics=run.metrics)
    try:
        return Context(ctx_run, ckpt.step, weights_at(ckpt, cfg.model, cfg.task, ctx_run.device))
    except ConfigError:  # deeper than one layer, or LayerNorm: no weights by name
        model = model_at(ckpt, cfg.model, cfg.task, ctx_run.device)
        return Context(ctx_run, ckpt.step, model, activations=lambda: from_hooks(model, ctx_run.tokens))

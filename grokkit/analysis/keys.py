"""The key frequencies of a model (Nanda et al. 2023), in its task's group: the one entry point
that reads a TransformerLens model, above the bases (``fourier``) and the groups they serve."""

from __future__ import annotations

from typing import Any

import torch

from grokkit.analysis.fourier import (
    KEY_FREQ_RULES,
    FourierNotApplicable,
    key_freqs_from_embedding,
    key_freqs_from_neurons,
)
from grokkit.analysis.groups import group_for, group_grid, key_components_from_logits
from grokkit.data.dataset import AlgorithmicDataset


def key_frequencies(model: Any, dataset: AlgorithmicDataset, rule: str = "neurons") -> list[int]:
    """The key frequencies of ``model`` on ``dataset``'s task (Nanda et al. 2023), in the task's group.

    ``rule="neurons"`` (default) clusters the post-ReLU activations at the last
    position, read through the ``blocks.0.mlp.hook_post`` hook; ``rule="embedding"``
    thresholds the W_E Fourier norms at max/4; ``rule="logits"`` the logits' shares at max/4. Over Z_p (add, sub) these are frequencies;
    over Z_p* (mul, div) frequencies over discrete logarithms; over S5 irreps (components
    1 … 6, ``grokkit.analysis.groups.s5``). Raises FourierNotApplicable for ops without a
    group circuit.
    """
    if rule not in KEY_FREQ_RULES:
        raise FourierNotApplicable(f"key-frequency rule {rule!r}: must be one of {', '.join(KEY_FREQ_RULES)}")
    group = group_for(dataset.cfg).to(model.W_E.device)
    group.require_circuit("key frequencies")
    if rule == "embedding":
        return key_freqs_from_embedding(group.basis, model.W_E.detach()[group.symbols])
    hook = "blocks.0.mlp.hook_post"
    with torch.no_grad():
        logits, cache = model.run_with_cache(dataset.tokens.to(model.W_E.device),
                                             names_filter=lambda name: name == hook)
    grid = group_grid(group, dataset)
    rows = grid.rows.to(model.W_E.device)
    if rule == "logits":
        grid_logits = logits[rows, -1, : dataset.cfg.n_symbols]
        return key_components_from_logits(group.basis, grid.labels.to(rows.device), grid_logits)
    return key_freqs_from_neurons(group.basis, cache[hook][rows, -1].double())

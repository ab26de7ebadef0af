"""Z_p, the group of add and sub: the Fourier basis of Nanda et al. 2023 (*Progress measures for grokking*)."""

from __future__ import annotations

import torch

from grokkit.analysis.fourier import fourier_basis
from grokkit.analysis.groups.base import TaskGroup
from grokkit.data.dataset import TaskConfig


def cyclic_group(task: TaskConfig) -> TaskGroup:
    """Z_p on the residues 0 … p−1 in their own order; component k is frequency k (rows cos k, sin k)."""
    p = task.p
    basis = fourier_basis(p)
    return TaskGroup(
        name=f"Z_{p}", kind="cyclic", basis=basis, symbols=torch.arange(p),
        component_names=tuple(f"k={k}" for k in range(1, basis.n_freqs + 1)), circuit=True,
        note=f"Z_{p}: the Fourier basis over the residues; the labels a ± b are group elements",
    )

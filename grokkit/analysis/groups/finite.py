"""Any finite group of ``task.group`` (op ``compose``), read in its computed real irreducible representations.

The tokens are the group's elements in ``grokkit.data.groups``' order, so ``symbols`` is
0 … n−1; the basis is ``grokkit.analysis.groups.irreps``: component k spans the matrix
coefficients of real irrep k (trivial first, as row 0). Labels a ∘ b are group elements, so
every circuit measure applies: key irreps by the logits rule, excluded and restricted loss
in that basis, the share of each irrep in the embeddings, unembedding and neurons
(Chughtai, Chan and Nanda 2023).
"""

from __future__ import annotations

import torch

from grokkit.analysis.groups.base import TaskGroup
from grokkit.analysis.groups.irreps import group_irreps
from grokkit.data.dataset import TaskConfig


def finite_group(task: TaskConfig) -> TaskGroup:
    """The task's group with the basis of its real irreps; component k is irrep k (``irreps.group_irreps``)."""
    group = task.finite_group
    info = group_irreps(group)
    names = tuple(f"{name} (dim {m})" if not name.startswith(("k=", f"{m}")) else name
                  for name, m in zip(info.names[1:], info.dims[1:]))
    return TaskGroup(
        name=group.name, kind="finite", basis=info.basis, symbols=torch.arange(group.n),
        component_names=names, circuit=True,
        note=(f"{group.name}: the basis of matrix coefficients of its {len(info.names)} real irreducible "
              f"representations, computed from its table (components 1 … {len(info.names) - 1})"),
    )

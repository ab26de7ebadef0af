"""The honest fallback for the polynomial and mixed ops: a 2-D Fourier view over Z_p, no circuit.

x²+y, x³+xy, "x+y if x even else x·y", … are not the operation of a group on the
residues, so no published circuit says which directions of the logit table carry the
answer. Their measures still look at the weights and the logit table in the Fourier
basis of Z_p along each axis (the embedding's Fourier norms, their Gini, neurons
clustered by 2-D frequency, the 2-D Fourier map of the logits) — a description, stated
as such. Excluded and restricted loss, the cos-cube and the key frequencies need
labels that are group elements and refuse these ops in one line.
"""

from __future__ import annotations

import torch

from grokkit.analysis.fourier import fourier_basis
from grokkit.analysis.groups.base import TaskGroup
from grokkit.data.dataset import TaskConfig


def generic_view(task: TaskConfig) -> TaskGroup:
    """The Fourier basis of Z_p on each operand, with ``circuit = False``."""
    p = task.p
    basis = fourier_basis(p)
    return TaskGroup(
        name=f"Z_{p} × Z_{p} (generic 2-D Fourier view)", kind="generic", basis=basis, symbols=torch.arange(p),
        component_names=tuple(f"k={k}" for k in range(1, basis.n_freqs + 1)), circuit=False,
        note=(f"op {task.op!r} ({task.operation.formula}) is not a group operation on the residues: only a generic "
              "2-D Fourier view applies, with no circuit (no key directions, no excluded/restricted loss)"),
    )

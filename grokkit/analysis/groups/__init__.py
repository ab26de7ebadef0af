"""The group behind every task: which basis the measures read a task's weights and logits in.

One module per group; each operation in ``grokkit.data.ops`` declares its
``analysis_group``, and ``group_for`` builds it. Adding a task with a new group means
adding a module here and one line in ``GROUPS``, not editing the measures.

- ``cyclic``: Z_p, add and sub (the paper's Fourier basis);
- ``multiplicative``: Z_p* ≅ Z_(p−1) through a discrete logarithm, mul and div;
- ``s5``: the three S5 ops, read in the irreps of S5 computed by ``irreps`` (the basis of compose over S5);
- ``finite``: any group of ``task.group`` (op compose), in real irreps computed from its table
  (``irreps``: characters by Burnside's algorithm, real/complex/quaternionic types by the
  Frobenius–Schur indicator);
- ``generic``: a 2-D Fourier view over Z_p, stated as such, for the other polynomial ops.
"""

from __future__ import annotations

from typing import Callable

from grokkit.analysis.groups.base import TaskGroup
from grokkit.analysis.groups.cyclic import cyclic_group
from grokkit.analysis.groups.finite import finite_group
from grokkit.analysis.groups.generic import generic_view
from grokkit.analysis.groups.multiplicative import multiplicative_group
from grokkit.analysis.groups.s5 import s5_group
from grokkit.data.dataset import TaskConfig

GROUPS: dict[str, Callable[[TaskConfig], TaskGroup]] = {
    "cyclic": cyclic_group,
    "multiplicative": multiplicative_group,
    "s5": s5_group,
    "finite": finite_group,
    "generic": generic_view,
}
"""``Operation.analysis_group`` → the function that builds that group for a task."""


def group_for(task: TaskConfig) -> TaskGroup:
    """The group the measures use for ``task``, as its operation declares."""
    return GROUPS[task.operation.analysis_group](task)


__all__ = ["GROUPS", "group_for"]

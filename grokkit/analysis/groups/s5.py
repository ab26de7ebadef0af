"""S5 for the three S5 ops (Chughtai, Chan and Nanda 2023, "A toy model of universality"), in the real irreps
computed for every finite group (``grokkit.analysis.groups.irreps``): one home for S5's basis.

The 120 permutations are indexed as in ``grokkit.data.ops`` (lexicographic order) and composed the
same way, (x∘y)(k) = x(y(k)); ``grokkit.data.groups.named_group("S5")`` lists them identically, so
``s5_compose`` and ``compose`` over ``"S5"`` read the same basis with the same component numbers. The
components, trivial first (``PARTITIONS`` names each by its partition; ``tests/test_analysis_groups.py``
checks each one's character against the formula of its partition and its projector against a basis
built by hand from the permutation representation):

=====  =======  =====================  ===========  ===  ============================
k      name     irrep                  partition    dim  hand-built number (≤ 12-07)
=====  =======  =====================  ===========  ===  ============================
1      4a       standard               (4,1)        4    2
2      5a       (3,2)                  (3,2)        5    4
3      6a       ∧²standard             (3,1,1)      6    6
4      5b       (3,2)⊗sign             (2,2,1)      5    5
5      4b       standard⊗sign          (2,1,1,1)    4    3
6      1b       sign                   (1,1,1,1,1)  1    1
=====  =======  =====================  ===========  ===  ============================

Until 2026-12-07 the S5 ops read a basis built by hand (sign, standard, standard⊗sign, (3,2),
(3,2)⊗sign, ∧²standard as components 1 … 6); the same subspaces, numbered differently. A ``key_freqs``
list written then reads in today's numbers through ``HAND_BUILT`` (``from_hand_built``).
"""

from __future__ import annotations

import torch

from grokkit.analysis.groups.base import TaskGroup
from grokkit.analysis.groups.irreps import group_irreps
from grokkit.data.dataset import TaskConfig
from grokkit.data.groups import named_group
from grokkit.data.ops import S5_ORDER

PARTITIONS = {"4a": "standard (4,1)", "5a": "(3,2)", "6a": "∧²standard (3,1,1)", "5b": "(3,2)⊗sign (2,2,1)",
              "4b": "standard⊗sign (2,1,1,1)", "1b": "sign (1,1,1,1,1)"}
"""The computed component name → the irrep's usual name and partition (checked by character in the tests)."""

HAND_BUILT = {1: 6, 2: 1, 3: 5, 4: 2, 5: 4, 6: 3}
"""The hand-built basis's component number (S5 ops' results up to 2026-12-07) → today's number of the same irrep."""


def from_hand_built(key_freqs: list[int]) -> list[int]:
    """Key components of an S5-op result written with the hand-built numbering, in today's numbers, sorted."""
    return sorted(HAND_BUILT[k] for k in key_freqs)


def s5_group(task: TaskConfig) -> TaskGroup:
    """S5 with its computed irreps; the three S5 ops' labels (x∘y, x∘y∘x⁻¹, x∘y∘x) are group elements."""
    info = group_irreps(named_group("S5"))
    return TaskGroup(
        name="S5", kind="s5", basis=info.basis, symbols=torch.arange(S5_ORDER),
        component_names=tuple(f"{name}: {PARTITIONS[name]}" for name in info.names[1:]), circuit=True,
        note=("S5: the basis of matrix coefficients of its 7 real irreducible representations, computed from its "
              "table (components 1 … 6: " + ", ".join(f"{k} {PARTITIONS[n]}" for k, n in
                                                     enumerate(info.names[1:], 1)) + ")"),
    )


__all__ = ["HAND_BUILT", "PARTITIONS", "from_hand_built", "s5_group"]

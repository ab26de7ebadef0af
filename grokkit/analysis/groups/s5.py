"""S5 and its irreducible representations (Chughtai, Chan and Nanda 2023, "A toy model of universality").

The 120 permutations are indexed as in ``grokkit.data.ops`` (lexicographic order) and
composed the same way, (x∘y)(k) = x(y(k)), so ``P(x∘y) = P(x)P(y)`` for the permutation
matrices ``P(x) e_k = e_{x(k)}``. The seven real irreducible representations, each
real orthogonal, are built from the permutation representation:

======================  ===========  =====  =============================================
component               partition    dim    built as
======================  ===========  =====  =============================================
(trivial: row const)    (5)          1      1
sign                    (1,1,1,1,1)  1      det P(x)
standard                (4,1)        4      P(x) restricted to the complement of (1,…,1)
standard⊗sign           (2,1,1,1)    4      sign · standard
(3,2)                   (3,2)        5      Sym²(standard) minus its trivial and standard parts
(3,2)⊗sign              (2,2,1)      5      sign · (3,2)
∧²standard              (3,1,1)      6      exterior square of standard (2×2 minors)
======================  ===========  =====  =============================================

The (3,2) part of Sym²(standard) = 1 ⊕ standard ⊕ (3,2) is cut out with the character
projector P = (d/|G|) Σ_g χ(g) ρ(g), χ = χ_Sym² − χ_standard − 1. The basis rows are
the matrix coefficients √(d/120)·ρ_ij(g): 1 + 1 + 16 + 16 + 25 + 25 + 36 = 120 of them,
orthonormal by Schur orthogonality (``tests/test_analysis_groups.py`` checks it, the
homomorphism property and the dimensions).
"""

from __future__ import annotations

import functools
import itertools
from typing import NamedTuple

import numpy as np
import torch

from grokkit.analysis.fourier import FourierBasis
from grokkit.analysis.groups.base import TaskGroup
from grokkit.data.dataset import TaskConfig
from grokkit.data.ops import S5_ORDER


class Irrep(NamedTuple):
    """One real orthogonal irreducible representation of S5."""

    name: str  # e.g. "standard"
    short: str  # prefix of its basis-row names, e.g. "std"
    matrices: np.ndarray  # [120, d, d]: ρ(g) for every permutation g

    @property
    def dim(self) -> int:
        return self.matrices.shape[1]


def permutations() -> list[tuple[int, ...]]:
    """The 120 permutations of 0 … 4 in ``grokkit.data.ops``'s (lexicographic) order."""
    return list(itertools.permutations(range(5)))


def permutation_matrices() -> np.ndarray:
    """``[120, 5, 5]``: P(x) with P(x) e_k = e_{x(k)}, so P(x∘y) = P(x) P(y)."""
    P = np.zeros((S5_ORDER, 5, 5))
    for i, perm in enumerate(permutations()):
        P[i, list(perm), range(5)] = 1
    return P


def _standard(P: np.ndarray) -> np.ndarray:
    # An orthonormal basis of the complement of (1, …, 1): the last 4 left singular vectors.
    basis = np.linalg.svd(np.ones((5, 1)))[0][:, 1:]  # [5, 4]
    return np.einsum("ia,gij,jb->gab", basis, P, basis)


def _exterior_square(A: np.ndarray) -> np.ndarray:
    pairs = list(itertools.combinations(range(A.shape[1]), 2))
    out = np.empty((len(A), len(pairs), len(pairs)))
    for r, (i, j) in enumerate(pairs):
        for c, (k, l) in enumerate(pairs):
            out[:, r, c] = A[:, i, k] * A[:, j, l] - A[:, i, l] * A[:, j, k]
    return out


def _symmetric_square(A: np.ndarray) -> np.ndarray:
    d = A.shape[1]
    basis = []  # orthonormal symmetric matrices: E_ii and (E_ij + E_ji)/√2
    for i in range(d):
        for j in range(i, d):
            E = np.zeros((d, d))
            E[i, j] = E[j, i] = 1.0
            basis.append(E / np.linalg.norm(E))
    basis = np.stack(basis)  # [10, d, d]
    moved = np.einsum("gij,tjk,glk->gtil", A, basis, A)  # A X_t Aᵀ for each basis matrix X_t
    return np.einsum("sil,gtil->gst", basis, moved)


def _isotypic(rho: np.ndarray, chi: np.ndarray, dim: int) -> np.ndarray:
    """Restrict ``rho`` to the copy of the irrep with character ``chi`` (appearing once) that it contains."""
    projector = dim / len(rho) * np.einsum("g,gij->ij", chi, rho)
    values, vectors = np.linalg.eigh((projector + projector.T) / 2)
    Q = vectors[:, values > 0.5]  # the projector's eigenvalues are 0 or 1
    assert Q.shape[1] == dim, f"expected a {dim}-dimensional isotypic part, got {Q.shape[1]}"
    return np.einsum("ia,gij,jb->gab", Q, rho, Q)


@functools.lru_cache(maxsize=1)
def s5_irreps() -> tuple[Irrep, ...]:
    """The seven irreps, trivial first, in the order of the module docstring's table."""
    P = permutation_matrices()
    sign = np.linalg.det(P).round()[:, None, None]  # [120, 1, 1]
    std = _standard(P)
    sym2 = _symmetric_square(std)
    chi_std = np.trace(std, axis1=1, axis2=2)
    chi_32 = np.trace(sym2, axis1=1, axis2=2) - chi_std - 1
    five = _isotypic(sym2, chi_32, 5)
    return (
        Irrep("trivial", "const", np.ones((S5_ORDER, 1, 1))),
        Irrep("sign", "sign", sign),
        Irrep("standard (4,1)", "std", std),
        Irrep("standard⊗sign (2,1,1,1)", "std·sign", std * sign),
        Irrep("(3,2)", "5", five),
        Irrep("(3,2)⊗sign (2,2,1)", "5·sign", five * sign),
        Irrep("∧²standard (3,1,1)", "∧²std", _exterior_square(std)),
    )


def s5_basis() -> FourierBasis:
    """Rows √(d/120)·ρ_ij over the 120 permutations, irrep by irrep; ``freqs`` is the irrep's index (0 trivial)."""
    rows, names, freqs = [], [], []
    for k, irrep in enumerate(s5_irreps()):
        d = irrep.dim
        for i in range(d):
            for j in range(d):
                rows.append(np.sqrt(d / S5_ORDER) * irrep.matrices[:, i, j])
                names.append(irrep.short if d == 1 else f"{irrep.short}[{i},{j}]")
                freqs.append(k)
    return FourierBasis(torch.tensor(np.stack(rows), dtype=torch.float64), names, freqs)


def s5_group(task: TaskConfig) -> TaskGroup:
    """S5 with its irreps; the three S5 ops' labels (x∘y, x∘y∘x⁻¹, x∘y∘x) are group elements."""
    return TaskGroup(
        name="S5", kind="s5", basis=s5_basis(), symbols=torch.arange(S5_ORDER),
        component_names=tuple(irrep.name for irrep in s5_irreps()[1:]), circuit=True,
        note="S5: the basis of matrix coefficients of its 7 irreducible representations (components 1 … 6)",
    )

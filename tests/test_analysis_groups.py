"""The group layer: S5 in its computed irreps against a basis built by hand, the discrete-log basis, and a task's
grid in group coordinates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grokkit.analysis.fourier import (
    FourierNotApplicable,
    fft2d,
    fourier_basis,
    frequency_block_shares,
    grid_directions,
)
from grokkit.analysis.groups import GROUPS, group_for
from grokkit.analysis.groups.base import group_grid, key_directions
from grokkit.analysis.groups.multiplicative import discrete_log, powers, primitive_root
from grokkit.analysis.groups.irreps import group_irreps, real_irreps
from grokkit.analysis.groups.s5 import HAND_BUILT, PARTITIONS, from_hand_built
from grokkit.data.dataset import AlgorithmicDataset, TaskConfig
from grokkit.data.groups import named_group
from grokkit.data.ops import OPERATIONS, _s5

# --- S5 -----------------------------------------------------------------------------
# A reference S5 basis built by hand from the permutation representation (the one grokkit's S5 ops read until
# 2026-12-07; grokkit now reads the irreps computed for every group, grokkit.analysis.groups.irreps): the
# computed basis must span the same subspaces, with the numbering stated in grokkit.analysis.groups.s5.

import itertools  # noqa: E402
from typing import NamedTuple  # noqa: E402


class Irrep(NamedTuple):
    name: str
    matrices: np.ndarray  # [120, d, d]

    @property
    def dim(self) -> int:
        return self.matrices.shape[1]


def permutation_matrices() -> np.ndarray:
    """``[120, 5, 5]``: P(x) e_k = e_{x(k)}, so P(x∘y) = P(x) P(y)."""
    P = np.zeros((120, 5, 5))
    for i, perm in enumerate(itertools.permutations(range(5))):
        P[i, list(perm), range(5)] = 1
    return P


def _standard(P):
    basis = np.linalg.svd(np.ones((5, 1)))[0][:, 1:]  # [5, 4]: the complement of (1, …, 1)
    return np.einsum("ia,gij,jb->gab", basis, P, basis)


def _exterior_square(A):
    pairs = list(itertools.combinations(range(A.shape[1]), 2))
    out = np.empty((len(A), len(pairs), len(pairs)))
    for r, (i, j) in enumerate(pairs):
        for c, (k, l) in enumerate(pairs):
            out[:, r, c] = A[:, i, k] * A[:, j, l] - A[:, i, l] * A[:, j, k]
    return out


def _symmetric_square(A):
    d = A.shape[1]
    basis = []
    for i in range(d):
        for j in range(i, d):
            E = np.zeros((d, d))
            E[i, j] = E[j, i] = 1.0
            basis.append(E / np.linalg.norm(E))
    basis = np.stack(basis)
    moved = np.einsum("gij,tjk,glk->gtil", A, basis, A)
    return np.einsum("sil,gtil->gst", basis, moved)


def _isotypic(rho, chi, dim):
    projector = dim / len(rho) * np.einsum("g,gij->ij", chi, rho)
    values, vectors = np.linalg.eigh((projector + projector.T) / 2)
    Q = vectors[:, values > 0.5]
    assert Q.shape[1] == dim
    return np.einsum("ia,gij,jb->gab", Q, rho, Q)


def s5_irreps() -> tuple[Irrep, ...]:
    """The seven irreps by hand, in the old numbering: trivial, sign, standard, standard⊗sign, (3,2), (3,2)⊗sign,
    ∧²standard (sign = det P; standard = P on the complement of (1, …, 1); (3,2) = Sym²(standard) minus its
    trivial and standard parts, cut out by its character projector)."""
    P = permutation_matrices()
    sign = np.linalg.det(P).round()[:, None, None]
    std = _standard(P)
    sym2 = _symmetric_square(std)
    chi_std = np.trace(std, axis1=1, axis2=2)
    five = _isotypic(sym2, np.trace(sym2, axis1=1, axis2=2) - chi_std - 1, 5)
    return (Irrep("trivial", np.ones((120, 1, 1))), Irrep("sign", sign), Irrep("standard", std),
            Irrep("standard⊗sign", std * sign), Irrep("(3,2)", five), Irrep("(3,2)⊗sign", five * sign),
            Irrep("∧²standard", _exterior_square(std)))


def test_s5_irreps_have_the_published_dimensions():
    dims = [irrep.dim for irrep in s5_irreps()]
    assert dims == [1, 1, 4, 4, 5, 5, 6]
    assert sum(d * d for d in dims) == 120  # Σ d² = |G|: the list is complete


def test_s5_irreps_are_orthogonal_homomorphisms():
    compose, _ = _s5()
    for irrep in s5_irreps():
        rho = irrep.matrices  # [120, d, d]
        # ρ(x∘y) = ρ(x) ρ(y), with the composition of grokkit.data.ops
        assert np.allclose(rho[compose], np.einsum("xij,yjk->xyik", rho, rho), atol=1e-12), irrep.name
        assert np.allclose(np.einsum("gij,gkj->gik", rho, rho), np.eye(irrep.dim), atol=1e-12), irrep.name


def test_s5_irreps_satisfy_schur_orthogonality():
    """Σ_g ρ_ij(g) σ_kl(g) = (|G|/d) δ_ρσ δ_ik δ_jl: distinct, irreducible, and complete."""
    irreps = s5_irreps()
    for a, rho in enumerate(irreps):
        for b, sigma in enumerate(irreps):
            inner = np.einsum("gij,gkl->ijkl", rho.matrices, sigma.matrices)
            if a == b:
                d = rho.dim
                expected = np.einsum("ik,jl->ijkl", np.eye(d), np.eye(d)) * 120 / d
            else:
                expected = np.zeros_like(inner)
            assert np.allclose(inner, expected, atol=1e-10), (rho.name, sigma.name)
    chars = np.stack([np.trace(r.matrices, axis1=1, axis2=2) for r in irreps])  # [7, 120]
    assert np.allclose(chars @ chars.T / 120, np.eye(7), atol=1e-10)


def test_the_s5_ops_read_the_computed_irreps_which_span_the_hand_built_subspaces_as_numbered():
    """One home for S5's basis: the S5 ops read ``group_irreps(named_group("S5"))``, the basis of compose over S5,
    and each of its components k spans the matrix coefficients of hand-built irrep j = HAND_BUILT⁻¹(k), with
    the same character and the same projector; PARTITIONS names each by the character of its partition."""
    group = group_for(TaskConfig(op="s5_compose"))
    computed = group_irreps(named_group("S5"))
    assert torch.equal(group.basis.F, computed.basis.F)
    assert torch.equal(group.basis.F, group_for(TaskConfig(op="compose", group="S5")).basis.F)
    hand = s5_irreps()
    now_of = {0: 0, **HAND_BUILT}
    assert sorted(now_of.values()) == list(range(7))
    for j, irrep in enumerate(hand):
        k = now_of[j]
        F = np.stack([np.sqrt(irrep.dim / 120) * irrep.matrices[:, a, b]
                      for a in range(irrep.dim) for b in range(irrep.dim)])  # its matrix coefficients
        rows = group.basis.F[group.basis.rows_of(k) if k else [0]].numpy()
        assert np.allclose(rows.T @ rows, F.T @ F, atol=1e-9), (irrep.name, k)  # the same projector
        assert np.allclose(real_irreps(named_group("S5"))[k].character, np.trace(irrep.matrices, axis1=1, axis2=2),
                           atol=1e-9), irrep.name
        if k:
            assert group.component_name(k).split(":")[1].strip().startswith(irrep.name), (irrep.name, k)
    assert set(PARTITIONS) == set(computed.names[1:])
    assert from_hand_built([1, 2]) == [1, 6]  # sign and standard, as the hand-built basis numbered them
    # the characters of the partitions, from the permutation matrices alone (cycle-type formulas)
    P = permutation_matrices()
    fixed = np.trace(P, axis1=1, axis2=2)
    sign = np.linalg.det(P).round()
    compose, _ = _s5()
    std = fixed - 1
    std_sq = std[compose[np.arange(120), np.arange(120)]]  # χ_std(g²)
    formula = {"standard (4,1)": std, "sign (1,1,1,1,1)": sign, "standard⊗sign (2,1,1,1)": std * sign,
               "∧²standard (3,1,1)": (std**2 - std_sq) / 2, "(3,2)": (std**2 + std_sq) / 2 - std - 1,
               "(3,2)⊗sign (2,2,1)": ((std**2 + std_sq) / 2 - std - 1) * sign}
    for k, name in enumerate(computed.names[1:], 1):
        assert np.allclose(real_irreps(named_group("S5"))[k].character, formula[PARTITIONS[name]], atol=1e-9), name


def test_s5_basis_is_orthonormal_with_components_by_irrep():
    basis = group_for(TaskConfig(op="s5_compose")).basis
    assert torch.allclose(basis.F @ basis.F.T, torch.eye(120, dtype=torch.float64), atol=1e-12)
    assert basis.names[0] == "const" and basis.freqs[0] == 0 and len(set(basis.names)) == 120
    assert [len(basis.rows_of(k)) for k in range(1, 7)] == [16, 25, 36, 25, 16, 1]  # 4a 5a 6a 5b 4b 1b
    sign_row = basis.F[basis.rows_of(6)[0]].numpy() * 120**0.5  # 1b, the sign (up to the sign of the row)
    assert np.allclose(np.abs(sign_row @ np.linalg.det(permutation_matrices())), 120, atol=1e-9)


# --- Z_p* through the discrete logarithm -------------------------------------------


@pytest.mark.parametrize("p", [5, 7, 13, 59, 113])
def test_primitive_root_and_discrete_log(p):
    g = primitive_root(p)
    residues = powers(g, p)
    assert sorted(residues.tolist()) == list(range(1, p))  # g generates every non-zero residue
    log = discrete_log(g, p)
    assert log[0] == -1
    for x, y in [(2, 3), (p - 1, p - 2), (1, 4 % p or 1)]:
        assert log[(x * y) % p] == (log[x] + log[y]) % (p - 1)


@pytest.mark.parametrize("p", [7, 59])
def test_discrete_log_basis_is_orthonormal(p):
    group = group_for(TaskConfig(op="mul", p=p))
    assert group.n == p - 1 and group.basis.p == p - 1
    F = group.basis.F
    assert torch.allclose(F @ F.T, torch.eye(p - 1, dtype=torch.float64), atol=1e-12)
    assert group.basis.names[-1] == f"cos {(p - 1) // 2}"  # p − 1 is even: the Nyquist row has no sine


@pytest.mark.parametrize("op", ["mul", "div"])
def test_mul_and_div_labels_are_sums_and_differences_of_logarithms(op):
    p = 11
    ds = AlgorithmicDataset(TaskConfig(op=op, p=p))
    group = group_for(ds.cfg)
    grid = group_grid(group, ds)
    assert len(grid.rows) == (p - 1) ** 2  # the pairs with a 0 operand are left out
    i, j = torch.meshgrid(torch.arange(p - 1), torch.arange(p - 1), indexing="ij")
    sign = 1 if op == "mul" else -1
    assert torch.equal(grid.labels, ((i + sign * j) % (p - 1)).reshape(-1))
    assert torch.equal(ds.x[grid.rows], group.symbols[i.reshape(-1)])
    assert len(grid.train) + len(grid.test) == len(grid.rows)


# --- every group op: its key directions are orthonormal ------------------------------


@pytest.mark.parametrize("op,p", [("add", 13), ("sub", 13), ("mul", 13), ("div", 13), ("s5_compose", 3),
                                  ("s5_conjugate", 3), ("s5_xyx", 3)])
def test_key_directions_are_orthonormal(op, p):
    ds = AlgorithmicDataset(TaskConfig(op=op, p=p))
    group = group_for(ds.cfg)
    keys = [1, 2, 3]
    dirs = key_directions(group.basis, group_grid(group, ds).labels, keys)
    m = dirs.D.shape[1]
    assert torch.allclose(dirs.D.T @ dirs.D, torch.eye(m, dtype=torch.float64), atol=1e-10)
    assert [s.stop - s.start for s in dirs.slices] == [len(group.basis.rows_of(k)) for k in keys]


@pytest.mark.parametrize("op,sign", [("add", 1), ("sub", -1)])
def test_add_and_sub_directions_are_the_papers(op, sign):
    p = 13
    ds = AlgorithmicDataset(TaskConfig(op=op, p=p))
    group = group_for(ds.cfg)
    grid = group_grid(group, ds)
    assert torch.equal(grid.rows, torch.arange(p * p)) and torch.equal(grid.train, ds.split.train)
    dirs = key_directions(group.basis, grid.labels, [2, 5])
    assert torch.allclose(dirs.D, grid_directions(p, [2, 5], sign), atol=1e-12)


def test_every_op_declares_a_group():
    for op in OPERATIONS.values():
        assert op.analysis_group in GROUPS, op.name
    assert {name for name, op in OPERATIONS.items() if op.analysis_group != "generic"} == {
        "add", "sub", "mul", "div", "s5_compose", "s5_conjugate", "s5_xyx", "compose"}


def test_generic_view_and_composite_mul_refuse_a_circuit_in_one_line():
    generic = group_for(TaskConfig(op="x2_plus_y", p=7))
    assert not generic.circuit and "generic" in generic.name
    with pytest.raises(FourierNotApplicable, match="not a group operation"):
        generic.require_circuit("excluded")
    with pytest.raises(FourierNotApplicable, match="prime"):
        group_for(TaskConfig(op="mul", p=12))
    with pytest.raises(FourierNotApplicable, match="1 … 6 for S5"):
        group_for(TaskConfig(op="s5_compose")).check_keys([7])


def test_block_shares_over_s5_match_the_definition():
    """The block-share shortcut over any basis: ({const} ∪ rows of k)² minus (const, const) of F·N·Fᵀ."""
    basis = group_for(TaskConfig(op="s5_compose")).basis
    acts = torch.randn(120 * 120, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    coeffs = fft2d(basis, acts - acts.mean(0))  # [120, 120, 3]
    total = coeffs.square().sum((0, 1))
    expected = []
    for k in range(1, 7):
        rows = [0] + basis.rows_of(k)
        block = coeffs[rows][:, rows].square().sum((0, 1)) - coeffs[0, 0].square()
        expected.append(block / total)
    assert torch.allclose(frequency_block_shares(basis, acts), torch.stack(expected), atol=1e-10)
    assert fourier_basis(7).n_freqs == 3

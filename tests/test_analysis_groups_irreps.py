"""Real irreducible representations computed from a group's table (grokkit.analysis.groups.irreps):
the homomorphism property, Schur orthogonality, Σ dim² = |G| counted by type (S5 against a basis built by hand: tests/test_analysis_groups.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grokkit.analysis.groups import group_for
from grokkit.analysis.groups.irreps import COMMUTANT, character_table, group_irreps, real_irreps
from grokkit.data.dataset import TaskConfig
from grokkit.data.groups import named_group

GROUPS = ["C_12", "C_7", "D_5", "D_6", "A4", "S4", "Q_8", "Dic_3", "A5", "C_4 x C_2", "S3 x C_2"]
TYPES = {  # (real dimension, type) of each non-trivial real irrep, as the character tables in any textbook
    "C_7": [(2, "complex")] * 3,
    "D_5": [(1, "real"), (2, "real"), (2, "real")],
    "A4": [(2, "complex"), (3, "real")],
    "S4": [(1, "real"), (2, "real"), (3, "real"), (3, "real")],
    "Q_8": [(1, "real")] * 3 + [(4, "quaternionic")],
    "A5": [(3, "real"), (3, "real"), (4, "real"), (5, "real")],
    "S5": [(1, "real"), (4, "real"), (4, "real"), (5, "real"), (5, "real"), (6, "real")],
}


@pytest.mark.parametrize("name", GROUPS)
def test_every_real_irrep_is_an_orthogonal_homomorphism(name):
    g = named_group(name)
    for irrep in real_irreps(g):
        s = irrep.matrices  # [n, m, m]
        assert np.allclose(s[g.table], np.einsum("xij,yjk->xyik", s, s), atol=1e-10), irrep.name  # σ(a∘b) = σ(a)σ(b)
        assert np.allclose(np.einsum("gij,gkj->gik", s, s), np.eye(irrep.dim), atol=1e-10), irrep.name


@pytest.mark.parametrize("name", GROUPS + ["S5"])
def test_schur_orthogonality_and_the_count_by_type(name):
    """Complex characters are orthonormal and Σ χ(1)² = |G|; over R, ⟨ψ, ψ⟩ = dim End_G(σ) = e (1 real,
    2 complex, 4 quaternionic), distinct real irreps have orthogonal matrix coefficients, and the spans
    m²/e add up to |G|."""
    g = named_group(name)
    table = character_table(g)
    sizes = np.array([len(c) for c in table.classes])
    gram = (table.chars * sizes) @ table.chars.conj().T / g.n
    assert np.allclose(gram, np.eye(len(sizes)), atol=1e-10)
    assert int((table.degrees**2).sum()) == g.n
    irreps = real_irreps(g)
    assert irreps[0].name == "trivial" and irreps[0].dim == 1
    for a, sigma in enumerate(irreps):
        assert np.isclose(sigma.character @ sigma.character / g.n, COMMUTANT[sigma.kind], atol=1e-10)
        for tau in irreps[a + 1:]:
            inner = np.einsum("gij,gkl->ijkl", sigma.matrices, tau.matrices)
            assert np.allclose(inner, 0, atol=1e-9), (sigma.name, tau.name)
        if sigma.kind == "real":  # Σ_g σ_ij σ_kl = (|G|/m) δ_ik δ_jl
            m = sigma.dim
            inner = np.einsum("gij,gkl->ijkl", sigma.matrices, sigma.matrices)
            assert np.allclose(inner, np.einsum("ik,jl->ijkl", np.eye(m), np.eye(m)) * g.n / m, atol=1e-9)
    assert sum(s.span for s in irreps) == g.n  # Σ m²/e = |G|: a complex-type 2-dim irrep counts 2, not 4


@pytest.mark.parametrize("name", list(TYPES))
def test_the_types_and_dimensions_are_the_textbook_ones(name):
    irreps = real_irreps(named_group(name))
    assert sorted((s.dim, s.kind) for s in irreps[1:]) == sorted(TYPES[name])


@pytest.mark.parametrize("name", ["C_12", "A4", "Q_8", "S4", "A5"])
def test_the_basis_is_orthonormal_with_one_component_per_real_irrep(name):
    g = named_group(name)
    info = group_irreps(g)
    F = info.basis.F
    assert torch.allclose(F @ F.T, torch.eye(g.n, dtype=torch.float64), atol=1e-10)
    for k, irrep in enumerate(real_irreps(g)):
        if k:
            assert len(info.basis.rows_of(k)) == irrep.span
        # component k's rows span exactly irrep k's matrix coefficients
        coeffs = irrep.matrices.reshape(g.n, -1).T  # [m², n]
        rows = F[info.basis.rows_of(k)].numpy() if k else F[:1].numpy()
        assert np.allclose(coeffs - coeffs @ rows.T @ rows, 0, atol=1e-9)
        assert np.linalg.matrix_rank(coeffs, tol=1e-8) == len(rows)


def test_cyclic_components_are_the_frequencies():
    group = group_for(TaskConfig(op="compose", group="C_12"))
    assert group.component_names == tuple(f"k={k}" for k in range(1, 7))
    i = np.arange(12)
    for k in (1, 5, 6):  # component k spans cos, sin(2πk i/12): the basis of Z_12
        rows = group.basis.F[group.basis.rows_of(k)].numpy()
        wave = np.cos(2 * np.pi * k * i / 12)
        assert np.allclose(rows.T @ (rows @ wave), wave, atol=1e-10)


def test_the_computation_is_deterministic():
    g = named_group("A4")
    first = group_irreps(g).basis.F.clone(), [s.matrices.copy() for s in real_irreps(g)]
    group_irreps.cache_clear()
    real_irreps.cache_clear()
    assert torch.equal(group_irreps(g).basis.F, first[0])
    assert all(np.array_equal(a, s.matrices) for a, s in zip(first[1], real_irreps(g)))

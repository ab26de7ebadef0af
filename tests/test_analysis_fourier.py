"""The Fourier layer: basis, transforms, weight norms, neuron clusters, key frequencies."""

from __future__ import annotations

import math

import pytest
import torch

from grokkit.analysis.fourier import (
    FourierNotApplicable,
    check_key_freqs,
    embedding_fourier_norms,
    fft1d,
    fft2d,
    fourier_basis,
    fourier_sign,
    frequency_block_shares,
    grid_directions,
    key_freqs_from_embedding,
    key_freqs_from_neurons,
    neuron_freq_clusters,
    per_frequency,
)
from grokkit.data.dataset import TaskConfig


@pytest.mark.parametrize("p", [5, 8, 13, 59])
def test_basis_is_orthonormal_with_named_rows(p):
    basis = fourier_basis(p)
    assert torch.allclose(basis.F @ basis.F.T, torch.eye(p, dtype=torch.float64), atol=1e-12)
    assert basis.names[0] == "const" and len(set(basis.names)) == p
    for k in range(1, (p - 1) // 2 + 1):
        assert basis.names[basis.cos_row(k)] == f"cos {k}" and basis.names[basis.sin_row(k)] == f"sin {k}"


def test_fft_is_invertible_and_finds_a_pure_frequency():
    p = 11
    basis = fourier_basis(p)
    x = torch.randn(p, 4, dtype=torch.float64)
    assert torch.allclose(basis.F.T @ fft1d(basis, x), x)
    a = torch.arange(p, dtype=torch.float64)
    grid = torch.cos(2 * math.pi * 3 * a)[:, None] * torch.sin(2 * math.pi * 3 * a / p)[None, :]
    coeffs = fft2d(basis, grid.reshape(p * p))  # a-major rows
    assert coeffs.shape == (p, p)
    big = (coeffs.abs() > 1e-9).nonzero().tolist()
    assert big == [[0, basis.row("sin 3")]]


@pytest.mark.parametrize("p", [7, 8])
def test_block_shares_match_the_real_basis(p):
    """The shortcut equals the definition: the {const, cos k, sin k}² block of F·N·Fᵀ."""
    basis = fourier_basis(p)
    acts = torch.randn(p * p, 5, dtype=torch.float64)
    coeffs = fft2d(basis, acts - acts.mean(0))  # [p, p, 5]
    total = coeffs.square().sum((0, 1))
    expected = []
    for k in range(1, p // 2 + 1):
        rows = [0] + [i for i, f in enumerate(basis.freqs) if f == k]
        block = coeffs[rows][:, rows].square().sum((0, 1)) - coeffs[0, 0].square()
        expected.append(block / total)
    assert torch.allclose(frequency_block_shares(basis, acts), torch.stack(expected), atol=1e-10)


def test_neuron_clusters_and_key_freqs_from_neurons():
    p = 13
    basis = fourier_basis(p)
    a = torch.arange(p, dtype=torch.float64)
    w = 2 * math.pi / p
    A, B = a[:, None], a[None, :]
    neurons = [
        torch.relu(torch.cos(w * 3 * (A + B) + 0.4) + 1.2),  # a frequency-3 wave above the ReLU threshold
        torch.cos(w * 5 * A) * torch.cos(w * 5 * B) + 0.3 * torch.sin(w * 5 * A),  # frequency 5
        torch.randn(p, p, generator=torch.Generator().manual_seed(0), dtype=torch.float64),  # noise
        torch.zeros(p, p, dtype=torch.float64),  # dead
    ]
    acts = torch.stack([n.reshape(-1) for n in neurons], dim=1)
    clusters = neuron_freq_clusters(basis, acts)
    assert clusters.freq[:2].tolist() == [3, 5]
    assert clusters.explained.tolist() == [True, True, False, False]
    assert clusters.frac_explained[1] == pytest.approx(1.0)
    assert clusters.frac_explained[3] == 0
    assert key_freqs_from_neurons(basis, acts) == [3, 5]


def test_embedding_norms_and_key_freqs_from_embedding():
    p, d = 17, 6
    basis = fourier_basis(p)
    coeffs = torch.zeros(p, d, dtype=torch.float64)
    coeffs[basis.row("cos 4"), 0] = 3.0
    coeffs[basis.row("sin 6"), 1] = 2.0
    coeffs[basis.row("cos 7"), 2] = 0.5  # below max/4
    W_E = torch.cat([basis.F.T @ coeffs, torch.randn(1, d, dtype=torch.float64)])  # + the '=' row, ignored
    norms = embedding_fourier_norms(basis, W_E)
    assert norms[basis.row("cos 4")] == pytest.approx(3.0) and norms[basis.row("sin 6")] == pytest.approx(2.0)
    assert per_frequency(basis, norms)[4 - 1] == pytest.approx(3.0)
    assert key_freqs_from_embedding(basis, W_E) == [4, 6]


@pytest.mark.parametrize("op,sign", [("add", 1), ("sub", -1)])
def test_grid_directions_are_orthonormal_waves_in_a_plus_minus_b(op, sign):
    p = 11
    assert fourier_sign(TaskConfig(op=op, p=p)) == sign
    D = grid_directions(p, [2, 5], sign)
    assert torch.allclose(D.T @ D, torch.eye(4, dtype=torch.float64), atol=1e-12)
    a, b = 3, 7
    expected = math.cos(2 * math.pi * 5 * (a + sign * b) / p) / math.sqrt(p * p / 2)
    assert D[a * p + b, 2].item() == pytest.approx(expected)


def test_fourier_story_only_for_add_and_sub():
    with pytest.raises(FourierNotApplicable, match="add and sub only"):
        fourier_sign(TaskConfig(op="mul", p=7))
    with pytest.raises(FourierNotApplicable, match="1 … 6"):
        check_key_freqs(13, [2, 7])
    assert check_key_freqs(13, [5, 2, 5]) == [2, 5]

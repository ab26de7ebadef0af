"""Dimensionality identities (Elhage et al. 2022) and the registered measures."""

import math

import pytest
import torch

from grokkit.toy import dimensionality


def polygon(k, m=2):
    angles = torch.arange(k) * 2 * math.pi / k
    V = torch.zeros(k, m)
    V[:, 0], V[:, 1] = torch.cos(angles), torch.sin(angles)
    return V


def test_antipodal_pair_is_one_half():
    V = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]])
    torch.testing.assert_close(dimensionality(V), torch.tensor([0.5, 0.5, 0.0]))


def test_pentagon_is_two_fifths():
    torch.testing.assert_close(dimensionality(polygon(5) * 1.7), torch.full((5,), 0.4))


@pytest.mark.parametrize("T", [3, 5, 7, 12])
def test_regular_T_gon_is_m_over_T(T):
    torch.testing.assert_close(dimensionality(polygon(T) * 0.3), torch.full((T,), 2 / T))


def test_triangle_tetrahedron_and_orthogonal():
    torch.testing.assert_close(dimensionality(polygon(3)), torch.full((3,), 2 / 3))
    tetra = torch.tensor([[1.0, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]])
    torch.testing.assert_close(dimensionality(tetra), torch.full((4,), 0.75))
    torch.testing.assert_close(dimensionality(torch.eye(4) * 3), torch.ones(4))


def test_quadratic_form_equals_pairwise_definition():
    V = torch.randn(30, 3)
    Vhat = V / V.norm(dim=1, keepdim=True)
    direct = V.pow(2).sum(1) / ((Vhat @ V.T) ** 2).sum(1)
    torch.testing.assert_close(dimensionality(V), direct)
    assert dimensionality(torch.randn(2, 4, 10, 2)).shape == (2, 4, 10)  # batched

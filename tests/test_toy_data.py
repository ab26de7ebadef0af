"""Sparse unit-norm data: sparsity, normalisation, reproducibility, repetition."""

import torch

from grokkit.toy import ToyInstance, make_dataset, sample_points


def test_points_are_sparse_unit_norm():
    pts = sample_points(3000, 200, 0.95, torch.Generator().manual_seed(0))
    X = pts.dense()
    present = (X > 0).float().mean()
    assert abs(float(present) - 0.05) < 0.005
    norms = X.norm(dim=1)
    nonzero = norms > 0
    torch.testing.assert_close(norms[nonzero], torch.ones(int(nonzero.sum())))


def test_unnormalised_values_are_uniform():
    X = sample_points(2000, 100, 0.5, torch.Generator().manual_seed(1), normalise=False).dense()
    values = X[X > 0]
    assert abs(float(values.mean()) - 0.5) < 0.01 and float(values.max()) <= 1.0


def test_dataset_is_reproducible_and_repeats_point_zero():
    a = ToyInstance(n=100, m=2, S=0.9, T=50, R=1, weight_decay=0.01, data_seed=3, init_seed=0)
    b = ToyInstance(n=100, m=5, S=0.9, T=50, R=7, weight_decay=1.0, data_seed=3, init_seed=2)
    da, db = make_dataset(a), make_dataset(b)
    Xa, Xb = da.train.dense(), db.train.dense()
    assert torch.equal(Xa[7:], Xb[7:])  # R only overwrites rows 1 … R−1
    assert torch.equal(Xb[:7], Xa[0].expand(7, -1))
    assert torch.equal(da.test.dense(), db.test.dense())  # test set independent of T, R, m
    other_T = make_dataset(ToyInstance(n=100, m=2, S=0.9, T=80, R=1, weight_decay=0.01, data_seed=3, init_seed=0))
    assert torch.equal(other_T.test.dense(), da.test.dense())

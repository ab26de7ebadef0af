"""Sparse data points of the toy model, stored sparsely.

A point has n features, each 0 with probability S and otherwise uniform on [0, 1];
the finite-data paper rescales every point to unit L2 norm (an all-zero point stays
all-zero instead of becoming NaN). At S = 0.999 a point has about n(1 − S) = 10
non-zeros, so points are stored as padded (index, value) lists: ``idx`` and ``val``
of shape [T, k] with k the largest non-zero count; padding slots carry value 0.

Each dataset is drawn from its own generator, seeded from the model's settings
only, so a model sees the same data whether it trains alone or among others.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from grokkit.data.seeds import derive_seed
from grokkit.toy.config import ToyInstance

ROW_BLOCK = 4096  # rows sampled at once: bounds the dense [rows, n] uniform draw


@dataclass
class SparsePoints:
    """T points in padded sparse form."""

    idx: torch.Tensor
    """[T, k] int64 feature indices (padding: 0)."""
    val: torch.Tensor
    """[T, k] float32 feature values (padding: 0)."""
    n: int
    """Number of features."""

    @property
    def T(self) -> int:
        return self.idx.shape[0]

    def dense(self) -> torch.Tensor:
        """[T, n] dense points (tests and small sets only)."""
        out = torch.zeros(self.T, self.n, dtype=self.val.dtype, device=self.val.device)
        return out.scatter_add_(1, self.idx, self.val)

    def to(self, device: str | torch.device) -> "SparsePoints":
        return SparsePoints(self.idx.to(device), self.val.to(device), self.n)


def sample_points(T: int, n: int, S: float, generator: torch.Generator, normalise: bool = True) -> SparsePoints:
    """T points with each feature 0 w.p. S, else U[0, 1]; unit L2 norm when ``normalise`` (zero stays zero)."""
    rows_idx, rows_val = [], []
    for start in range(0, T, ROW_BLOCK):
        rows = min(ROW_BLOCK, T - start)
        # one draw decides presence and value: u < 1 − S is present, and u / (1 − S) is then U[0, 1]
        u = torch.rand(rows, n, generator=generator)
        present = u < 1.0 - S
        values = torch.where(present, u / (1.0 - S), torch.zeros(()))
        counts = present.sum(1)
        k = max(int(counts.max()), 1)
        # stable sort puts present features first, in index order
        order = torch.sort((~present).to(torch.int8), dim=1, stable=True).indices[:, :k]
        val = values.gather(1, order)
        idx = torch.where(val > 0, order, torch.zeros((), dtype=order.dtype))
        rows_idx.append(idx)
        rows_val.append(val)
    k = max(t.shape[1] for t in rows_idx)
    idx = torch.cat([torch.nn.functional.pad(t, (0, k - t.shape[1])) for t in rows_idx])
    val = torch.cat([torch.nn.functional.pad(t, (0, k - t.shape[1])) for t in rows_val])
    if normalise:
        norm = val.norm(dim=1, keepdim=True)
        val = val / norm.clamp_min(torch.finfo(val.dtype).tiny)  # the all-zero point: 0 / tiny = 0, not NaN
    return SparsePoints(idx, val, n)


@dataclass
class ToyDataset:
    """The training and test points of one model."""

    train: SparsePoints
    """T training points; rows 0 … R−1 are copies of one point when R > 1."""
    test: SparsePoints
    """Fresh points drawn and normalised the same way."""


def make_dataset(instance: ToyInstance) -> ToyDataset:
    """The dataset of one model, reproducible from its settings alone.

    The training set depends on (n, S, T, data_seed); repetition only overwrites rows
    1 … R−1 with row 0, so a sweep over R changes nothing else. The test set does not
    depend on T, so the test-loss curve over T is measured on the same points.
    """
    inst = instance
    train_gen = torch.Generator().manual_seed(derive_seed("train", inst.n, inst.S, inst.T, inst.data_seed))
    train = sample_points(inst.T, inst.n, inst.S, train_gen, inst.normalise)
    if inst.R > 1:
        train.idx[1 : inst.R] = train.idx[0]
        train.val[1 : inst.R] = train.val[0]
    test_gen = torch.Generator().manual_seed(derive_seed("test", inst.n, inst.S, inst.data_seed))
    test = sample_points(inst.test_points, inst.n, inst.S, test_gen, inst.normalise)
    return ToyDataset(train, test)


@dataclass
class PointBatch:
    """The points of I models, padded to a common T and k (the instance axis leads)."""

    idx: torch.Tensor
    """[I, T_max, k] int64 feature indices."""
    val: torch.Tensor
    """[I, T_max, k] float32 values (0 in padding rows and slots)."""
    row_mask: torch.Tensor | None
    """[I, T_max] bool, true for real points; None when every model has T_max points."""
    T: torch.Tensor
    """[I] float32 number of real points (each model's loss is divided by its own T)."""
    sq_sum: torch.Tensor
    """[I] float32 Σ_t ‖x_t‖², the loss of predicting zero, times T."""

    @property
    def instances(self) -> int:
        return self.idx.shape[0]


def stack_points(sets: list[SparsePoints], device: str | torch.device = "cpu") -> PointBatch:
    """Pad point sets to a common shape and stack them on a leading instance axis."""
    T_max = max(s.T for s in sets)
    k = max(s.idx.shape[1] for s in sets)
    idx = torch.zeros(len(sets), T_max, k, dtype=torch.int64)
    val = torch.zeros(len(sets), T_max, k)
    for i, s in enumerate(sets):
        idx[i, : s.T, : s.idx.shape[1]] = s.idx
        val[i, : s.T, : s.val.shape[1]] = s.val
    T = torch.tensor([float(s.T) for s in sets])
    row_mask = None
    if any(s.T != T_max for s in sets):
        row_mask = torch.arange(T_max)[None, :] < T[:, None]
        row_mask = row_mask.to(device)
    sq_sum = val.pow(2).sum((1, 2))
    return PointBatch(idx.to(device), val.to(device), row_mask, T.to(device), sq_sum.to(device))

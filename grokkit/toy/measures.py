"""Measurements of trained toy models: dimensionalities, norms, losses.

Dimensionality of a vector v_i among vectors {v_j} (Elhage et al. 2022):

    D_i = ‖v_i‖² / Σ_j (v̂_i · v_j)²      (the sum includes j = i; 0 ≤ D_i ≤ 1)

Since Σ_j (v̂_i · v_j)² = v̂_iᵀ M v̂_i with M = Σ_j v_j v_jᵀ (m × m), D_i = ‖v_i‖⁴ / v_iᵀ M v_i,
which costs O(N m²) instead of O(N² m): the data-point version runs at T = 10⁵.
Feature dimensionality uses the columns W_j; data-point dimensionality the hidden
vectors h_t = W x_t of the training points. Reference values: antipodal pair ½,
pentagon ⅖, regular T-gon in m dimensions m/T, unlearned 0.

Each per-model scalar is a named entry of ``SCALARS`` (name → function of a
``ModelView``); adding a measure is one function and one registry line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

PENTAGON_BAND = (0.25, 0.45)  # a pentagon vertex: 2/5, pulled down by the many small features
SMALL_DIM = 0.05  # below this a feature or point counts as not represented
MEMORISED_LOSS = 0.5  # a point is memorised when its loss ‖x − x'‖² falls below half the loss of predicting 0


def dimensionality(V: torch.Tensor) -> torch.Tensor:
    """D_i = ‖v_i‖⁴ / v_iᵀ (Σ_j v_j v_jᵀ) v_i for V [..., N, m] → [..., N]; 0 for a zero vector."""
    V = V.double()  # the ratio of fourth powers loses float32 precision for small vectors
    M = V.transpose(-1, -2) @ V  # [..., m, m]
    quad = ((V @ M) * V).sum(-1)  # [..., N] v_iᵀ M v_i
    norm4 = V.pow(2).sum(-1).pow(2)
    return torch.where(quad > 0, norm4 / quad.clamp_min(1e-300), torch.zeros(())).float()


@dataclass
class ModelView:
    """Everything measured about one trained model (its real T and m only, no padding)."""

    W: torch.Tensor
    """[m, n] weights."""
    b: torch.Tensor
    """[n] bias."""
    H: torch.Tensor
    """[T, m] hidden vectors of the training points."""
    point_losses: torch.Tensor
    """[T] ‖x_t − x'_t‖² of the training points."""
    train_loss: float
    """Full-batch train loss."""
    test_loss: float
    """Test loss on fresh points."""
    R: int
    """Copies of point 0 in the training set."""

    @property
    def feature_dims(self) -> torch.Tensor:
        """[n] feature dimensionalities."""
        return dimensionality(self.W.T)

    @property
    def point_dims(self) -> torch.Tensor:
        """[T] data-point dimensionalities."""
        return dimensionality(self.H)


def _point_dim_rel_err(v: ModelView) -> float:
    """max_t |D_t − m/T| / (m/T): 0 when the points form a regular T-gon."""
    m, T = v.W.shape[0], v.H.shape[0]
    return float(((v.point_dims - m / T).abs() / (m / T)).max())


def _repeated_dim(v: ModelView) -> float:
    """Dimensionality of the repeated point among the distinct points (its R−1 copies left out)."""
    return float(dimensionality(v.H[v.R - 1 :])[0])


def _top_feature_dims(v: ModelView, k: int = 8) -> list[float]:
    return [round(float(d), 5) for d in v.feature_dims.topk(min(k, v.W.shape[1])).values]


SCALARS: dict[str, Callable[[ModelView], object]] = {
    "train_loss": lambda v: v.train_loss,
    "test_loss": lambda v: v.test_loss,
    "W_fro": lambda v: float(v.W.norm()),
    "b_norm": lambda v: float(v.b.norm()),
    "W_col_norm_max": lambda v: float(v.W.norm(dim=0).max()),
    "h_norm_mean": lambda v: float(v.H.norm(dim=1).mean()),
    "h_norm_max": lambda v: float(v.H.norm(dim=1).max()),
    "top_feature_dims": _top_feature_dims,
    "n_pentagon_band": lambda v: int(((v.feature_dims >= PENTAGON_BAND[0]) & (v.feature_dims <= PENTAGON_BAND[1])).sum()),
    "n_features_above_small": lambda v: int((v.feature_dims >= SMALL_DIM).sum()),
    "point_dim_mean": lambda v: float(v.point_dims.mean()),
    "point_dim_rel_err_max": _point_dim_rel_err,
    "n_points_above_small": lambda v: int((v.point_dims >= SMALL_DIM).sum()),
    "repeated_loss": lambda v: float(v.point_losses[0]),
    "repeated_dim": _repeated_dim,
    "repeated_memorised": lambda v: bool(v.point_losses[0] < MEMORISED_LOSS),
}


def is_pentagon(row: dict) -> bool:
    """Exactly five features in the pentagon band and every other one below SMALL_DIM."""
    return row["n_pentagon_band"] == 5 and row["n_features_above_small"] == 5


def measure(view: ModelView) -> dict[str, object]:
    """Every registered scalar of one model."""
    return {name: fn(view) for name, fn in SCALARS.items()}


def model_views(result, instances) -> list[ModelView]:
    """One ModelView per trained model of a ``TrainedModels``, trimmed to its own T and m."""
    models, train = result.models, result.train
    H_all = models.hidden_all(train)  # [I, T_max, m_max]
    losses = models.point_losses(train)  # [I, T_max]
    views = []
    for i, inst in enumerate(instances):
        views.append(
            ModelView(
                W=models.W[i, : inst.m].cpu(),
                b=models.b[i].cpu(),
                H=H_all[i, : inst.T, : inst.m].cpu(),
                point_losses=losses[i, : inst.T].cpu(),
                train_loss=float(result.train_loss[i]),
                test_loss=float(result.test_loss[i]),
                R=inst.R,
            )
        )
    return views

"""The embedding of a checkpoint seen through the final checkpoint's circuit (the lottery-ticket question).

Is the circle already there early? Project this checkpoint's W_E onto directions of
the FINAL W_E: the d_model directions that carry its key frequencies, and its top
principal components. Offline only (live training has no final checkpoint yet).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from grokkit.measures.base import Context, Measure, MeasureError


class EmbeddingProjection(NamedTuple):
    embed_key_dir_frac: float  # share of centred W_E[:p] variance along the final key-frequency directions
    embed_top_pc_frac: float  # … along the final W_E's top 2|K| principal components
    embed_circle_frac: dict[str, float]  # {"k": share of the 2-D projection on final (cos k, sin k) that is a frequency-k circle}


def _span(vectors: Tensor) -> Tensor:
    """Orthonormal basis ``[d, r]`` of the span of the rows of ``vectors [r, d]``."""
    q, r = torch.linalg.qr(vectors.T)
    keep = r.diagonal().abs() > 1e-9 * r.diagonal().abs().max().clamp_min(1e-30)
    return q[:, keep]


def embedding_projection(ctx: Context) -> EmbeddingProjection:
    """Shares of ‖X‖² with X = W_E[:p] − mean over tokens, projected onto final-checkpoint directions.

    Key directions: rows cos k, sin k (k ∈ K) of F·W_E_final[:p], each a d_model vector.
    Top PCs: the first 2|K| right singular vectors of the centred final W_E[:p].
    Circle share for k: z = X·Q_k (Q_k spans the final cos k, sin k directions, [p, 2]);
    share = ‖(F z)_{cos k, sin k}‖² / ‖z‖², 1 when the tokens sit on a frequency-k circle there.
    """
    run = ctx.run
    if run.final_W_E is None:
        raise MeasureError("embedding_projection compares with the final checkpoint, so it runs offline only "
                           "(`grokkit measure RUN`), not live during training")
    basis, p, freqs = run.basis, run.p, ctx.key_freqs
    F = basis.F  # [p, p]
    X = ctx.weights.W_E.detach()[:p].double()
    X = X - X.mean(0)
    final = run.final_W_E[:p].double().to(X.device)
    final_c = final - final.mean(0)
    total = X.square().sum().clamp_min(1e-30)
    rows = [r for k in freqs for r in (basis.cos_row(k), basis.sin_row(k)) if r < p]
    fourier_final = F @ final  # [p, d_model]
    key_frac = (X @ _span(fourier_final[rows])).square().sum() / total if rows else torch.zeros(())
    n_pc = max(2 * len(freqs), 1)
    top = torch.linalg.svd(final_c, full_matrices=False).Vh[:n_pc]  # [n_pc, d_model]
    pc_frac = (X @ top.T).square().sum() / total
    circle = {}
    for k in freqs:
        k_rows = [r for r in (basis.cos_row(k), basis.sin_row(k)) if r < p]
        z = X @ _span(fourier_final[k_rows])  # [p, ≤2]
        circle[str(k)] = ((F[k_rows] @ z).square().sum() / z.square().sum().clamp_min(1e-30)).item()
    return EmbeddingProjection(key_frac.item(), pc_frac.item(), circle)


EMBEDDING_PROJECTION = Measure("embedding_projection", embedding_projection, EmbeddingProjection,
                               fourier=True, needs_final=True)

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
    """Shares of ‖X‖² with X = W_E[symbols] − mean over tokens, projected onto final-checkpoint directions.

    In the task's group basis (the group's symbols only; component k's rows for "cos k, sin k").

    Key directions: rows cos k, sin k (k ∈ K) of F·W_E_final[:p], each a d_model vector.
    Top PCs: the first 2|K| right singular vectors of the centred final W_E[:p].
    Circle share for k: z = X·Q_k (Q_k spans the final cos k, sin k directions, [p, 2]);
    share = ‖(F z)_{cos k, sin k}‖² / ‖z‖², 1 when the tokens sit on a frequency-k circle there.
    """
    run = ctx.run
    if run.final_W_E is None:
        raise MeasureError("embedding_projection compares with the final checkpoint, so it runs offline only "
                           "(`grokkit measure RUN`), not live during training")
    freqs = ctx.key_freqs
    final = run.memo(("final_embedding", tuple(freqs)), lambda: _final_directions(run, freqs))
    X = ctx.weights.W_E.detach()[run.group.symbols].double()
    X = X - X.mean(0)  # [p, d_model]
    total = X.square().sum().clamp_min(1e-30)
    share = lambda Q: ((X @ Q).square().sum() / total).item()  # noqa: E731
    circle = {}
    for k, (rows, Q_k) in zip(freqs, final.per_freq):
        z = X @ Q_k  # [p, ≤2]: tokens in the plane of the final frequency-k directions
        circle[str(k)] = ((run.basis.F[rows] @ z).square().sum() / z.square().sum().clamp_min(1e-30)).item()
    return EmbeddingProjection(share(final.key), share(final.top_pcs), circle)


class _FinalDirections(NamedTuple):
    key: Tensor  # [d_model, ≤2|K|] orthonormal span of the final key-frequency directions
    top_pcs: Tensor  # [d_model, 2|K|] the final W_E's top principal directions
    per_freq: list[tuple[list[int], Tensor]]  # (basis rows of k, [d_model, ≤2] span) per key frequency


def _final_directions(run, freqs: list[int]) -> _FinalDirections:
    basis = run.basis
    final = run.final_W_E[run.group.symbols.to(run.final_W_E.device)].double().to(run.device)
    fourier_final = basis.F @ final  # [n, d_model]: row f is the d_model direction of basis row f
    rows = {k: basis.rows_of(k) for k in freqs}
    all_rows = [r for k in freqs for r in rows[k]]
    key = _span(fourier_final[all_rows]) if all_rows else final.new_zeros(final.shape[1], 0)
    top = torch.linalg.svd(final - final.mean(0), full_matrices=False).Vh[: max(2 * len(freqs), 1)].T
    return _FinalDirections(key, top, [(rows[k], _span(fourier_final[rows[k]])) for k in freqs])


EMBEDDING_PROJECTION = Measure("embedding_projection", embedding_projection, EmbeddingProjection,
                               needs="circuit", needs_final=True)

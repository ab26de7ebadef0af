"""Weighted sums of a few table rows per input row, with a backward as cheap as the forward.

``gather_sum(weights, table, bags)[n] = Σ_j weights[n, j] · table[bags.index[n, j]]``: each of
N output rows mixes J rows of a ``[K, D]`` table (J ≪ K). The one-layer forward at the ``=``
position is such a sum: the attention output through the linear map after it is, per input
row, ``Σ_{h, i} pattern[h, i] · (M W_O,h v_{i,h}[token_i])`` over n_ctx·H table rows, where the
dense form multiplies ``[N, H·d_head]`` by ``[H·d_head, D]``: J = n_ctx·H + 1 terms (a constant row
carries the bias) instead of H·d_head = 128, about 10× fewer multiply-adds per row.

All three products are sparse-by-dense kernels that sum each output element in one fixed
order (so the result does not depend on the thread count):

- forward: ``F.embedding_bag`` (``mode="sum"``, per-sample weights): J rows per bag;
- the weights' gradient, ``grad[n] · table[index[n, j]]``: a sampled dense–dense product
  (``torch.sparse.sampled_addmm`` on a CSR pattern of the indices; on the ``meta`` device,
  which has no sparse kernels, a gather and a sum);
- the table's gradient, ``Σ_{(n, j): index[n, j] = k} weights[n, j] · grad[n]``: ``embedding_bag``
  again, over the gradient's rows, one bag per table row (the entries sorted by table row,
  precomputed once per index set in ``Bags``).

PyTorch's own ``embedding_bag`` backward computes the same two gradients with a scalar loop
and a sort each step; here they cost about what the forward does. ``tests/test_model_gather_sum.py``
checks values and gradients against a float64 dense reference and the bit-for-bit agreement
between one and two threads.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor


class Bags(NamedTuple):
    """Which table rows each output row sums (``index``), and the same entries grouped by table row."""

    index: Tensor  # [N, J] int64 rows of the table, ascending along each row (a valid CSR pattern)
    rows: int  # K, the table's rows
    by_row: Tensor  # [N·J] entries of index.flatten(), sorted by table row (stable: ascending n within a row)
    sources: Tensor  # [N·J] the output row n of each sorted entry
    offsets: Tensor  # [K] where each table row's entries start in by_row
    crow: Tensor  # [N + 1] CSR row pointers of the [N, K] pattern


def bags(index: Tensor, rows: int) -> Bags:
    """The gather-sum plan of ``index`` (``[N, J]``, ascending along each row) into a table of ``rows`` rows."""
    n, j = index.shape
    flat = index.reshape(-1)
    sorted_rows, by_row = torch.sort(flat, stable=True)
    offsets = torch.searchsorted(sorted_rows, torch.arange(rows, device=index.device))
    crow = torch.arange(0, n * j + 1, j, device=index.device)
    return Bags(index, rows, by_row, by_row // j, offsets, crow)


def _weights_grad(grad: Tensor, table: Tensor, b: Bags) -> Tensor:
    """``[N, J]``: grad[n] · table[index[n, j]] (a sampled dense–dense product)."""
    n, j = b.index.shape
    if grad.device.type == "meta":  # no sparse kernels on meta: the same product by a gather
        return (table[b.index] * grad.unsqueeze(1)).sum(-1)
    with warnings.catch_warnings():  # "sparse CSR support is in beta": the kernel is what we need
        warnings.simplefilter("ignore", UserWarning)
        pattern = torch.sparse_csr_tensor(b.crow, b.index.reshape(-1), grad.new_zeros(n * j), (n, b.rows),
                                          check_invariants=False)
        return torch.sparse.sampled_addmm(pattern, grad, table.t(), beta=0.0).values().view(n, j)


class _GatherSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weights: Tensor, table: Tensor, b: Bags, shape: tuple[int, ...]) -> Tensor:
        ctx.save_for_backward(weights, table)
        ctx.bags = b
        # detached inputs: embedding_bag's forward-only kernel (it skips the bookkeeping of its own
        # backward, unused here); the output reshaped here and detached from that view, so that the
        # caller may modify it in place (a ReLU) without autograd copying a custom Function's view
        out = F.embedding_bag(b.index, table.detach(), per_sample_weights=weights.detach(), mode="sum")
        return out.view(shape).detach()

    @staticmethod
    def backward(ctx, grad: Tensor):
        weights, table = ctx.saved_tensors
        b: Bags = ctx.bags
        grad = grad.reshape(-1, table.shape[1])
        grad_weights = _weights_grad(grad, table, b) if ctx.needs_input_grad[0] else None
        grad_table = None
        if ctx.needs_input_grad[1]:  # one bag per table row over the gradient's rows
            grad_table = F.embedding_bag(b.sources, grad, b.offsets, mode="sum",
                                         per_sample_weights=weights.reshape(-1)[b.by_row])
        return grad_weights, grad_table, None, None


def gather_sum(weights: Tensor, table: Tensor, b: Bags, shape: tuple[int, ...] | None = None) -> Tensor:
    """``[N, D]`` (or ``shape``, N·D elements): row n is Σ_j weights[n, j] · table[b.index[n, j]]
    (weights ``[N, J]``, table ``[K, D]``)."""
    n, d = b.index.shape[0], table.shape[1]
    return _GatherSum.apply(weights.contiguous(), table.contiguous(), b, (n, d) if shape is None else tuple(shape))

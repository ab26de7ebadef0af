"""One optimisation step and one evaluation for R runs of one shape: the tensors only, no files.

``StackState`` holds the stacked parameters (``grokkit.model.param_stack``), their optimiser and
gradient filter (``grokkit.optim``) and the shared input grid. Run r's loss is the mean of
a per-row loss over *its own* rows of this step (all its training rows when full-batch,
a fresh sample when mini-batch), expressed as a row-weight matrix ``[R, U]`` over the
union of the runs' training rows; the runs' losses are summed before ``backward()``, so
no gradient mixes runs and each run gets exactly its own gradient (up to summation
order). Large stacks are split into chunks of runs so the activations stay in cache.

Everything is on one device; ``tests/test_train_device.py`` runs a step and an evaluation
with every tensor on the ``meta`` device, so a tensor created on the wrong device
fails on CPU in CI, not on a user's GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from grokkit.model.forward import Params, last_logits
from grokkit.model.loss import ROW_LOSSES
from grokkit.model.pad import Padding
from grokkit.model.param_stack import Shape, params, select
from grokkit.optim.filters import GradientFilter
from grokkit.optim.optimizers import StackOptimizer

# Run-rows per forward pass; larger stacks are split into chunks of runs (exact: runs are
# independent). On a CPU, the [runs, rows, d_mlp] activations of a big chunk fall out of
# cache (32 quickstart runs, 39 000 run-rows, in one chunk: 54 run-steps/s; in chunks of
# 8 192: 88; 2 threads). On a GPU, big chunks keep it busy.
ROW_BUDGET = {"cuda": 1 << 17, "cpu": 1 << 13, "meta": 1 << 13}


@dataclass
class Grid:
    """The input grid shared by a stack (every run has the same task operation and modulus)."""

    tokens: Tensor  # [N, n_ctx] int64
    labels: Tensor  # [N] int64
    union: Tensor  # [U] grid rows that are some run's training row
    union_pos: Tensor  # [N] position of each grid row in ``union`` (−1 if in none)
    same_last: bool = True  # every row ends in the same ('=') token: the one-layer '=' forward applies


def expect_device(device: torch.device, **tensors: Tensor) -> None:
    """Refuse a tensor on another device (the meta device lets ``@`` and indexing with CPU operands pass)."""
    for name, tensor in tensors.items():
        if tensor is not None and tensor.device.type != device.type:
            raise RuntimeError(f"stack: {name} is on {tensor.device}, expected {device}")


class StackState:
    """Parameters, optimiser and filter of R runs, and the step that trains them."""

    def __init__(self, stack: dict[str, Tensor], shape: Shape, optimizer: StackOptimizer,
                 grad_filter: GradientFilter, grid: Grid, loss: str = "softmax", padding: Padding | None = None):
        self.stack, self.shape = stack, shape
        self.padding = padding  # runs of different widths, padded to the widest (grokkit.model.pad); None: one shape
        self.optimizer, self.grad_filter, self.grid = optimizer, grad_filter, grid
        self.row_loss = ROW_LOSSES[loss]
        self.device = grid.tokens.device
        for name, value in stack.items():
            expect_device(self.device, **{name: value})
        expect_device(self.device, labels=grid.labels, union=grid.union, union_pos=grid.union_pos)
        self._union_xy = (grid.tokens[grid.union], grid.labels[grid.union])  # a full-batch step's inputs, once

    @property
    def runs(self) -> int:
        return next(iter(self.stack.values())).shape[0]

    def params(self, stack: dict[str, Tensor] | None = None, scale: Tensor | None = None) -> Params:
        """The forward's view of ``stack`` (default: the whole stack); ``scale``: its runs' √d_head when padded."""
        p = params(self.stack if stack is None else stack, self.shape)
        if self.padding is None:
            return p
        return p._replace(attn_scale=self.padding.attn_scale if scale is None else scale)

    def _chunk(self, rows: int) -> int:
        return max(1, ROW_BUDGET.get(self.device.type, ROW_BUDGET["cpu"]) // max(rows, 1))

    def step(self, lr: Tensor, weights: Tensor, rows: Tensor | None = None) -> Tensor:
        """One update of every run; returns each run's loss before it, ``[R]`` float64 (detached).

        ``lr``: ``[R]`` float64. ``weights``: ``[R, U']`` float64 row weights (each run's sum to 1)
        over ``rows`` (grid row indices, ``[U']``; default: the whole union).
        """
        expect_device(self.device, lr=lr, weights=weights, rows=rows)
        x, y = self._union_xy if rows is None else (self.grid.tokens[rows], self.grid.labels[rows])
        runs = self.runs
        chunk = self._chunk(len(x))
        losses = []
        for lo in range(0, runs, chunk):
            part = self.stack if chunk >= runs else {k: v[lo:lo + chunk] for k, v in self.stack.items()}
            x_c, y_c, w_c = x, y, weights[lo:lo + chunk]
            if self.device.type == "cpu" and chunk < runs:
                # a chunk computes only the rows its own runs use: runs with other training fractions
                # would otherwise each pay for the union (on a GPU the sync of nonzero() costs more)
                used = w_c.ne(0).any(0)
                if not bool(used.all()):
                    cols = used.nonzero().squeeze(1)
                    x_c, y_c, w_c = x[cols], y[cols], w_c[:, cols]
            logits = last_logits(self.params(part, self._scale(lo, chunk)), x_c, self.grid.same_last)  # [r, U', V]
            loss_rows = self.row_loss(logits, y_c.expand(logits.shape[0], -1))  # [r, U'] float64
            run_loss = (loss_rows * w_c).sum(1)  # [r]: each run's mean over its rows
            run_loss.sum().backward()  # runs' losses summed: their gradients do not mix
            losses.append(run_loss.detach())
        if self.padding is not None:  # padded entries get no update (they stay exactly 0)
            self.padding.mask_grads(self.stack)
        self.grad_filter.apply(self.stack)  # between backward and the update, as Grokfast and ⊥Grad require
        self.optimizer.step(lr)
        self.optimizer.zero_grad()
        return torch.cat(losses)

    @torch.no_grad()
    def logits(self, which: list[int] | None = None) -> Tensor:
        """Logits of runs ``which`` (default: all) on every grid row, ``[len(which), N, V]``."""
        stack = self.stack
        scale = None if self.padding is None else self.padding.attn_scale
        if which is not None and len(which) != self.runs:
            idx = torch.tensor(which, device=self.device)
            stack = {k: v.detach().index_select(0, idx) for k, v in stack.items()}
            scale = None if scale is None else scale.index_select(0, idx)
        runs = next(iter(stack.values())).shape[0]
        chunk = self._chunk(len(self.grid.tokens))
        parts = [last_logits(self.params({k: v[lo:lo + chunk] for k, v in stack.items()},
                                         None if scale is None else scale[lo:lo + chunk]),
                             self.grid.tokens, self.grid.same_last) for lo in range(0, runs, chunk)]
        return torch.cat(parts)

    def _scale(self, lo: int, chunk: int) -> Tensor | None:
        """The padded runs' √d_head of the chunk of runs starting at ``lo`` (None: not padded)."""
        return None if self.padding is None else self.padding.attn_scale[lo:lo + chunk]

    @torch.no_grad()
    def finite(self, index: int) -> bool:
        """True when every parameter of run ``index`` is finite (checked before each checkpoint)."""
        return all(bool(torch.isfinite(v[index]).all()) for v in self.stack.values())

    def select(self, keep: list[int]) -> None:
        """Keep only the runs at stack positions ``keep`` (the others finished, stopped early or diverged)."""
        idx = torch.tensor(keep, device=self.device)
        self.stack = select(self.stack, idx)
        self.optimizer.select(self.stack, keep)
        self.grad_filter.select(idx)
        if self.padding is not None:
            self.padding.select(keep)

    def crop(self, index: int):
        """``(name, tensor) → tensor`` at run ``index``'s own widths (None when the stack is not padded)."""
        return None if self.padding is None else (lambda name, t: self.padding.crop(index, name, t))

    def pad(self, index: int):
        """``(name, tensor) → tensor`` from run ``index``'s own widths to the stack's (None when not padded)."""
        return None if self.padding is None else (lambda name, t: self.padding.pad(index, name, t))

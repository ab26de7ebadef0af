"""The trainer: R runs of one shape as one stack, from one start step to each run's end.

``Trainer`` does three things, each a method: ``step`` (one update of every run still
in the stack), ``evaluate`` (a metrics row per run) and ``checkpoint`` (a run's verified
checkpoint). ``train`` is the loop that calls them at each run's intervals and lets a
run leave the stack when it finishes, stops early or diverges. Every file it writes goes
through the run's ``grokkit.files.run_folder.RunFolder``; everything else (live
measures, progress bar, trackers) is a ``grokkit.train.callbacks.Callback`` it calls.
Which runs start from which checkpoint is ``grokkit.train.runs``'s business.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from grokkit.files.run_folder import RunStatus
from grokkit.model.build import model_state
from grokkit.model.loss import loss_and_acc
from grokkit.model.pad import Padding, Widths, stack_padded
from grokkit.model.param_stack import Shape, copy_into_bridge, stack_bridges, trained_state
from grokkit.optim.filters import GradientFilter
from grokkit.optim.optimizers import Hyper, StackOptimizer
from grokkit.optim.schedule import lr_at
from grokkit.run import Run
from grokkit.train.cadence import checkpoints_at, evaluates_at
from grokkit.train.callbacks import Callback, emit
from grokkit.train.step import Grid, StackState


@dataclass
class TrainResult:
    """How training of one run ended."""

    final_step: int
    stopped_early: bool
    metrics: dict[str, Any]  # the last metrics row
    diverged: bool = False
    status: RunStatus | None = None  # what status.json now says


def run_lr(cfg: Any, step: int) -> float:
    """Learning rate of run config ``cfg``'s update at 0-based ``step``."""
    return lr_at(cfg.lr, step, cfg.steps, cfg.warmup_steps, cfg.schedule, cfg.warmup_from_zero)


def task_metrics(logits: torch.Tensor, labels: torch.Tensor, splits: Sequence[tuple[torch.Tensor, torch.Tensor]]
                 ) -> dict[str, float]:
    """A mixture's per-task columns of a metrics row: ``task{k}_train_loss`` … ``task{k}_test_acc``."""
    row = {}
    for k, (train, test) in enumerate(splits):
        for name, rows in (("train", train), ("test", test)):
            loss, acc = loss_and_acc(logits[rows], labels[rows])
            row[f"task{k}_{name}_loss"], row[f"task{k}_{name}_acc"] = loss.item(), acc.item()
    return row


@dataclass
class Member:
    """One run of the stack and its bookkeeping."""

    run: Run
    bridge: Any  # the run's TransformerLens bridge: its weights are copied in before each checkpoint
    grok_step: int | None = None
    last_row: dict[str, Any] = field(default_factory=dict)
    batch_rng: torch.Generator | None = None  # mini-batch sampler (None: full batch)
    resume_state: dict[str, torch.Tensor] | None = None  # optimiser and filter state of the checkpoint resumed
    result: TrainResult | None = None

    @property
    def cfg(self):
        return self.run.config.train

    def stops_early(self, step: int) -> bool:
        after = self.cfg.early_stop_after
        return after is not None and self.grok_step is not None and step >= self.grok_step + after


def build_stack(configs: Sequence[Any], bridges: Sequence[Any], datasets: Sequence[Any],
                device: torch.device) -> tuple[StackState, torch.Tensor]:
    """The stack of ``bridges`` (same shape) with their optimisers and filter, on ``device``, and the
    full-batch row weights ``[R, U]`` (1/n_train on each run's own rows of the union)."""
    ds = datasets[0]
    masks = torch.stack([d.is_train_mask() for d in datasets])  # [R, N]: each run's training rows
    union = masks.any(0).nonzero().squeeze(1)  # [U]
    union_pos = torch.full((len(ds),), -1, dtype=torch.long)
    union_pos[union] = torch.arange(len(union))
    last = ds.tokens[:, -1]
    grid = Grid(ds.tokens.to(device), ds.labels.to(device), union.to(device), union_pos.to(device),
                same_last=bool((last == last[0]).all()))
    full_weights = torch.stack([d.train_weights() for d in datasets])[:, union].to(device)  # [R, U]
    padding = None
    if Padding.needed([c.model for c in configs]):  # different widths: each padded to the widest, and masked
        stack, padding = stack_padded([trained_state(b) for b in bridges], [Widths.of(c.model) for c in configs])
    else:
        stack = stack_bridges(list(bridges))
    tcfgs = [c.train for c in configs]
    state = StackState(stack, Shape.of(bridges[0]), StackOptimizer(stack, [Hyper.from_config(t) for t in tcfgs]),
                       GradientFilter.from_config(tcfgs[0]), grid, tcfgs[0].loss, padding)
    return state, full_weights


class Trainer:
    """Members (prepared by ``grokkit.train.runs``) trained as one stack from update ``start``.

    A *position* is a member's index in the stack as it is now: runs that leave are dropped
    from the stack, so positions index ``self.active``, which maps them to members.
    """

    def __init__(self, members: list[Member], start: int, device: torch.device, callbacks: list[Callback]):
        self.members, self.callbacks, self.device = members, callbacks, device
        self.global_step = start  # updates done so far
        runs = [m.run for m in members]
        self.state, self.full_weights = build_stack([r.config for r in runs], [m.bridge for m in members],
                                                    [r.dataset for r in runs], device)
        self.splits = [(r.dataset.split.train.to(device), r.dataset.split.test.to(device)) for r in runs]
        self.task_splits = [[(tr.to(device), te.to(device)) for tr, te in r.dataset.task_splits] for r in runs]
        for pos, m in enumerate(members):
            if m.resume_state is not None:
                self.state.optimizer.load_state(pos, m.resume_state, self.state.pad(pos))
                self.state.grad_filter.load_state(pos, m.resume_state, self.state.stack, self.state.pad(pos))
                m.resume_state = None
        self.union = self.state.grid.union.cpu()  # to index with a mask built on the CPU
        self.active = list(range(len(members)))  # members still in the stack, in stack order
        self.t0 = time.perf_counter()

    def member(self, pos: int) -> Member:
        return self.members[self.active[pos]]

    # --- the three things a trainer does -------------------------------------------
    def step(self) -> list[int]:
        """One update of every run in the stack; returns the positions whose training loss was not finite."""
        lr = torch.tensor([run_lr(self.member(pos).cfg, self.global_step) for pos in range(len(self.active))],
                          dtype=torch.float64, device=self.device)
        weights, rows = self._row_weights()
        losses = self.state.step(lr, weights, rows)
        self.global_step += 1
        finite = torch.isfinite(losses).tolist()
        emit(self.callbacks, "on_step", self.global_step, len(self.active))
        return [pos for pos, ok in enumerate(finite) if not ok]

    def evaluate(self, positions: list[int]) -> list[int]:
        """Log a metrics row for each of ``positions``; return those whose losses are not finite (not logged)."""
        step, grid = self.global_step, self.state.grid
        logits = self.state.logits(positions)  # [len, N, V]
        bad = []
        for j, pos in enumerate(positions):
            m = self.member(pos)
            train_rows, test_rows = self.splits[self.active[pos]]
            train_loss, train_acc = loss_and_acc(logits[j][train_rows], grid.labels[train_rows])
            test_loss, test_acc = loss_and_acc(logits[j][test_rows], grid.labels[test_rows])
            row = {"step": step, "train_loss": train_loss.item(), "test_loss": test_loss.item(),
                   "train_acc": train_acc.item(), "test_acc": test_acc.item(),
                   "lr": run_lr(m.cfg, max(step - 1, 0)), "wall_s": round(time.perf_counter() - self.t0, 3)}
            if m.run.dataset.mixture is not None:
                row.update(task_metrics(logits[j], grid.labels, self.task_splits[self.active[pos]]))
            if not all(map(math.isfinite, (row["train_loss"], row["test_loss"]))):
                bad.append(pos)
                continue
            m.run.folder.append_metrics(row)
            m.last_row = row
            if m.grok_step is None and row["test_acc"] >= m.cfg.early_stop_acc:
                m.grok_step = step
            emit(self.callbacks, "on_eval", m.run, row)
        return bad

    def checkpoint(self, pos: int) -> bool:
        """Write the checkpoint of the run at ``pos``; False (nothing written) when a weight is not finite."""
        m = self.member(pos)
        if not self.state.finite(pos):
            return False
        copy_into_bridge(self.state.stack, pos, m.bridge, self.state.padding)
        crop = self.state.crop(pos)  # a padded stack's checkpoint is the run's own, at its own widths
        tensors = {**self.state.optimizer.state_of(pos, crop), **self.state.grad_filter.state_of(pos, crop)}
        if m.batch_rng is not None:
            tensors["rng.batch"] = m.batch_rng.get_state()
        meta = {"config": m.run.config.to_dict(), "metrics": m.last_row or None}
        m.run.folder.save_checkpoint(self.global_step, model_state(m.bridge), tensors, meta,
                                     state_only_latest=m.cfg.optimizer_state == "latest")
        emit(self.callbacks, "on_checkpoint", m.run, self.global_step, m.bridge)
        return True

    # --- runs leaving the stack ------------------------------------------------------
    def finish(self, pos: int, stopped_early: bool) -> None:
        m = self.member(pos)
        self._end(m, RunStatus.ended(self.global_step, stopped_early, m.grok_step),
                  TrainResult(self.global_step, stopped_early, m.last_row))

    def diverge(self, pos: int, step: int, reason: str) -> None:
        m = self.member(pos)
        good = [s for s in m.run.checkpoint_steps() if s <= step]
        self._end(m, RunStatus.divergence(step, reason, good[-1] if good else None, m.grok_step),
                  TrainResult(step, False, m.last_row, diverged=True))

    def _end(self, m: Member, status: RunStatus, result: TrainResult) -> None:
        m.run.folder.write_status(status)
        result.status = status
        m.result = result
        emit(self.callbacks, "on_run_end", m.run, status)

    def drop(self, leaving: Sequence[int]) -> None:
        """Remove stack positions ``leaving`` (finished, stopped early, diverged) from the stack."""
        if not leaving:
            return
        keep = [pos for pos in range(len(self.active)) if pos not in leaving]
        self.active = [self.active[pos] for pos in keep]
        if self.active:
            self.state.select(keep)
            self.full_weights = self.full_weights[keep]

    # --- the loop ------------------------------------------------------------------
    def train(self) -> list[TrainResult]:
        """Train every member to its end; each member's ``result`` says how it ended."""
        emit(self.callbacks, "on_train_start", [m.run for m in self.members], self.global_step)
        self._begin()
        while self.active:
            cfgs = [self.member(pos).cfg for pos in range(len(self.active))]
            leaving: set[int] = set()  # stack positions that finish, stop early or diverge now
            for pos in self.step():
                self.diverge(pos, self.global_step - 1, "the training loss is not finite")
                leaving.add(pos)
            step = self.global_step
            due = [pos for pos, c in enumerate(cfgs) if pos not in leaving and evaluates_at(c, step)]
            for pos in self.evaluate(due) if due else []:
                self.diverge(pos, step, "the loss is not finite")
                leaving.add(pos)
            for pos, c in enumerate(cfgs):
                if pos in leaving:
                    continue
                early = pos in due and self.member(pos).stops_early(step)
                last = step == c.steps or early
                if last or checkpoints_at(c, step):
                    if not self.checkpoint(pos):
                        self.diverge(pos, step, "a weight is not finite")
                        leaving.add(pos)
                        continue
                if last:
                    self.finish(pos, early)
                    leaving.add(pos)
            self.drop(leaving)
        return [m.result for m in self.members]

    def _begin(self) -> None:
        """Step 0 is logged and checkpointed once per run (a run resumed from its checkpoint 0 has both);
        a run whose initial model is not finite, or that already ended, leaves the stack."""
        fresh = [pos for pos in range(len(self.active))
                 if self.global_step == 0 and not self.member(pos).run.checkpoint_steps()]
        bad = self.evaluate(fresh) if fresh else []
        for pos in bad:
            self.diverge(pos, 0, "the initial model's loss is not finite (model.init_scale too large?)")
        for pos in fresh:
            if pos not in bad and not self.checkpoint(pos):
                self.diverge(pos, 0, "a weight of the initial model is not finite")
                bad.append(pos)
        self.drop(bad)
        step = self.global_step
        done = [pos for pos in range(len(self.active))
                if step >= self.member(pos).cfg.steps or self.member(pos).stops_early(step)]
        for pos in done:
            self.finish(pos, self.member(pos).stops_early(step))
        self.drop(done)

    def _row_weights(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``[r, U']`` row weights of this step and the grid rows they refer to (None: the whole union).

        ``full_weights`` is aligned with ``active``; runs with a batch sampler draw their rows anew.
        """
        minibatch = [pos for pos in range(len(self.active)) if self.member(pos).batch_rng is not None]
        if not minibatch:
            return self.full_weights, None
        grid = self.state.grid
        weights = self.full_weights.clone()
        for pos in minibatch:
            m = self.member(pos)
            # a fresh sample without replacement each step; the generator's state is checkpointed
            rows = m.run.dataset.sample_batch(m.cfg.batch_size, m.batch_rng)
            weights[pos].zero_()
            weights[pos, grid.union_pos[rows.to(self.device)]] = 1.0 / len(rows)
        used = (weights != 0).any(0)  # only the rows some run uses this step are computed
        if bool(used.all()):
            return weights, None
        return weights[:, used], self.union[used.cpu()].to(self.device)

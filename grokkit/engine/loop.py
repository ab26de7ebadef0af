"""The training engine: one or many runs of one shape trained as one stack (a single run is N = 1).

``train_runs(runs)`` trains every run of a list that shares ``stack_key`` (the task's
operation and modulus, the model's shape, the device, the training loss and the
gradient filter); everything else may differ per run: seeds, ``frac_train``, init
scale, optimiser (AdamW, Adam, SGD), learning rate, weight decay, betas, momentum,
schedule, batch size, steps, logging and checkpoint intervals, early stopping.

Each run keeps an ordinary run directory (``grokkit.run``): ``metrics.jsonl`` rows,
verified checkpoints holding the TransformerLens bridge's weights and the run's own
optimiser, filter and RNG state, ``status.json``. A stack's checkpoint of a run is the
checkpoint that run would have alone, so ``grokkit resume`` can continue one run alone
and a resumed stack is bit-identical to an uninterrupted one. Runs that finish (their
steps, early stopping) or diverge leave the stack; the rest go on.

The engine knows nothing of measures or loggers: live measures, the progress bar and
experiment trackers are ``grokkit.train.callbacks.Callback`` objects it calls.
Every run directory is locked for the whole call (``grokkit.files.lock``).
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from grokkit.errors import ConfigError, GrokkitError, RunError
from grokkit.files.atomic import write_json_atomic
from grokkit.errors import CheckpointError
from grokkit.files.checkpoint import META_FILE, PREFIX, list_checkpoints, save_checkpoint
from grokkit.files.jsonl import append_row, read_rows, write_rows
from grokkit.files.layout import METRICS_FILE, STATUS_FILE
from grokkit.files.lock import locked
from grokkit.model.build import build_model, model_state
from grokkit.model.loss import loss_and_acc
from grokkit.model.stack import Shape, copy_into_bridge, stack_bridges, trained_state
from grokkit.optim.filters import GradientFilter
from grokkit.optim.kinds import filter_key
from grokkit.optim.optimizers import Hyper, StackOptimizer
from grokkit.optim.schedule import lr_at
from grokkit.run import Run
from grokkit.train.callbacks import Callback, emit
from grokkit.train.device import flush_subnormals, resolve_device
from grokkit.engine.stack import Grid, StackState


class DivergedError(GrokkitError):
    """Runs whose loss or weights became non-finite; each keeps its last good checkpoint."""

    def __init__(self, lines: list[str]):
        super().__init__("; ".join(lines))
        self.lines = lines  # one per diverged run


@dataclass
class TrainResult:
    """How training of one run ended."""

    final_step: int
    stopped_early: bool
    metrics: dict[str, Any]  # the last metrics row
    diverged: bool = False
    status: dict[str, Any] = field(default_factory=dict)


def stack_key(config: Any) -> tuple:
    """What runs must share to train in one stack (the rest may differ per run)."""
    m, t = config.model, config.train
    return (
        config.task.op, config.task.p,
        tuple(sorted((k, v) for k, v in vars(m).items() if k not in ("seed", "init_scale"))),
        resolve_device(t.device), t.loss, *filter_key(t),
    )


def run_lr(cfg: Any, step: int) -> float:
    """Learning rate of run config ``cfg``'s update at 0-based ``step``."""
    return lr_at(cfg.lr, step, cfg.steps, cfg.warmup_steps, cfg.schedule, cfg.warmup_from_zero)


class _Call(Callback):
    """Adapts a plain ``on_checkpoint(step, model)`` function (the older interface) to a Callback."""

    def __init__(self, fn: Callable[[int, Any], None]):
        self.fn = fn

    def on_checkpoint(self, run: Any, step: int, model: Any) -> None:
        self.fn(step, model)


@dataclass
class _Member:
    """One run of the stack and its bookkeeping."""

    run: Run
    bridge: Any
    grok_step: int | None = None
    last_row: dict[str, Any] = field(default_factory=dict)
    batch_rng: torch.Generator | None = None
    resume_state: dict[str, torch.Tensor] | None = None
    result: TrainResult | None = None

    @property
    def cfg(self):
        return self.run.config.train


def _note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def train(run: Run, resume: bool = False, progress: bool = False,
          on_checkpoint: Callable[[int, Any], None] | None = None,
          callbacks: Sequence[Callback] = ()) -> TrainResult:
    """Train one run (a stack of one); see ``train_runs``."""
    extra = [_Call(on_checkpoint)] if on_checkpoint is not None else []
    return train_runs([run], resume=resume, progress=progress, callbacks=[*callbacks, *extra])[0]


def train_runs(runs: Sequence[Run], resume: bool = False, progress: bool = False,
               callbacks: Sequence[Callback] = ()) -> list[TrainResult]:
    """Train ``runs`` (sharing ``stack_key``) as one stack, from scratch or from their checkpoints.

    With ``resume``, each run continues from its latest complete, verified checkpoint; runs
    whose latest steps differ train as separate stacks, one after the other. Raises
    ``DivergedError`` after training when a run diverged (the others finished normally).
    """
    runs = list(runs)
    if not runs:
        return []
    keys = {stack_key(r.config) for r in runs}
    if len(keys) > 1:
        raise ConfigError("train: these runs cannot share a stack (they differ in task, model shape, device, "
                          "loss or gradient filter; see grokkit.engine.loop.stack_key)")
    callbacks = list(callbacks)
    if progress:
        from grokkit.engine.progress import ProgressBar

        callbacks.append(ProgressBar())
    with locked(*[r.path for r in runs]), flush_subnormals(resolve_device(runs[0].config.train.device)):
        results = _train_locked(runs, resume, callbacks)
    diverged = [(r, res) for r, res in zip(runs, results) if res.diverged]
    if diverged:
        raise DivergedError([
            f"{r.path}: diverged at step {res.status['diverged_at']} ({res.status['reason']}); "
            + ("no checkpoint was written" if res.status["last_good_checkpoint"] is None
               else f"kept the checkpoint at step {res.status['last_good_checkpoint']}") for r, res in diverged])
    return results


def _train_locked(runs: list[Run], resume: bool, callbacks: list[Callback]) -> list[TrainResult]:
    device = torch.device(resolve_device(runs[0].config.train.device))
    results: dict[int, TrainResult] = {}
    if not resume:
        for r in runs:
            if r.checkpoint_steps() or (r.path / METRICS_FILE).exists():
                raise RunError(f"{r.path}: already has training output; continue it with `grokkit resume {r.path}`")
        groups = {0: list(range(len(runs)))}
        starts = {i: None for i in range(len(runs))}
    else:
        starts = _resume_points(runs)
        groups: dict[int, list[int]] = {}
        for i, ckpt in starts.items():
            groups.setdefault(ckpt.step if ckpt is not None else 0, []).append(i)
    try:
        for start in sorted(groups):
            members = [_Member(runs[i], build_model(runs[i].config.model, runs[i].config.task, device=device))
                       for i in groups[start]]
            for i, m in zip(groups[start], members):
                _prepare(m, starts[i], device)
            for i, res in zip(groups[start], _train_stack(members, start, device, callbacks)):
                results[i] = res
    finally:
        emit(callbacks, "on_train_end")
    return [results[i] for i in range(len(runs))]


def _clean(run: Run) -> None:
    """Remove what interrupted writers left: temporary and incomplete checkpoint folders (with a note)."""
    root = run.checkpoint_root
    if not root.is_dir():
        return
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(f".old-{PREFIX}"):
            # a good checkpoint moved aside for its same-step replacement, killed before the new one was in
            final = root / entry.name[len(".old-"):].rsplit("-", 1)[0]
            if not final.exists() and (entry / META_FILE).is_file():
                entry.rename(final)
                _note(f"{run.path}: restored {final.name} from {entry.name} (its replacement was interrupted)")
                continue
        if entry.name.startswith(f".tmp-{PREFIX}") or entry.name.startswith(f".old-{PREFIX}"):
            shutil.rmtree(entry, ignore_errors=True)
            _note(f"{run.path}: removed {entry.name}, a checkpoint left half-written by an interrupted process")
    for _, path in list_checkpoints(root):
        if not (path / META_FILE).is_file():
            shutil.rmtree(path, ignore_errors=True)
            _note(f"{run.path}: removed {path.name}, an incomplete checkpoint folder (no {META_FILE})")


def _resume_points(runs: list[Run]) -> dict[int, Any]:
    """The verified checkpoint (with state) each run resumes from; None for a run that has none.

    Runs resume together from their latest *common* step when they have one whose state was
    kept, so a stack interrupted between two of its runs' checkpoints resumes as the same
    stack (bit-identical to not stopping); otherwise each run from its own latest.
    """
    for run in runs:
        _clean(run)
    steps = [set(run.checkpoint_steps()) for run in runs]
    common = set.intersection(*steps) if all(steps) else set()
    if len(runs) > 1 and common:
        start = max(common)
        try:
            return {i: run.checkpoint(start, with_state=True) for i, run in enumerate(runs)}
        except CheckpointError:
            pass  # e.g. optimizer_state = "latest" pruned the common step's state: each from its own latest
    return {i: (run.checkpoint(max(s), with_state=True) if s else None) for i, (run, s) in enumerate(zip(runs, steps))}


def _prepare(m: _Member, ckpt, device: torch.device) -> None:
    """Load a member's checkpoint (when resuming) and what its logged rows say (grok step, last row)."""
    metrics_path = m.run.path / METRICS_FILE
    history: list[dict[str, Any]] = []
    if ckpt is None:
        metrics_path.unlink(missing_ok=True)  # killed before its first checkpoint: start clean
    else:
        try:
            m.bridge.load_state_dict({k: v.to(device) for k, v in ckpt.model.items()}, strict=True)
        except RuntimeError:
            raise CheckpointError(f"checkpoint {ckpt.path}: its weights do not fit this run's model") from None
        m.resume_state = ckpt.state if ckpt.meta.get("version", 1) >= 2 else _upgrade_v1_state(ckpt.state, m.bridge)
        history = [row for row in read_rows(metrics_path) if row["step"] <= ckpt.step]
        write_rows(metrics_path, history)  # rows logged after the checkpoint will be logged again
    acc = m.cfg.early_stop_acc
    # only rows a run started with this config logs count: an extended run's row at the step it had
    # stopped at does not (grokkit.extend), so it stops early where that run would
    m.grok_step = next((row["step"] for row in history
                        if row.get("test_acc") is not None and row["test_acc"] >= acc
                        and (row["step"] % m.cfg.eval_every == 0 or row["step"] == m.cfg.steps)), None)
    m.last_row = history[-1] if history else {}
    if m.cfg.batch_size is not None and m.cfg.batch_size < len(m.run.dataset.split.train):
        # mini-batches (a batch at least the training set is the full batch: no sampler)
        m.batch_rng = torch.Generator().manual_seed(m.cfg.seed)
        if m.resume_state is not None and "rng.batch" in m.resume_state:
            m.batch_rng.set_state(m.resume_state["rng.batch"])


def _upgrade_v1_state(state: dict[str, torch.Tensor], bridge: Any) -> dict[str, torch.Tensor]:
    """Optimiser and filter state of a format-1 checkpoint under today's names (each renames its own).

    Format 1 ordered and named parameters as the bridge's trainable parameters; today's
    names are the trained state dict's, in the same order.
    """
    from grokkit.model.build import trainable_parameters

    names = list(trained_state(bridge))
    rename = dict(zip(trainable_parameters(bridge), names))
    state = GradientFilter.upgrade_v1(StackOptimizer.upgrade_v1(state, names), rename)
    return {k: v for k, v in state.items() if k != "rng.torch"}


def _stops_early(m: _Member, step: int) -> bool:
    after = m.cfg.early_stop_after
    return after is not None and m.grok_step is not None and step >= m.grok_step + after


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
    full_weights = (masks[:, union].double() / masks.sum(1, keepdim=True).double()).to(device)
    stack = stack_bridges(list(bridges))
    tcfgs = [c.train for c in configs]
    state = StackState(stack, Shape.of(bridges[0]), StackOptimizer(stack, [Hyper.from_config(t) for t in tcfgs]),
                       GradientFilter.from_config(tcfgs[0]), grid, tcfgs[0].loss)
    return state, full_weights


def _train_stack(members: list[_Member], start: int, device: torch.device,
                 callbacks: list[Callback]) -> list[TrainResult]:
    runs = [m.run for m in members]
    state, full_weights = build_stack([r.config for r in runs], [m.bridge for m in members],
                                      [r.dataset for r in runs], device)
    grid = state.grid
    union, union_pos = grid.union.cpu(), grid.union_pos
    splits = [(r.dataset.split.train.to(device), r.dataset.split.test.to(device)) for r in runs]

    for pos, m in enumerate(members):
        if m.resume_state is not None:
            state.optimizer.load_state(pos, m.resume_state)
            state.grad_filter.load_state(pos, m.resume_state, state.stack)
            m.resume_state = None

    active = list(range(len(members)))  # members still in the stack, in stack order
    t0 = time.perf_counter()

    def drop(leaving) -> None:
        """Remove stack positions ``leaving`` (finished, stopped early, diverged) from the stack."""
        nonlocal active, full_weights
        if not leaving:
            return
        keep = [pos for pos in range(len(active)) if pos not in leaving]
        active = [active[pos] for pos in keep]
        if active:
            state.select(keep)
            full_weights = full_weights[keep]
    emit(callbacks, "on_train_start", runs, start)

    def finish(pos: int, step: int, stopped_early: bool) -> None:
        m = members[active[pos]]
        status = {"finished": True, "final_step": step, "stopped_early": stopped_early, "grok_step": m.grok_step}
        write_json_atomic(m.run.path / STATUS_FILE, status)
        m.result = TrainResult(step, stopped_early, m.last_row, status=status)
        emit(callbacks, "on_run_end", m.run, status)

    def diverge(pos: int, step: int, reason: str) -> None:
        m = members[active[pos]]
        good = [s for s in m.run.checkpoint_steps() if s <= step]
        status = {"finished": False, "diverged": True, "diverged_at": step, "reason": reason,
                  "last_good_checkpoint": good[-1] if good else None, "grok_step": m.grok_step}
        write_json_atomic(m.run.path / STATUS_FILE, status)
        m.result = TrainResult(step, False, m.last_row, diverged=True, status=status)
        emit(callbacks, "on_run_end", m.run, status)

    def evaluate(step: int, positions: list[int]) -> list[int]:
        """Log a metrics row for stack positions ``positions``; return those whose metrics are non-finite."""
        logits = state.logits(positions)  # [len, N, V]
        bad = []
        for j, pos in enumerate(positions):
            m = members[active[pos]]
            train_rows, test_rows = splits[active[pos]]
            train_loss, train_acc = loss_and_acc(logits[j][train_rows], grid.labels[train_rows])
            test_loss, test_acc = loss_and_acc(logits[j][test_rows], grid.labels[test_rows])
            row = {"step": step, "train_loss": train_loss.item(), "test_loss": test_loss.item(),
                   "train_acc": train_acc.item(), "test_acc": test_acc.item(),
                   "lr": run_lr(m.cfg, max(step - 1, 0)), "wall_s": round(time.perf_counter() - t0, 3)}
            if not all(map(math.isfinite, (row["train_loss"], row["test_loss"]))):
                bad.append(pos)
                continue
            append_row(m.run.path / METRICS_FILE, row)
            m.last_row = row
            if m.grok_step is None and row["test_acc"] >= m.cfg.early_stop_acc:
                m.grok_step = step
            emit(callbacks, "on_eval", m.run, row)
        return bad

    def checkpoint(step: int, pos: int) -> bool:
        """Write run ``pos``'s checkpoint; False (nothing written) when a weight is non-finite."""
        m = members[active[pos]]
        if not state.finite(pos):
            return False
        copy_into_bridge(state.stack, pos, m.bridge)
        tensors = {**state.optimizer.state_of(pos), **state.grad_filter.state_of(pos)}
        if m.batch_rng is not None:
            tensors["rng.batch"] = m.batch_rng.get_state()
        meta = {"config": m.run.config.to_dict(), "metrics": m.last_row or None}
        save_checkpoint(m.run.checkpoint_root, step, model_state(m.bridge), tensors, meta,
                        state_only_latest=m.cfg.optimizer_state == "latest")
        emit(callbacks, "on_checkpoint", m.run, step, m.bridge)
        return True

    # step 0 is logged and checkpointed once per run (a run resumed from its checkpoint 0 has both);
    # a run whose initial model is not finite leaves the stack like any diverged run
    fresh = [pos for pos in range(len(active)) if start == 0 and not members[active[pos]].run.checkpoint_steps()]
    bad = evaluate(0, fresh) if fresh else []
    for pos in bad:
        diverge(pos, 0, "the initial model's loss is not finite (model.init_scale too large?)")
    for pos in fresh:
        if pos not in bad and not checkpoint(0, pos):
            diverge(pos, 0, "a weight of the initial model is not finite")
            bad.append(pos)
    drop(bad)

    step = start
    # a run that already finished or stopped early has nothing left to do
    done_now = [pos for pos in range(len(active))
                if step >= members[active[pos]].cfg.steps or _stops_early(members[active[pos]], step)]
    for pos in done_now:
        finish(pos, step, _stops_early(members[active[pos]], step))
    drop(done_now)

    while active:
        cfgs = [members[a].cfg for a in active]
        lr = torch.tensor([run_lr(c, step) for c in cfgs], dtype=torch.float64, device=device)
        weights, rows = _row_weights(members, active, full_weights, union, union_pos, device)
        losses = state.step(lr, weights, rows)
        step += 1
        finite = torch.isfinite(losses).tolist()
        emit(callbacks, "on_step", step, len(active))

        leaving: set[int] = set()  # stack positions that finish, stop early or diverge now
        for pos, ok in enumerate(finite):
            if not ok:
                diverge(pos, step - 1, "the training loss is not finite")
                leaving.add(pos)
        due = [pos for pos, c in enumerate(cfgs) if pos not in leaving and (step % c.eval_every == 0 or step == c.steps)]
        for pos in evaluate(step, due) if due else []:
            diverge(pos, step, "the loss is not finite")
            leaving.add(pos)
        for pos, c in enumerate(cfgs):
            if pos in leaving:
                continue
            m = members[active[pos]]
            early = pos in due and _stops_early(m, step)
            last = step == c.steps or early
            if step % c.checkpoint_every == 0 or last:
                if not checkpoint(step, pos):
                    diverge(pos, step, "a weight is not finite")
                    leaving.add(pos)
                    continue
            if last:
                finish(pos, step, early)
                leaving.add(pos)
        drop(leaving)
    return [m.result for m in members]


def _row_weights(members, active, full_weights, union, union_pos, device):
    """``[r, U']`` row weights of this step and the grid rows they refer to (None: the whole union).

    ``full_weights`` is aligned with ``active``; runs with a batch sampler draw their rows anew.
    """
    minibatch = [pos for pos, a in enumerate(active) if members[a].batch_rng is not None]
    if not minibatch:
        return full_weights, None
    weights = full_weights.clone()
    for pos in minibatch:
        m = members[active[pos]]
        train = m.run.dataset.split.train
        # a fresh sample without replacement each step; the generator's state is checkpointed
        rows = train[torch.randperm(len(train), generator=m.batch_rng)[: m.cfg.batch_size]]
        weights[pos].zero_()
        weights[pos, union_pos[rows.to(device)]] = 1.0 / len(rows)
    used = (weights != 0).any(0)  # only the rows some run uses this step are computed
    if bool(used.all()):
        return weights, None
    return weights[:, used], union[used.cpu()].to(device)

"""Train many runs of one shape in one process, as one stack of parameters.

``train_many(runs)`` is ``grokkit.train.trainer.train`` for a list of runs that share
``stack_key``: the same task operation and modulus, model shape, betas, device and
accelerator settings, full-batch AdamW. Everything else may differ per run: seeds,
``lr``, ``weight_decay``, warm-up, ``frac_train``, ``init_scale``, steps, logging and
checkpoint intervals, early stopping.

Per step, the stack computes logits for the union of the runs' training rows, a
float64 per-row loss, and for each run the mean over *its own* rows (a mask over the
union divided by its own count); the runs' means are summed, so each run's gradient
is exactly its solo gradient. Each run keeps an ordinary run directory: the same
metrics rows, checkpoints in the solo trainer's format (bridge state dict, AdamW
state as ``torch.optim.AdamW`` packs it, Grokfast state), ``status.json``. Any
command accepts them, and ``grokkit resume`` can continue one alone.

Equivalence with solo training is to float rounding, not bitwise: batched matmuls
sum in another order (``tests/test_multirun.py`` states the tolerance). Resuming a
stack is bit-identical to not stopping it. Runs that finish (their step budget or
early stopping) leave the stack, so the rest run faster.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

from grokkit.accelerators import ROW_LOSSES, STATE_PREFIX, GradientFilter
from grokkit.errors import ConfigError, RunError
from grokkit.model.build import build_model, model_state, trainable_parameters
from grokkit.model.fast import weights_of
from grokkit.multirun.model import StackedWeights, copy_into_bridge, select_runs, stack_bridges, stacked_last_logits
from grokkit.multirun.optim import StackedAdamW
from grokkit.files.layout import METRICS_FILE, STATUS_FILE
from grokkit.run import Run
from grokkit.files.atomic import write_json_atomic
from grokkit.files.checkpoint import save_checkpoint
from grokkit.train.trainer import TrainResult, _progress, _truncate_metrics, lr_at, make_optimizer

# Run-rows per forward pass; larger stacks are split into chunks of runs (exact: runs are
# independent). On a GPU, big chunks keep it busy. On a CPU, the [runs, rows, d_mlp]
# activations of a big chunk fall out of cache: 32 quickstart runs (39 000 run-rows) in
# one chunk trained at 54 run-steps/s, in chunks of 6 runs (8 192) at 88 (2 threads).
ROW_BUDGET = {"cuda": 1 << 17, "cpu": 1 << 13}


def _row_budget(device: torch.device) -> int:
    return ROW_BUDGET.get(device.type, ROW_BUDGET["cpu"])


def stack_key(config: Any) -> tuple | None:
    """What runs must share to train in one stack; None when a run cannot be stacked at all."""
    t = config.train
    if t.optimizer != "adamw" or t.batch_size is not None:
        return None  # the stack implements full-batch AdamW only; such runs train alone
    m = config.model
    return (
        config.task.op, config.task.p,
        m.d_model, m.n_heads, m.d_head, m.d_mlp, m.act_fn, m.train_biases,
        t.beta1, t.beta2, t.resolve_device(),
        t.loss, t.grokfast, t.grokfast_alpha, t.grokfast_lambda, t.grokfast_window, t.orthograd,
    )


@dataclass
class _Member:
    """One run of the stack and its bookkeeping."""

    run: Run
    bridge: Any  # the solo model: the init comes from it, checkpoints are written through it
    names: list[str]  # the bridge's trainable parameter names (the AdamW state index order)
    field_index: dict[str, int]  # stacked field → index in ``names``
    groups: list[dict[str, Any]]  # torch AdamW param_groups, for checkpoints the solo trainer can resume
    callback: Callable[[int, Any], None] | None
    history: list[dict[str, Any]]
    grok_step: int | None = None
    last_row: dict[str, Any] | None = None
    result: TrainResult | None = None
    resume_state: dict[str, torch.Tensor] | None = None  # the checkpoint's state tensors, until stacked


def _member(run: Run, device: str, callback) -> _Member:
    bridge = build_model(run.config.model, run.config.task, device=device)
    params = trainable_parameters(bridge)
    names = list(params)
    solo = weights_of(bridge)
    index_of = {id(p): i for i, p in enumerate(params.values())}
    fields = {f: index_of[id(getattr(solo, f))] for f in solo._fields if id(getattr(solo, f)) in index_of}
    groups = make_optimizer(run.config.train, params.values()).state_dict()["param_groups"]
    return _Member(run, bridge, names, fields, groups, callback, history=[])


def train_many(
    runs: Sequence[Run],
    resume: bool = False,
    progress: bool = True,
    on_checkpoint: Sequence[Callable[[int, Any], None] | None] | None = None,
) -> list[TrainResult]:
    """Train ``runs`` as one stack (from scratch, or all from their latest common checkpoint).

    ``on_checkpoint[i](step, model)`` is called after run i's checkpoints, with its
    bridge holding the weights (the hook live measures use). Raises ConfigError when
    the runs do not share ``stack_key``.
    """
    runs = list(runs)
    if not runs:
        return []
    keys = {stack_key(r.config) for r in runs}
    if None in keys or len(keys) > 1:
        raise ConfigError("multirun: these runs cannot share a stack (see grokkit.multirun.stack_key)")
    tcfg0 = runs[0].config.train
    device = tcfg0.resolve_device()
    callbacks = list(on_checkpoint) if on_checkpoint is not None else [None] * len(runs)
    members = [_member(r, device, cb) for r, cb in zip(runs, callbacks)]

    # data: the union of the runs' training rows; a mask says which are each run's own
    ds = runs[0].dataset
    tokens, labels = ds.tokens.to(device), ds.labels.to(device)
    masks_full = torch.stack([r.dataset.is_train_mask() for r in runs]).to(device)  # [R, rows]
    union = masks_full.any(0).nonzero().squeeze(1)  # [U]
    row_loss = ROW_LOSSES[tcfg0.loss]

    start = 0
    if resume:
        start = _load_latest_common(members, device)
    else:
        for m in members:
            if (m.run.path / METRICS_FILE).exists() or m.run.checkpoint_steps():
                raise RunError(f"{m.run.path}: already has training output; continue it with `grokkit resume`")

    w = stack_bridges([m.bridge for m in members])
    optimizer = StackedAdamW(w.params(), (tcfg0.beta1, tcfg0.beta2))
    grad_filter = GradientFilter.from_config(tcfg0, run_axis=True)
    if resume:
        _load_stacked_state(members, optimizer, grad_filter, start, device)

    active = list(range(len(members)))  # members still in the stack, in stack order
    wd = torch.tensor([m.run.config.train.weight_decay for m in members], dtype=torch.float64, device=device)
    t0 = time.perf_counter()

    def evaluate_and_log(step: int, which: list[int]) -> None:
        """Metrics rows for stack positions ``which`` (same keys as the solo trainer's)."""
        with torch.no_grad():
            logits = _chunked_logits(w, tokens, which)  # [len(which), rows, V]
        for j, pos in enumerate(which):
            m = members[active[pos]]
            row = {"step": step, **_metrics(logits[j], labels, m.run.dataset), "lr": lr_at(m.run.config.train, max(step - 1, 0))}
            row["wall_s"] = round(time.perf_counter() - t0, 3)
            with open(m.run.path / METRICS_FILE, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
            m.history.append(row)
            m.last_row = row
            if m.grok_step is None and row["test_acc"] >= m.run.config.train.early_stop_acc:
                m.grok_step = step

    def checkpoint(step: int, pos: int) -> None:
        m = members[active[pos]]
        copy_into_bridge(w, pos, m.bridge)
        state = _member_state(m, optimizer, grad_filter, pos, step)
        meta = {"config": m.run.config.to_dict(), "metrics": m.last_row,
                "optimizer_groups": [{**g, "lr": lr_at(m.run.config.train, max(step - 1, 0))} for g in m.groups]}
        save_checkpoint(m.run.checkpoint_root, step, model_state(m.bridge), state, meta,
                        state_only_latest=m.run.config.train.optimizer_state == "latest")
        if m.callback is not None:
            m.callback(step, m.bridge)

    if start == 0:
        evaluate_and_log(0, list(range(len(active))))
        for pos in range(len(active)):
            checkpoint(0, pos)

    bar = _progress(max(m.run.config.train.steps for m in members), start, progress)
    step = start
    while active:
        cfgs = [members[i].run.config.train for i in active]
        lr = torch.tensor([lr_at(c, step) for c in cfgs], dtype=torch.float64, device=device)
        _backward(w, tokens, labels, union, masks_full[active], row_loss)
        grad_filter.apply(w.params())
        optimizer.step(lr, wd[active])
        optimizer.zero_grad()
        step += 1
        bar.update(1)

        done = [step == c.steps for c in cfgs]
        log_now = [pos for pos, c in enumerate(cfgs) if step % c.eval_every == 0 or done[pos]]
        if log_now:
            evaluate_and_log(step, log_now)
        for pos in log_now:
            m, c = members[active[pos]], cfgs[pos]
            if c.early_stop_after is not None and m.grok_step is not None and step >= m.grok_step + c.early_stop_after:
                done[pos] = True
                m.result = TrainResult(step, True, m.last_row)
        for pos, c in enumerate(cfgs):
            if step % c.checkpoint_every == 0 or done[pos]:
                checkpoint(step, pos)
        if any(done):
            for pos in [p for p, d in enumerate(done) if d]:
                m = members[active[pos]]
                m.result = m.result or TrainResult(step, False, m.last_row)
                write_json_atomic(m.run.path / STATUS_FILE, {"finished": True, "final_step": step,
                                  "stopped_early": m.result.stopped_early, "grok_step": m.grok_step})
            keep = torch.tensor([p for p, d in enumerate(done) if not d], dtype=torch.long, device=device)
            active = [active[p] for p, d in enumerate(done) if not d]
            if active:  # drop finished runs so the rest train faster
                w = select_runs(w, keep)
                optimizer.rebind(w.params(), keep)
                _select_filter_runs(grad_filter, keep)
    bar.close()
    return [m.result for m in members]


def _backward(w: StackedWeights, tokens, labels, union, masks, row_loss) -> None:
    """Sum over runs of each run's mean loss over its own training rows, back-propagated (chunked over runs)."""
    runs = w.W_E.shape[0]
    chunk = max(1, _row_budget(w.W_E.device) // len(union))
    x, y = tokens[union], labels[union]
    mask = masks[:, union].double()  # [R, U]
    count = mask.sum(1)  # [R]: each run's own n_train
    for lo in range(0, runs, chunk):
        part = w if chunk >= runs else _slice(w, slice(lo, lo + chunk))
        loss_rows = row_loss(stacked_last_logits(part, x), y.expand(part.W_E.shape[0], -1))  # [r, U] float64
        sl = slice(lo, lo + chunk)
        ((loss_rows * mask[sl]).sum(1) / count[sl]).sum().backward()  # runs' losses summed: gradients don't mix


def _slice(w: StackedWeights, sl: slice) -> StackedWeights:
    """A view of some runs (gradients still flow into the full leaves)."""
    return w._replace(**{f: v[sl] for f, v in w.params().items()})


def _chunked_logits(w: StackedWeights, tokens, which: list[int]) -> torch.Tensor:
    chunk = max(1, _row_budget(tokens.device) // len(tokens))
    idx = torch.tensor(which, device=tokens.device)
    sub = w._replace(**{f: v.detach()[idx] for f, v in w.params().items()})
    parts = [stacked_last_logits(_slice(sub, slice(lo, lo + chunk)), tokens) for lo in range(0, len(which), chunk)]
    return torch.cat(parts)


def _metrics(logits: torch.Tensor, labels: torch.Tensor, ds) -> dict[str, float]:
    """The solo trainer's evaluate(): float64 softmax cross-entropy and accuracy on train and test rows."""
    from grokkit.train.trainer import loss_and_acc

    out = {}
    train = ds.split.train.to(logits.device)
    test = ds.split.test.to(logits.device)
    tl, ta = loss_and_acc(logits[train], labels[train])
    vl, va = loss_and_acc(logits[test], labels[test])
    out.update(train_loss=tl.item(), test_loss=vl.item(), train_acc=ta.item(), test_acc=va.item())
    return out


# --- checkpoints in the solo trainer's format --------------------------------------------------
def _member_state(m: _Member, optimizer: StackedAdamW, grad_filter: GradientFilter, pos: int, step: int):
    """Run ``pos``'s optimiser and filter state, named as ``pack_optimizer`` and the trainer name them."""
    state: dict[str, torch.Tensor] = {}
    for f, i in m.field_index.items():
        if f not in optimizer.params:
            continue
        state[f"optim.{i}.step"] = torch.tensor(float(optimizer.t))
        state[f"optim.{i}.exp_avg"] = optimizer.exp_avg[f][pos]
        state[f"optim.{i}.exp_avg_sq"] = optimizer.exp_avg_sq[f][pos]
    # full batch: these RNGs are never drawn from, but a solo resume expects them
    state["rng.torch"] = torch.get_rng_state()
    state["rng.batch"] = torch.Generator().manual_seed(m.run.config.train.seed).get_state()
    if grad_filter.grokfast != "none":
        state[f"{STATE_PREFIX}count"] = torch.tensor(grad_filter.count)
        for f, i in m.field_index.items():
            if f in grad_filter.ema:
                state[f"{STATE_PREFIX}ema.{m.names[i]}"] = grad_filter.ema[f][pos]
            if f in grad_filter.ring:
                state[f"{STATE_PREFIX}ring.{m.names[i]}"] = grad_filter.ring[f][:, pos]
    return state


def _load_latest_common(members: list[_Member], device: str) -> int:
    """Load every run's bridge from the latest checkpoint step they all have; return that step."""
    common = None
    for m in members:
        steps = set(m.run.checkpoint_steps())
        if not steps:
            raise RunError(f"{m.run.path}: has no checkpoint to resume from")
        common = steps if common is None else common & steps
    if not common:
        raise RunError("multirun: the runs share no checkpoint step; resume them one by one")
    start = max(common)
    for m in members:
        ckpt = m.run.checkpoint(start, with_state=True)
        m.bridge.load_state_dict({k: v.to(device) for k, v in ckpt.model.items()}, strict=True)
        m.resume_state = ckpt.state
        m.history = _truncate_metrics(m.run.path / METRICS_FILE, start)
        acc = m.run.config.train.early_stop_acc
        m.grok_step = next((r["step"] for r in m.history if r["test_acc"] >= acc), None)
        m.last_row = m.history[-1] if m.history else None
    return start


def _load_stacked_state(members, optimizer: StackedAdamW, grad_filter: GradientFilter, start: int, device) -> None:
    with torch.no_grad():
        for pos, m in enumerate(members):
            state = m.resume_state
            for f, i in m.field_index.items():
                if f not in optimizer.params or f"optim.{i}.step" not in state:
                    continue  # a solo step-0 checkpoint has no optimiser state yet
                optimizer.t = int(state[f"optim.{i}.step"].item())
                optimizer.exp_avg[f][pos] = state[f"optim.{i}.exp_avg"].to(device)
                optimizer.exp_avg_sq[f][pos] = state[f"optim.{i}.exp_avg_sq"].to(device)
                store = {"ema": "ema", "ma": "ring"}.get(grad_filter.grokfast)
                name = f"{STATE_PREFIX}{store}.{m.names[i]}"
                if store is None or name not in state:
                    continue  # a checkpoint taken before the first step has no filter buffers yet
                if grad_filter.grokfast == "ema":
                    ema = grad_filter.ema.setdefault(f, torch.zeros_like(optimizer.params[f]))
                    ema[pos] = state[name].to(device)
                elif grad_filter.grokfast == "ma":
                    p = optimizer.params[f]
                    ring = grad_filter.ring.setdefault(f, p.new_zeros((grad_filter.window, *p.shape)))
                    ring[:, pos] = state[name].to(device)
            if grad_filter.grokfast != "none":
                grad_filter.count = int(state[f"{STATE_PREFIX}count"])
            m.resume_state = None


def _select_filter_runs(grad_filter: GradientFilter, keep: torch.Tensor) -> None:
    grad_filter.ema = {k: v[keep].clone() for k, v in grad_filter.ema.items()}
    grad_filter.ring = {k: v[:, keep].clone() for k, v in grad_filter.ring.items()}

"""The full-batch trainer: AdamW with warm-up, float64 loss, metrics, checkpoints, resume.

Training uses the fast last-position forward (``grokkit.model.fast``), which reads
and updates the TransformerLens bridge's own parameters. Resuming restores the
weights, optimiser moments and RNG states of the latest checkpoint, so on CPU a
killed-and-resumed run ends bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F

from grokkit.accelerators import LOSSES, GradientFilter
from grokkit.data.dataset import AlgorithmicDataset
from grokkit.errors import RunError
from grokkit.model.build import build_model, model_state, trainable_parameters
from grokkit.model.fast import last_logits, weights_of
from grokkit.files.jsonl import read_rows as read_jsonl
from grokkit.files.layout import METRICS_FILE, STATUS_FILE
from grokkit.run import Run
from grokkit.files.atomic import write_json_atomic
from grokkit.files.checkpoint import pack_optimizer, save_checkpoint, unpack_optimizer
from grokkit.train.config import TrainConfig


@dataclass
class TrainResult:
    """How a call to :func:`train` ended."""

    final_step: int
    stopped_early: bool
    metrics: dict[str, Any]  # the last metrics row


def make_optimizer(cfg: TrainConfig, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    params = list(params)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Learning rate of the update taken at 0-based ``step``: linear warm-up, then constant."""
    if cfg.warmup_steps == 0:
        return cfg.lr
    return cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps)


def loss_and_acc(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy in float64 (float32 bottoms out near 1e-7 once the loss is tiny) and accuracy."""
    loss = F.cross_entropy(logits.double(), labels)
    acc = (logits.argmax(-1) == labels).double().mean()
    return loss, acc


@torch.no_grad()
def evaluate(weights: Any, data: "DeviceData") -> dict[str, float]:
    logits = last_logits(weights, data.tokens)
    train_loss, train_acc = loss_and_acc(logits[data.train], data.labels[data.train])
    test_loss, test_acc = loss_and_acc(logits[data.test], data.labels[data.test])
    return {
        "train_loss": train_loss.item(),
        "test_loss": test_loss.item(),
        "train_acc": train_acc.item(),
        "test_acc": test_acc.item(),
    }


@dataclass
class DeviceData:
    """The dataset's tensors on the training device."""

    tokens: torch.Tensor  # [N, 3]
    labels: torch.Tensor  # [N]
    train: torch.Tensor  # [n_train] row indices
    test: torch.Tensor  # [n_test]

    @classmethod
    def of(cls, ds: AlgorithmicDataset, device: str) -> "DeviceData":
        return cls(ds.tokens.to(device), ds.labels.to(device), ds.split.train.to(device), ds.split.test.to(device))


def _progress(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, unit="step", dynamic_ncols=True, mininterval=0.5)


def _truncate_metrics(path: os.PathLike, last_step: int) -> list[dict[str, Any]]:
    """Drop rows logged after the checkpoint we resume from (they will be logged again)."""
    if not os.path.exists(path):
        return []
    kept = [row for row in read_jsonl(path) if row.get("step", -1) <= last_step]
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in kept)
    os.replace(tmp, path)
    return kept


def train(
    run: Run,
    resume: bool = False,
    progress: bool = True,
    on_checkpoint: Callable[[int, Any], None] | None = None,
) -> TrainResult:
    """Train ``run`` from scratch, or from its latest checkpoint when ``resume`` is true.

    After each checkpoint is written, the spec's live ``[measures]`` (if any) append a
    row to ``RUN/measures.jsonl``, then ``on_checkpoint(step, model)`` is called.
    """
    from grokkit.measures.live import make_live_callback

    cfg = run.config
    callbacks = [cb for cb in (make_live_callback(run), on_checkpoint) if cb is not None]  # bad names raise now
    tcfg = cfg.train
    device = tcfg.resolve_device()
    model = build_model(cfg.model, cfg.task, device=device)
    params = trainable_parameters(model)
    optimizer = make_optimizer(tcfg, params.values())
    weights = weights_of(model)
    data = DeviceData.of(run.dataset, device)
    n_train = len(data.train)
    batch_rng = torch.Generator().manual_seed(tcfg.seed)
    train_loss_fn = LOSSES[tcfg.loss]  # metrics still log softmax cross-entropy (loss_and_acc)
    grad_filter = GradientFilter.from_config(tcfg)  # Grokfast / ⊥Grad; a no-op by default

    metrics_path = run.path / METRICS_FILE
    start = 0
    history: list[dict[str, Any]] = []
    steps = run.checkpoint_steps()
    if resume and steps:
        ckpt = run.checkpoint(steps[-1], with_state=True)  # verified; raises if damaged
        model.load_state_dict({k: v.to(device) for k, v in ckpt.model.items()}, strict=True)
        unpack_optimizer(optimizer, {k: v.to(device) for k, v in ckpt.state.items()}, ckpt.meta["optimizer_groups"])
        torch.set_rng_state(ckpt.state["rng.torch"])
        batch_rng.set_state(ckpt.state["rng.batch"])
        grad_filter.load_state_tensors(ckpt.state, device)
        start = ckpt.step
        history = _truncate_metrics(metrics_path, start)
    elif steps:
        raise RunError(f"{run.path}: already has checkpoints; continue it with `grokkit resume {run.path}`")
    else:  # nothing to resume from (killed before the first checkpoint): start clean
        metrics_path.unlink(missing_ok=True)

    def first_pass(key: str) -> int | None:
        return next((row["step"] for row in history if row[key] >= tcfg.early_stop_acc), None)

    grok_step = first_pass("test_acc")
    last_row: dict[str, Any] = history[-1] if history else {}
    t0 = time.perf_counter()

    def log(step: int) -> None:
        nonlocal grok_step, last_row
        row = {"step": step, **evaluate(weights, data), "lr": lr_at(tcfg, max(step - 1, 0))}
        row["wall_s"] = round(time.perf_counter() - t0, 3)
        with open(metrics_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        history.append(row)
        last_row = row
        if grok_step is None and row["test_acc"] >= tcfg.early_stop_acc:
            grok_step = step

    def checkpoint(step: int) -> None:
        optim_tensors, groups = pack_optimizer(optimizer)
        state = {**optim_tensors, "rng.torch": torch.get_rng_state(), "rng.batch": batch_rng.get_state(),
                 **grad_filter.state_tensors()}
        meta = {"config": cfg.to_dict(), "metrics": last_row, "optimizer_groups": groups}
        save_checkpoint(run.checkpoint_root, step, model_state(model), state, meta,
                        state_only_latest=tcfg.optimizer_state == "latest")
        for callback in callbacks:
            callback(step, model)

    if start == 0:
        log(0)
        checkpoint(0)

    def stops_early(at: int) -> bool:
        return tcfg.early_stop_after is not None and grok_step is not None and at >= grok_step + tcfg.early_stop_after

    # A run that already stopped early (or ran every step) has nothing left to do: resuming
    # it must not train past its last checkpoint.
    stopped_early = stops_early(start)
    bar = _progress(tcfg.steps, start, progress and not stopped_early)
    step = start
    while step < tcfg.steps and not stopped_early:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(tcfg, step)
        if tcfg.batch_size is None or tcfg.batch_size >= n_train:
            rows = data.train
        else:  # a fresh sample without replacement each step; its state is checkpointed
            rows = data.train[torch.randperm(n_train, generator=batch_rng)[: tcfg.batch_size].to(device)]
        # only the '=' position feeds the loss, so only its logits are computed
        loss = train_loss_fn(last_logits(weights, data.tokens[rows]), data.labels[rows])
        loss.backward()
        grad_filter.apply(params)  # between backward and the step, as Grokfast and ⊥Grad require
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        bar.update(1)

        done = step == tcfg.steps
        if step % tcfg.eval_every == 0 or done:
            log(step)
            bar.set_postfix_str(
                f"train {last_row['train_loss']:.2e} ({last_row['train_acc']:.0%}) "
                f"test {last_row['test_loss']:.2e} ({last_row['test_acc']:.0%})",
                refresh=False,
            )
            if stops_early(step):
                stopped_early = done = True
        if step % tcfg.checkpoint_every == 0 or done:
            checkpoint(step)
        if done:
            break
    bar.close()

    write_json_atomic(
        run.path / STATUS_FILE,
        {"finished": True, "final_step": step, "stopped_early": stopped_early, "grok_step": grok_step},
    )
    return TrainResult(final_step=step, stopped_early=stopped_early, metrics=last_row)


train_run = train  # the public name: `grokkit.train` is the subpackage

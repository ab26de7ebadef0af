"""The training engine: one or many runs of one shape trained as one stack (a single run is N = 1).

``train_runs(runs)`` trains every run of a list that shares ``stack_key`` (the task's
operation and modulus, the model's shape, the device, the training loss and the
gradient filter; widths may differ: each run is padded to the widest and masked,
``grokkit.model.pad``); everything else may differ per run: seeds, ``frac_train``, init
scale, optimiser (AdamW, Adam, SGD), learning rate, weight decay, betas, momentum,
schedule, batch size, steps, logging and checkpoint intervals, early stopping.

Each run keeps an ordinary run directory (``grokkit.files.run_folder``): metrics rows,
verified checkpoints holding the TransformerLens bridge's weights and the run's own
optimiser, filter and RNG state, and its status record. A stack's checkpoint of a run is the
checkpoint that run would have alone, so ``grokkit resume`` can continue one run alone
and a resumed stack is bit-identical to an uninterrupted one. Runs that finish (their
steps, early stopping) or diverge leave the stack; the rest go on.

This module decides where each run starts (fresh, or its latest verified checkpoint,
after the run folder has recovered from an interrupted write) and hands the runs to the
trainer (``grokkit.train.trainer``), which steps, evaluates and checkpoints them. The
engine knows nothing of measures or loggers: live measures, the progress bar and
experiment trackers are ``grokkit.train.callbacks.Callback`` objects it calls.
Every run directory is locked for the whole call (``grokkit.files.lock``).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Sequence

import torch

from grokkit.errors import CheckpointError, ConfigError, GrokkitError, RunError
from grokkit.files.lock import locked
from grokkit.model.build import build_model
from grokkit.model.load import load_weights
from grokkit.model.pad import paddable
from grokkit.model.param_stack import trained_state
from grokkit.optim.filters import GradientFilter
from grokkit.optim.kinds import filter_key
from grokkit.optim.optimizers import StackOptimizer
from grokkit.run import Run
from grokkit.train.cadence import evaluates_at
from grokkit.train.callbacks import Callback, emit
from grokkit.train.device import flush_subnormals, resolve_device, retain_freed_memory
from grokkit.train.trainer import Member, Trainer, TrainResult

__all__ = ["DivergedError", "stack_key", "train", "train_runs"]


class DivergedError(GrokkitError):
    """Runs whose loss or weights became non-finite; each keeps its last good checkpoint."""

    def __init__(self, lines: list[str]):
        super().__init__("; ".join(lines))
        self.lines = lines  # one per diverged run


def stack_key(config: Any, pad_widths: bool = False) -> tuple:
    """What runs must share to train in one stack (the rest may differ per run).

    ``pad_widths``: runs of different widths (``d_model``, ``d_mlp``, ``d_head``: ``grokkit.model.pad``)
    may share a stack, each padded to the widest and masked.
    """
    m, t = config.model, config.train
    free = ("seed", "init_scale", *(paddable(m) if pad_widths else ()))
    return (
        config.task.op, config.task.p,
        config.task.group, repr(config.task.generators), repr(config.task.table),  # compose: one group's labels
        tuple((t.op, t.p, t.offset, t.token) for t in config.task.mixture),  # a mixture's grid (splits may differ)
        tuple(sorted((k, v) for k, v in vars(m).items() if k not in free)),
        resolve_device(t.device), t.loss, *filter_key(t),
    )


class _Call(Callback):
    """Adapts a plain ``on_checkpoint(step, model)`` function (the older interface) to a Callback."""

    def __init__(self, fn: Callable[[int, Any], None]):
        self.fn = fn

    def on_checkpoint(self, run: Any, step: int, model: Any) -> None:
        self.fn(step, model)


def _note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def train(run: Run, resume: bool = False, progress: bool = False,
          on_checkpoint: Callable[[int, Any], None] | None = None,
          callbacks: Sequence[Callback] = (), unfinished: bool = False) -> TrainResult:
    """Train one run (a stack of one); see ``train_runs``."""
    extra = [_Call(on_checkpoint)] if on_checkpoint is not None else []
    return train_runs([run], resume=resume, progress=progress, callbacks=[*callbacks, *extra],
                      unfinished=unfinished)[0]


def train_runs(runs: Sequence[Run], resume: bool = False, progress: bool = False,
               callbacks: Sequence[Callback] = (), unfinished: bool = False) -> list[TrainResult]:
    """Train ``runs`` (sharing ``stack_key``) as one stack, from scratch or from their checkpoints.

    With ``resume``, each run continues from its latest complete, verified checkpoint; runs
    whose latest steps differ train as separate stacks, one after the other. Raises
    ``DivergedError`` after training when a run diverged (the others finished normally).
    ``unfinished``: the caller decided to train because the runs had not ended (``grokkit resume``, after
    an extension released the lock): a run that has a status under the lock (another process finished
    it since) is refused in one line, nothing written, instead of being trained again from its end.
    """
    runs = list(runs)
    if not runs:
        return []
    keys = {stack_key(r.config, pad_widths=True) for r in runs}  # different widths: padded (grokkit.model.pad)
    if len(keys) > 1:
        raise ConfigError("train: these runs cannot share a stack (they differ in task, model shape other than "
                          "the widths, device, loss or gradient filter; see grokkit.train.runs.stack_key)")
    callbacks = list(callbacks)
    if progress:
        from grokkit.train.progress import ProgressBar

        callbacks.append(ProgressBar())
    device = resolve_device(runs[0].config.train.device)
    if device == "cpu":
        retain_freed_memory()  # no page faults for each step's activations (grokkit.train.device)
    with locked(*[r.path for r in runs]), flush_subnormals(device):
        for r in runs:  # what this call read before the lock must still hold (one rule for writers)
            r.check_unchanged()
            if unfinished:
                _check_unfinished(r)
        results = _train_locked(runs, resume, callbacks)
    diverged = [(r, res) for r, res in zip(runs, results) if res.diverged]
    if diverged:
        raise DivergedError([
            f"{r.path}: diverged at step {res.status.diverged_at} ({res.status.reason}); "
            + ("no checkpoint was written" if res.status.last_good_checkpoint is None
               else f"kept the checkpoint at step {res.status.last_good_checkpoint}") for r, res in diverged])
    return results


def _check_unfinished(run: Run) -> None:
    """Refuse (one line) ``run`` when it has ended by now; the caller holds its lock."""
    status = run.status()
    if status is None:
        return
    what = (f"diverged at step {status.diverged_at}" if status.diverged else "was imported" if status.imported
            else f"finished at step {status.final_step}")
    raise RunError(f"{run.path}: another process ended it since this command read it ({what}); nothing was written")


def _train_locked(runs: list[Run], resume: bool, callbacks: list[Callback]) -> list[TrainResult]:
    device = torch.device(resolve_device(runs[0].config.train.device))
    results: dict[int, TrainResult] = {}
    if not resume:
        for r in runs:
            if r.folder.has_training_output():
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
            members = [Member(runs[i], build_model(runs[i].config.model, runs[i].config.task, device=device))
                       for i in groups[start]]
            for i, m in zip(groups[start], members):
                _prepare(m, starts[i], device)
            for i, res in zip(groups[start], Trainer(members, start, device, callbacks).train()):
                results[i] = res
    finally:
        emit(callbacks, "on_train_end")
    return [results[i] for i in range(len(runs))]


def _resume_points(runs: list[Run]) -> dict[int, Any]:
    """The verified checkpoint (with state) each run resumes from; None for a run that has none.

    Runs resume together from their latest *common* step when they have one whose state was
    kept, so a stack interrupted between two of its runs' checkpoints resumes as the same
    stack (bit-identical to not stopping); otherwise each run from its own latest.
    """
    for run in runs:  # what an interrupted checkpoint write left
        for note in run.folder.recover_checkpoints():
            _note(note)
    steps = [set(run.checkpoint_steps()) for run in runs]
    common = set.intersection(*steps) if all(steps) else set()
    if len(runs) > 1 and common:
        start = max(common)
        try:
            return {i: run.checkpoint(start, with_state=True) for i, run in enumerate(runs)}
        except CheckpointError:
            pass  # e.g. optimizer_state = "latest" pruned the common step's state: each from its own latest
    return {i: (run.checkpoint(max(s), with_state=True) if s else None) for i, (run, s) in enumerate(zip(runs, steps))}


def _prepare(m: Member, ckpt, device: torch.device) -> None:
    """Load a member's checkpoint (when resuming) and what its logged rows say (grok step, last row).

    Rows logged after the checkpoint are dropped (they will be logged again); a run killed
    before its first checkpoint starts clean.
    """
    if ckpt is not None:
        load_weights(m.bridge, ckpt)
        m.resume_state = ckpt.state if ckpt.meta.get("version", 1) >= 2 else _upgrade_v1_state(ckpt.state, m.bridge)
    history = m.run.folder.rewind_metrics(None if ckpt is None else ckpt.step)
    acc = m.cfg.early_stop_acc
    # only rows a run started with this config logs count: an extended run's row at the step it had
    # stopped at does not (grokkit.extend), so it stops early where that run would
    m.grok_step = next((row["step"] for row in history
                        if row.get("test_acc") is not None and row["test_acc"] >= acc
                        and evaluates_at(m.cfg, row["step"])), None)
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

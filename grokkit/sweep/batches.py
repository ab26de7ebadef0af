"""The transformer sweep's unit of work: a *batch* of runs trained as one stack.

A batch is a list of run folders that share ``grokkit.train.runs.stack_key``: runs that differ
in optimiser, batch size, learning rate, weight decay, seeds or data fraction share a stack; a
different task or model shape makes another batch. ``train_batch`` trains one batch from
whatever is on disk: finished runs (``status.json``) are skipped, started ones resume from their
checkpoints, new ones start, so a restarted sweep redoes nothing that finished.
``train_shipped`` does the same on a Ray worker, from the bytes of the run folders
(``grokkit.sweep.ship``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence


def stack_sizes(n: int, max_stack: int, slots: int) -> list[int]:
    """Split ``n`` runs into stacks of at most ``max_stack``, into at least ``min(n, slots)`` of them, evenly."""
    parts = max(math.ceil(n / max_stack), min(n, slots))
    return [n // parts + (i < n % parts) for i in range(parts)]


def plan_batches(configs: Sequence[tuple[Path, Any]], max_stack: int, slots: int = 1,
                 pad_widths: bool = False) -> list[list[str]]:
    """Group (run directory, RunConfig) pairs into batches of stackable runs, at most ``max_stack`` each,
    and each group into at least ``slots`` batches (when it has the runs), so every Ray slot gets work.
    ``pad_widths``: runs of different widths are stackable (padded to the widest, ``grokkit.model.pad``)."""
    from grokkit.train.runs import stack_key

    groups: dict[Any, list[str]] = {}
    for path, config in configs:
        groups.setdefault(stack_key(config, pad_widths), []).append(str(path))
    batches = []
    for paths in groups.values():
        start = 0
        for size in stack_sizes(len(paths), max_stack, slots):
            batches.append(paths[start : start + size])
            start += size
    return batches


def train_batch(paths: Sequence[str], progress: bool = False) -> list[str]:
    """Train the unfinished runs of one batch as one stack; return the paths trained.

    A run that diverges leaves the stack (the others go on), is reported on stderr, and counts
    as done: a diverged run is a result of the sweep (its row says at which step), and training
    it again would diverge again.
    """
    import sys

    from grokkit.train.runs import DivergedError
    from grokkit.run import Run
    from grokkit.workflow import train_many

    runs = [Run(p) for p in paths]
    todo = [r for r in runs if (s := r.status()) is None or not (s.finished or s.diverged)]
    fresh = [r for r in todo if not r.checkpoint_steps()]
    started = [r for r in todo if r.checkpoint_steps()]
    for group, resume in ((fresh, False), (started, True)):  # started runs resume from their own checkpoints
        if not group:
            continue
        try:
            train_many(group, resume=resume, progress=progress)
        except DivergedError as exc:
            for line in exc.lines:
                print(f"note: {line}", file=sys.stderr)
    return [str(r.path) for r in todo]


def train_shipped(batch: list[tuple[str, Any]]) -> dict[str, Any]:
    """A Ray task: unpack the runs into a temporary folder of this worker, train them as one batch,
    and return each run's files (``grokkit.sweep.ship.Bundle``, with SHA-256s)."""
    import tempfile

    from grokkit.sweep.ship import pack, unpack

    with tempfile.TemporaryDirectory(prefix="grokkit-ray-") as tmp:
        paths = [Path(tmp) / name for name, _ in batch]
        for path, (_, bundle) in zip(paths, batch):
            unpack(path, bundle)
        train_batch([str(p) for p in paths], progress=False)
        return {path.name: pack(path) for path in paths}


def run_line(path: Path, done: int, total: int, node: str | None = None) -> str:
    """``run NAME: grokked at step 700 (3/12 done, node 1a2b3c4d)``: one line per finished run."""
    from grokkit.measures.milestones import milestones
    from grokkit.run import Run

    run = Run(path)
    status, metrics = run.status(), run.metrics()
    step = milestones(metrics).grokked_step
    if status is not None and status.diverged:
        what = f"diverged at step {status.diverged_at}"
    elif step is not None:
        what = f"grokked at step {step}"
    else:
        what = f"no grok by step {metrics[-1]['step'] if metrics else 0}"
    where = f", node {node[:8]}" if node else ""
    return f"run {path.name}: {what} ({done}/{total} done{where})"

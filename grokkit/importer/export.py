"""Write a grokkit run as the progress-measures paper saves its runs: the file ``grokkit import`` reads back.

The file is a ``torch.save`` dict in the paper's ``checkpoints`` form: ``checkpoints`` (state
dicts in the paper's layout, ``grokkit.model.paper``), ``checkpoint_epochs`` (the 0-based
epoch after whose update each was saved: step − 1), ``model`` (the last), the paper's
``Config`` fields as a plain dict, and, when the run logged every step, ``train_losses`` and
``test_losses`` (one per epoch, before its update). Only tensors, lists, numbers and strings:
``torch.load(weights_only=True)`` opens it. It lets a test or a notebook stand in a small run of
its own for the paper's published checkpoint (which this repository cannot download).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from grokkit.errors import RunError
from grokkit.importer.formats import PAPER_OPS
from grokkit.model.hooked import bridge_to_hooked
from grokkit.model.paper import hooked_to_paper


def paper_config(config: Any) -> dict[str, Any]:
    """The paper's ``Config`` fields (``dataclasses.asdict`` of it) for a grokkit config."""
    ops = {ours: theirs for theirs, ours in PAPER_OPS.items()}
    task, model, train = config.task, config.model, config.train
    if task.op not in ops:
        raise RunError(f"task.op {task.op!r}: the paper's code has no such fn_name; it has {', '.join(PAPER_OPS)}")
    if model.n_layers != 1 or model.layer_norm:
        raise RunError("the paper's model is one layer without LayerNorm")
    return {"p": task.p, "fn_name": ops[task.op], "frac_train": task.frac_train, "seed": task.seed, "lr": train.lr,
            "weight_decay": train.weight_decay, "num_epochs": train.steps, "save_every": train.checkpoint_every,
            "d_model": model.d_model, "num_heads": model.n_heads, "d_mlp": model.d_mlp, "d_head": model.d_head,
            "act_type": {"relu": "ReLU", "gelu": "GeLU"}.get(model.act_fn, model.act_fn), "use_ln": False}


def write_paper_file(run: Any, path: str | Path) -> Path:
    """Save ``run``'s checkpoints (from step 1 on) as the paper's ``checkpoints`` file at ``path``; returns it."""
    path = Path(path)
    config = paper_config(run.config)  # a task or model the paper's file cannot hold: refused before reading
    steps = [s for s in run.checkpoint_steps() if s >= 1]  # a checkpoint is saved after an update: step 0 has none
    if not steps:
        raise RunError(f"{run.path}: no checkpoint after step 0 to export")
    states = []
    for step in steps:
        hooked = bridge_to_hooked(run.checkpoint(step).model, run.config.model.n_heads)
        try:
            states.append(hooked_to_paper(hooked))
        except ValueError as exc:
            raise RunError(f"{run.path}: step {step}: {exc}") from None
    data: dict[str, Any] = {"checkpoints": states, "checkpoint_epochs": [s - 1 for s in steps], "model": states[-1],
                            "config": config}
    rows = run.metrics()
    if [r["step"] for r in rows] == list(range(len(rows))):  # logged every step, as the paper logs every epoch
        data["train_losses"] = [r["train_loss"] for r in rows][: steps[-1]]
        data["test_losses"] = [r["test_loss"] for r in rows][: steps[-1]]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path)
    return path

"""The RunConfig of an imported run: defaults of the file's source, its own config, its shapes, ``--set``.

Later layers win: (1) the source's defaults — the paper's (p = 113, add, frac_train 0.3,
split seed 0 with its ``random.shuffle`` split, its init, trained MLP biases, 10-step
warm-up from 0) for paper-layout files, the demo's (split seed 598 by ``randperm``,
HookedTransformer's init with seed 999, frozen biases, no warm-up) for HookedTransformer
files; (2) the file's config when it carries one; (3) the widths read off the weights
(d_model, heads, d_mlp, p, and p or p + 1 output classes), which cannot be otherwise;
(4) ``--set section.key=value``. A ``--set`` that contradicts the weights, or a split that
differs from the file's own train indices, is refused.
"""

from __future__ import annotations

from typing import Any, Iterable

import torch

from grokkit.data.dataset import AlgorithmicDataset
from grokkit.importer.formats import Source
from grokkit.importer.load import ImportFileError
from grokkit.limits import check_resources
from grokkit.spec import RunConfig, apply_overrides, config_from_dict

SOURCE_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {
        "task": {"op": "add", "p": 113, "frac_train": 0.3, "seed": 0, "split": "paper"},
        "model": {"init": "paper", "train_biases": True, "seed": 0},
        "train": {"lr": 1e-3, "weight_decay": 1.0, "beta1": 0.9, "beta2": 0.98, "warmup_steps": 10,
                  "warmup_from_zero": True},
    },
    "hooked": {
        "task": {"op": "add", "p": 113, "frac_train": 0.3, "seed": 598, "split": "randperm"},
        "model": {"init": "hooked", "train_biases": False, "seed": 999},
        "train": {"lr": 1e-3, "weight_decay": 1.0, "beta1": 0.9, "beta2": 0.98, "warmup_steps": 0},
    },
}


def shapes_of(state: dict[str, torch.Tensor]) -> dict[str, int]:
    """Widths of a bridge state dict (``grokkit.model.hooked`` names)."""
    d_vocab, d_model = state["embed.weight"].shape
    return {
        "d_vocab": d_vocab,
        "d_model": d_model,
        "n_ctx": state["pos_embed.weight"].shape[0],
        "d_mlp": state["blocks.0.mlp.in.weight"].shape[0],
        "d_head_total": state["blocks.0.attn.q.weight"].shape[0],
        "d_vocab_out": state["unembed.weight"].shape[0],
    }


def _merge(base: dict[str, dict[str, Any]], top: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {section: dict(values) for section, values in base.items()}
    for section, values in top.items():
        out.setdefault(section, {}).update(values)
    return out


def import_config(source: Source, overrides: Iterable[str] = ()) -> RunConfig:
    """The imported run's config (see the module docstring for the order of precedence)."""
    shapes = shapes_of(source.checkpoints[-1][1])
    if shapes["n_ctx"] != 3:
        raise ImportFileError(f"pos_embed.W_pos: {shapes['n_ctx']} positions; grokkit's tasks use 3 ([x, y, =])")
    if shapes["d_vocab_out"] not in (shapes["d_vocab"], shapes["d_vocab"] - 1):
        raise ImportFileError(f"unembed.W_U: {shapes['d_vocab_out']} output classes for {shapes['d_vocab']} input "
                              "tokens; expected the symbols (+ '=')")
    n_heads = source.n_heads
    widths = {
        "task": {"p": shapes["d_vocab"] - 1},
        "model": {"d_model": shapes["d_model"], "n_heads": n_heads, "d_head": shapes["d_head_total"] // n_heads,
                  "d_mlp": shapes["d_mlp"], "eq_output": shapes["d_vocab_out"] == shapes["d_vocab"]},
    }
    steps = [step for step, _ in source.checkpoints]
    last = max([steps[-1]] + [s for s, _ in source.train_curve] + [s for s, _ in source.test_curve])
    gaps = {b - a for a, b in zip(steps, steps[1:])}
    cadence: dict[str, Any] = {"steps": last}
    if len(gaps) == 1:  # evenly spaced checkpoints: record their spacing as the run's cadence
        cadence["eval_every"] = cadence["checkpoint_every"] = gaps.pop()
    data = _merge(_merge(_merge(SOURCE_DEFAULTS[source.layout], {"train": cadence}), source.config), widths)
    config = config_from_dict(apply_overrides(data, overrides), source="grokkit import")
    check_widths(config, shapes, n_heads)
    check_resources(config)  # the widths come from the file: a small file may declare p = 100 003
    check_split(config, source)  # builds the grid
    return config


def check_widths(config: RunConfig, shapes: dict[str, int], n_heads: int) -> None:
    """Refuse a config (after ``--set``) whose model would not hold the file's weights."""
    model, task = config.model, config.task
    expected = {
        "model.d_model": (model.d_model, shapes["d_model"]),
        "model.d_mlp": (model.d_mlp, shapes["d_mlp"]),
        "model.n_heads": (model.n_heads, n_heads),
        "model.d_head": (model.d_head, shapes["d_head_total"] // n_heads),
        "task.p (input tokens)": (task.d_vocab, shapes["d_vocab"]),
        "model.eq_output (output classes)": (task.d_vocab_out + int(model.eq_output), shapes["d_vocab_out"]),
    }
    for field, (ours, theirs) in expected.items():
        if ours != theirs:
            raise ImportFileError(f"{field}: the config gives {ours}, the file's weights have {theirs}; "
                                  "drop that --set (widths come from the weights)")


def check_split(config: RunConfig, source: Source) -> None:
    """The file's own train rows, when it records them, must be the config's split."""
    if source.train_rows is None:
        return
    ours = AlgorithmicDataset(config.task).split.train
    theirs = source.train_rows.sort().values
    if ours.shape != theirs.shape or not torch.equal(ours, theirs):
        task = config.task
        raise ImportFileError(
            f"task.split/task.seed: the file's {len(theirs)} train rows are not the split {task.split!r} with seed "
            f"{task.seed} gives ({len(ours)} rows); pass the seed and split it was made with, e.g. "
            "--set task.seed=598 --set task.split=randperm"
        )

"""Measures computed during training, at every checkpoint, on the training device.

The trainer calls ``make_live_callback(run)`` once and passes the result as
``train(..., on_checkpoint=callback)``; each call appends one row to
``RUN/measures.jsonl``. With no final checkpoint yet, key frequencies are the spec's
``[measures] key_freqs`` if given, else detected at each checkpoint.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import torch

from grokkit.measures.base import Context, RunContext, compute_row
from grokkit.measures.offline import MEASURES_FILE, read_measures, write_measures
from grokkit.measures.registry import resolve


def make_live_callback(run: Any) -> Callable[[int, Any], None] | None:
    """``on_checkpoint(step, model)`` for ``train``, or None when ``[measures] live`` is empty.

    Bad names or measures that cannot run live raise here, before training starts.
    On the first call, rows at or after its step are dropped (a resumed run redoes them).
    """
    from grokkit.model.fast import weights_of

    cfg = run.config.measures
    if not cfg.live:
        return None
    chosen = resolve(cfg.live, run.config.task.op, live=True)
    path = run.path / MEASURES_FILE
    shared: dict[str, RunContext] = {}

    def on_checkpoint(step: int, model: Any) -> None:
        if "run" not in shared:
            shared["run"] = RunContext(
                run.dataset, model.W_E.device, key_freqs=cfg.key_freqs,
                key_freqs_source="user" if cfg.key_freqs is not None else "per_checkpoint",
                key_freq_rule=cfg.key_freq_rule, gini_over=cfg.gini_over,
            )
            if path.exists():
                write_measures(path, [row for row in read_measures(path) if row.get("step", -1) < step])
        with torch.no_grad():
            row = compute_row(Context(shared["run"], step, weights_of(model)), chosen)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")

    return on_checkpoint

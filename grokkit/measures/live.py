"""Measures computed during training, at every checkpoint, on the training device.

``LiveMeasures(runs)`` is a training-engine callback: after each checkpoint of a run
whose spec lists ``[measures] live``, it adds that step's row to the run's measures table
(``grokkit.files.run_folder``; the engine holds the run's lock, so no ``measure`` races it).
With no final checkpoint yet, key frequencies are the spec's ``[measures] key_freqs``
if given, else detected at each checkpoint. Bad names, or measures that cannot run
live, raise when the callback is made, before training starts.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from grokkit.measures.base import Context, Measure, RunContext, compute_row
from grokkit.measures.registry import resolve


class LiveMeasures:
    """The spec's live measures of each run, one measures row per checkpoint.

    A training-engine callback (it implements the hooks of ``grokkit.train.callbacks.Callback``
    it needs; measures import nothing from training).
    """

    def __init__(self, runs: Sequence[Any]):
        self.chosen: dict[Any, list[Measure]] = {}
        for run in runs:
            if run.config.measures.live:
                self.chosen[run.path] = resolve(run.config.measures.live, run.config.task.op, live=True,
                                                  model_kind=run.config.model.kind,
                                                  act_fn=run.config.model.act_fn)
        self.contexts: dict[Any, RunContext] = {}

    def __bool__(self) -> bool:
        return bool(self.chosen)

    def on_train_start(self, runs: list[Any], start_step: int) -> None:
        for run in runs:  # a resumed run redoes the rows after its checkpoint
            if run.path in self.chosen:
                run.folder.rewind_measures(start_step or None)

    def on_checkpoint(self, run: Any, step: int, model: Any) -> None:
        from grokkit.model.run_weights import weights_of

        chosen = self.chosen.get(run.path)
        if chosen is None:
            return
        cfg = run.config.measures
        if run.path not in self.contexts:
            # no final checkpoint yet: the spec's keys, else each checkpoint's own
            self.contexts[run.path] = RunContext.of(run.dataset, model.W_E.device, cfg, key_freqs=cfg.key_freqs,
                                                    per_checkpoint=True, metrics=run.metrics)
        with torch.no_grad():
            row = compute_row(Context(self.contexts[run.path], step, weights_of(model)), chosen)
        run.folder.append_measures(row)


def live_measures(runs: Sequence[Any]) -> list[LiveMeasures]:
    """``[LiveMeasures(runs)]`` when some run asks for live measures, else ``[]``."""
    live = LiveMeasures(runs)
    return [live] if live else []

"""Measure a mixture run's checkpoints (``grokkit.measures.mixture``): what ``measure_run`` and
``measure_model`` do for a run whose ``task.op`` is "mixture".

Each task's key components are detected at the final checkpoint (``per_checkpoint_keys``: at
every checkpoint); user-given key frequencies are refused, since the tasks' groups differ.
The rows are merged into the run's measures table under the run's lock, as for one task.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from grokkit.errors import RunError
from grokkit.files.lock import locked
from grokkit.measures.base import MeasureError
from grokkit.measures.keycheck import KeyWarning, check_keys
from grokkit.measures.mixture import MixtureMeasures


def _refuse_keys(key_freqs: Any) -> None:
    if key_freqs is not None:
        raise MeasureError("key frequencies: a mixture's tasks each have their own group; their keys are detected "
                           "per task (leave out --key-freqs and [measures] key_freqs)")


def _warn(checks: list[tuple[int, Any]]) -> None:
    for k, check in checks:
        if check is not None:
            warnings.warn(f"task {k}: {check.message}", KeyWarning, stacklevel=4)


def measure_mixture(run: Any, measures: list[str] | None = None, *, rule: str | None = None,
                    explain: float | None = None, device: str | torch.device = "cpu", progress: bool = False,
                    replace: bool = False, key_freqs: list[int] | None = None,
                    per_checkpoint_keys: bool = False) -> list[dict[str, Any]]:
    """``grokkit.measures.offline.measure_run`` for a mixture: one row per checkpoint, merged into the table."""
    from grokkit.measures.offline import _progress
    from grokkit.model.build import build_model
    from grokkit.model.load import load_weights
    from grokkit.model.run_weights import weights_of

    _refuse_keys(key_freqs if key_freqs is not None else run.config.measures.key_freqs)
    steps = run.checkpoint_steps()
    if not steps:
        raise RunError(f"{run.path}: has no checkpoints to measure")
    device = torch.device(device)
    mix = MixtureMeasures(run.dataset, device, measures, run.config.measures, rule=rule, explain=explain,
                          per_checkpoint=per_checkpoint_keys, metrics=run.metrics)
    with locked(run.path):
        model = build_model(run.config.model, run.config.task, device=device)
        weights = weights_of(model)  # views: loading each checkpoint into the model refreshes them in place
        if mix.needs_keys and not per_checkpoint_keys:
            load_weights(model, run.checkpoint(steps[-1]))
            mix.detect_keys(steps[-1], weights)
        rows = []
        for step in _progress(steps, progress):
            load_weights(model, run.checkpoint(step))
            row, per_task = mix.row(step, weights)
            rows.append(row)
        with torch.no_grad():
            checks = [(k, check_keys(ctx, task_row)) for k, ctx, task_row in per_task]
        run.folder.merge_measures(rows, replace=replace)
    _warn(checks)
    return rows


def measure_mixture_model(model: Any, dataset: Any, measures: list[str] | None = None, *, rule: str,
                          step: int = 0, explain: float | None = None,
                          key_freqs: list[int] | None = None) -> dict[str, Any]:
    """``grokkit.measures.offline.measure_model`` for a mixture: one row for ``model``, each task's keys detected on it."""
    from grokkit.model.run_weights import weights_of

    _refuse_keys(key_freqs)
    weights = weights_of(model)
    mix = MixtureMeasures(dataset, model.W_E.device, measures, rule=rule, explain=explain, per_checkpoint=True)
    if mix.needs_keys:
        mix.detect_keys(step, weights)
    row, per_task = mix.row(step, weights)
    with torch.no_grad():
        _warn([(k, check_keys(ctx, task_row)) for k, ctx, task_row in per_task])
    return row

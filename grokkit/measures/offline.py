"""Measure every checkpoint of a finished run into the run's measures table.

One bridge is built; each checkpoint's weights are loaded into it (the next checkpoint
is read and verified in a background thread meanwhile), its last-position activations
over the whole grid are computed once (``activations.from_weights``) and every chosen
measure reads them; values every checkpoint shares (key directions, final-checkpoint
directions) are computed once per run. Key frequencies come from the final checkpoint
unless the caller gives them or asks for per-checkpoint detection; the set used is
written into every row.

The table (``grokkit.files.run_folder``) is keyed by step: a call updates the columns it
computes and keeps every other column and row (``replace`` for a fresh table). The run's
lock is held throughout, so a training run with live measures (or another ``measure``)
cannot write the table meanwhile: whichever comes second is refused in one line.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from grokkit.errors import RunError
from grokkit.files.jsonl import read_rows
from grokkit.files.rows import Rows
from grokkit.limits import check_measurable
from grokkit.files.run_folder import RunFolder, fold_rows
from grokkit.analysis.keys import DEFAULT_RULE
from grokkit.measures.base import Context, MeasureError, RunContext, compute_row, detect_keys
from grokkit.measures.keycheck import check_keys, warn
from grokkit.measures.registry import MEASURES, resolve


def read_measures(path: str | Path) -> list[dict[str, Any]]:
    """The measures table of a run directory (or of the file itself), one row per step, ascending."""
    path = Path(path)
    return RunFolder(path).measures() if path.is_dir() else fold_rows(read_rows(path))


def measure_run(
    run: Any,
    measures: list[str] | None = None,
    key_freqs: list[int] | None = None,
    per_checkpoint_keys: bool = False,
    *,
    rule: str | None = None,
    explain: float | None = None,
    device: str | torch.device = "cpu",
    progress: bool = False,
    replace: bool = False,
) -> Rows:
    """Compute ``measures`` (default: all that apply) at every checkpoint of ``run``.

    Key frequencies, for the Fourier measures: ``key_freqs`` if given (source "user"),
    else the spec's ``[measures] key_freqs``, else detected at each checkpoint when
    ``per_checkpoint_keys`` (source "per_checkpoint"), else detected once at the final
    checkpoint (source "final") by ``rule`` (default: the spec's ``key_freq_rule``, whose default is
    ``logits``) with target share ``explain`` (default: the spec's ``key_explain``, 0.95).

    Returns the rows computed. They are merged into the run's measures table, which keeps
    every other column and row (``replace``: the table becomes these rows). Refused, before
    anything is computed, while another process writes the run (training, another measure).

    Self-check (``grokkit.measures.keycheck``): when the last checkpoint has grokked and its
    restricted loss is above its test loss, a ``KeyWarning`` names the keys and the better set.
    """
    cfg = run.config.measures
    if run.config.task.is_mixture:
        from grokkit.measures.mixture_run import measure_mixture

        return measure_mixture(run, measures, rule=rule, explain=explain, device=device, progress=progress,
                               replace=replace, key_freqs=key_freqs, per_checkpoint_keys=per_checkpoint_keys)
    chosen = resolve(measures, run.config.task.op, model_kind=run.config.model.kind, act_fn=run.config.model.act_fn)
    check_measurable(run.config)  # the grid's neurons and logits fit, before any checkpoint is loaded
    steps = run.checkpoint_steps()
    if not steps:
        raise RunError(f"{run.path}: has no checkpoints to measure")
    if key_freqs is not None and per_checkpoint_keys:
        raise MeasureError("give key frequencies or ask for per-checkpoint detection, not both")
    if key_freqs is None and not per_checkpoint_keys:
        key_freqs = cfg.key_freqs
    source = "user" if key_freqs is not None else "per_checkpoint" if per_checkpoint_keys else "final"
    with run.locked():  # no live measures or other measure call writes the table meanwhile; config re-checked
        steps = run.checkpoint_steps()  # re-read under the lock: what the measures are computed from
        rows, check = _measure_steps(run, chosen, steps, key_freqs, source, rule, explain, torch.device(device),
                                     progress)
        run.folder.merge_measures(rows, replace=replace, forget=None if replace else _stale_columns(run, rows))
    warn(check)
    return Rows(rows, "measures")


def _measure_steps(run: Any, chosen: list[Any], steps: list[int], key_freqs: list[int] | None, source: str,
                   rule: str | None, explain: float | None, device: torch.device, progress: bool) -> tuple[list, Any]:
    """One row of ``chosen`` measures per checkpoint step, and the key self-check at the last one."""
    from grokkit.model.build import build_model
    from grokkit.model.load import load_weights
    from grokkit.model.run_weights import weights_of

    model = build_model(run.config.model, run.config.task, device=device)
    weights = weights_of(model)  # views: loading each checkpoint into the model below refreshes them in place
    ctx_run = RunContext.of(run.dataset, device, run.config.measures, key_freqs=key_freqs,
                            per_checkpoint=source == "per_checkpoint", rule=rule, explain=explain, metrics=run.metrics)
    if any(m.needs == "circuit" for m in chosen) and (source == "final" or any(m.needs_final for m in chosen)):
        load_weights(model, run.checkpoint(steps[-1]))
        if source == "final":
            with torch.no_grad():
                ctx_run.key_freqs = detect_keys(Context(ctx_run, steps[-1], weights), ctx_run.key_freq_rule,
                                                ctx_run.key_explain).keys
        ctx_run.final_W_E = weights.W_E.detach().clone()

    rows = []
    # Reading and hashing the next checkpoint overlaps with measuring this one.
    with ThreadPoolExecutor(max_workers=1) as reader:
        upcoming = reader.submit(run.checkpoint, steps[0])
        for i, step in enumerate(_progress(steps, progress)):
            ckpt = upcoming.result()
            if i + 1 < len(steps):
                upcoming = reader.submit(run.checkpoint, steps[i + 1])
            load_weights(model, ckpt)
            ctx = Context(ctx_run, step, weights)
            rows.append(compute_row(ctx, chosen))
    with torch.no_grad():
        return rows, check_keys(ctx, rows[-1])  # ctx: the last checkpoint, still loaded


def _stale_columns(run: Any, rows: list[dict[str, Any]]) -> dict[int, list[str]]:
    """Per step, the stored group-circuit columns this call leaves behind while changing the step's key
    frequencies: kept, they would be labelled with keys they were not computed with, so they go (with a note)."""
    circuit = [m for m in MEASURES.values() if m.needs == "circuit"]
    table = {row["step"]: row for row in run.folder.measures()}
    stale: dict[int, list[str]] = {}
    dropped: set[str] = set()
    for row in rows:
        old = table.get(row["step"], {})
        if "key_freqs" in row and old.get("key_freqs", row["key_freqs"]) != row["key_freqs"]:
            gone = [m for m in circuit if any(k in old and k not in row for k in m.keys)]
            if gone:
                stale[row["step"]] = [k for m in gone for k in m.keys]
                dropped.update(m.name for m in gone)
    if stale:
        print(f"note: {run.folder.measures_path}: dropped {', '.join(sorted(dropped))} at {len(stale)} step(s): "
              "they were computed with other key frequencies than this call's; measure them again to restore them",
              file=sys.stderr)
    return stale


def _progress(steps: list[int], enabled: bool):
    if not enabled:
        return steps
    from grokkit.terminal import progress_bar

    return progress_bar(steps, unit="ckpt")


def measure_model(
    model: Any,
    dataset: Any,
    measures: list[str] | None = None,
    key_freqs: list[int] | None = None,
    rule: str = DEFAULT_RULE,
    step: int = 0,
    explain: float | None = None,
) -> dict[str, Any]:
    """One row of measures for one TransformerLens ``model`` on ``dataset``; nothing is written.

    Key frequencies are ``key_freqs`` (source "user") or detected on this model by
    ``rule`` (source "per_checkpoint"; ``explain``: the logits rule's target share, default 0.95).
    Measures that need a final checkpoint are compared with ``model`` itself. A grokked model
    whose restricted loss is above its test loss gives a ``KeyWarning`` naming the better set.
    """
    from grokkit.model.run_weights import model_kind, weights_of

    if dataset.cfg.is_mixture:
        from grokkit.measures.mixture_run import measure_mixture_model

        return measure_mixture_model(model, dataset, measures, rule=rule, step=step, explain=explain,
                                     key_freqs=key_freqs)
    weights = weights_of(model)
    chosen = resolve(measures, dataset.cfg.op, model_kind=model_kind(model), act_fn=weights.act_fn)
    ctx_run = RunContext.of(dataset, model.W_E.device, key_freqs=key_freqs, per_checkpoint=True, rule=rule,
                            explain=explain)
    ctx_run.final_W_E = weights.W_E.detach().clone()
    ctx = Context(ctx_run, step, weights)
    row = compute_row(ctx, chosen)
    with torch.no_grad():
        warn(check_keys(ctx, row))
    return row

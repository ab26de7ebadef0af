"""Measure every checkpoint of a finished run and write ``RUN/measures.jsonl``.

One bridge is built; each checkpoint's weights are loaded into it (the next checkpoint
is read and verified in a background thread meanwhile), its last-position activations
over the whole grid are computed once (``activations.from_weights``) and every chosen
measure reads them; values every checkpoint shares (key directions, final-checkpoint
directions) are computed once per run. Key frequencies come from the final checkpoint
unless the caller gives them or asks for per-checkpoint detection; the set used is
written into every row.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from grokkit.errors import CheckpointError, RunError
from grokkit.files.jsonl import read_rows, write_rows
from grokkit.analysis.keys import DEFAULT_RULE
from grokkit.measures.base import Context, MeasureError, RunContext, compute_row, detect_keys
from grokkit.measures.keycheck import check_keys, warn
from grokkit.measures.registry import resolve

MEASURES_FILE = "measures.jsonl"


def read_measures(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a measures.jsonl (a run directory or the file itself); a torn last line is skipped."""
    path = Path(path)
    if path.is_dir():
        path = path / MEASURES_FILE
    return read_rows(path)


def write_measures(path: Path, rows: list[dict[str, Any]]) -> None:
    """Replace ``path`` with ``rows`` atomically (``grokkit.files.jsonl.write_rows``)."""
    write_rows(path, rows)


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
) -> list[dict[str, Any]]:
    """Compute ``measures`` (default: all that apply) at every checkpoint of ``run``.

    Key frequencies, for the Fourier measures: ``key_freqs`` if given (source "user"),
    else the spec's ``[measures] key_freqs``, else detected at each checkpoint when
    ``per_checkpoint_keys`` (source "per_checkpoint"), else detected once at the final
    checkpoint (source "final") by ``rule`` (default: the spec's ``key_freq_rule``, whose default is
    ``logits``) with target share ``explain`` (default: the spec's ``key_explain``, 0.95).
    Writes ``RUN/measures.jsonl`` (replacing it whole, atomically) and returns the rows.

    Self-check (``grokkit.measures.keycheck``): when the last checkpoint has grokked and its
    restricted loss is above its test loss, a ``KeyWarning`` names the keys and the better set.
    """
    from grokkit.model.build import build_model
    from grokkit.model.run_weights import weights_of

    cfg = run.config.measures
    chosen = resolve(measures, run.config.task.op)
    steps = run.checkpoint_steps()
    if not steps:
        raise RunError(f"{run.path}: has no checkpoints to measure")
    if key_freqs is not None and per_checkpoint_keys:
        raise MeasureError("give key frequencies or ask for per-checkpoint detection, not both")
    if key_freqs is None and not per_checkpoint_keys:
        key_freqs = cfg.key_freqs
    source = "user" if key_freqs is not None else "per_checkpoint" if per_checkpoint_keys else "final"

    device = torch.device(device)
    model = build_model(run.config.model, run.config.task, device=device)
    weights = weights_of(model)  # views: loading a state dict below refreshes them in place

    def load(ckpt: Any) -> None:
        try:
            model.load_state_dict({k: v.to(device) for k, v in ckpt.model.items()}, strict=True)
        except RuntimeError:
            raise CheckpointError(f"checkpoint {ckpt.path}: its weights do not fit this run's model") from None

    ctx_run = RunContext(run.dataset, device, key_freqs=key_freqs, key_freqs_source=source,
                         key_freq_rule=rule or cfg.key_freq_rule, gini_over=cfg.gini_over, sgld=cfg.sgld,
                         key_explain=cfg.key_explain if explain is None else explain)
    if any(m.needs == "circuit" for m in chosen) and (source == "final" or any(m.needs_final for m in chosen)):
        load(run.checkpoint(steps[-1]))
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
            load(ckpt)
            ctx = Context(ctx_run, step, weights)
            rows.append(compute_row(ctx, chosen))
    write_measures(run.path / MEASURES_FILE, rows)
    with torch.no_grad():
        warn(check_keys(ctx, rows[-1]))  # ctx: the last checkpoint, still loaded
    return rows


def _progress(steps: list[int], enabled: bool):
    if not enabled:
        return steps
    from tqdm.auto import tqdm

    return tqdm(steps, unit="ckpt", dynamic_ncols=True, mininterval=0.5)


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
    from grokkit.model.run_weights import weights_of

    chosen = resolve(measures, dataset.cfg.op)
    weights = weights_of(model)
    ctx_run = RunContext(dataset, model.W_E.device, key_freqs=key_freqs,
                         key_freqs_source="user" if key_freqs is not None else "per_checkpoint", key_freq_rule=rule)
    if explain is not None:
        ctx_run.key_explain = explain
    ctx_run.final_W_E = weights.W_E.detach().clone()
    ctx = Context(ctx_run, step, weights)
    row = compute_row(ctx, chosen)
    with torch.no_grad():
        warn(check_keys(ctx, row))
    return row

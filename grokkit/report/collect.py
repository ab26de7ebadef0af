"""Everything a report shows, gathered from a run as plain numbers.

Curves come from the run's metrics rows (dense) and its measures table (one row per
checkpoint). The static figures come from the final checkpoint, read as the measures read it
(``grokkit.measures.checkpoint``: the same activations on every input pair, group, grid and key
components). A part that cannot be had stays ``None`` and
``missing`` says why, so the page can tell the reader instead of dropping it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import torch

from grokkit.files.layout import MEASURES_FILE, METRICS_FILE
from grokkit.measures.keycheck import KeyCheck
from grokkit.measures.milestones import Milestones
from grokkit.measures.outcome import classify
from grokkit.measures.phases import phase_rows, run_phases


@dataclass
class PhaseBand:
    """One shaded stretch of training."""

    name: str
    start: int
    end: int


@dataclass
class Mark:
    """A step where something about the run changed (its data: ``grokkit.extend``), drawn as a vertical line."""

    step: int
    label: str


def data_marks(extended: Iterable[dict[str, Any]]) -> list[Mark]:
    """One mark per recorded data change (``task.frac_train``), e.g. ``frac_train 0.5 → 0.2``."""
    marks = []
    for entry in extended:
        changed = entry.get("changed") if isinstance(entry.get("changed"), dict) else {}
        task = {k.split(".", 1)[1]: v for k, v in changed.items() if str(k).startswith("task.")}
        if task and isinstance(entry.get("from_step"), int):
            marks.append(Mark(entry["from_step"], ", ".join(f"{k} {v[0]} → {v[1]}" for k, v in task.items())))
    return marks


@dataclass
class FinalArrays:
    """What the final checkpoint looks like, read through the model's cache."""

    step: int
    group: str = ""  # the task's group (``grokkit.analysis.groups``), e.g. "Z_59", "S5"
    group_note: str = ""  # one line on what that view is and leaves out
    component_names: list[str] | None = None  # name of each component k = 1 … (frequency, irrep)
    basis_names: list[str] | None = None
    """Name of each basis row (``const``, ``cos 1``, ``sin 1``, … over Z_n; ``std[0,1]`` … over S5)."""
    embed_norms: np.ndarray | None = None  # [n] ‖(F·W_E[symbols])_f‖ per basis row f
    embed_component_norms: np.ndarray | None = None  # [n_components] root of the squares of each component's rows
    neuron_freq: np.ndarray | None = None  # [d_mlp] each neuron's frequency k
    neuron_frac: np.ndarray | None = None  # [d_mlp] share of its Fourier mass at that k
    neuron_explained: np.ndarray | None = None  # [d_mlp] bool
    attn_eq: np.ndarray | None = None  # [n_heads, 2, n_a, n_b] attention from '=' to a (0) and b (1)
    attn_b_values: list[int] | None = None  # the b of each grid column (division skips b = 0)
    logit_fourier: np.ndarray | None = None  # [n, n] ‖(F·L·Fᵀ)[i, j, :]‖ over output classes
    logit_components: np.ndarray | None = None  # [n_components + 1]² the same, per (component of a, of b)
    component_shares: np.ndarray | None = None  # [n_components] share of the centred logit table per component
    key_freqs: list[int] | None = None
    key_freqs_source: str = ""
    key_rule: str = ""  # the rule that chose them ("user" when given)
    keys_explained: float | None = None  # their share of this checkpoint's centred logit table
    key_check: KeyCheck | None = None  # the failed self-check (grokked, restricted loss > test loss), else None


@dataclass
class ReportData:
    """The inputs of :func:`grokkit.report.html.render_page`, all plain data."""

    run_path: str
    config: dict[str, dict[str, Any]]
    metrics: list[dict[str, Any]]
    measures: list[dict[str, Any]]
    status: RunStatus | None
    phases: list[PhaseBand] = field(default_factory=list)
    phase_rule: str = ""
    paper_phases: Any = None  # grokkit.measures.phases.Phases by the paper's definitions, from the measures
    milestones: Milestones = Milestones(None, None)  # first steps with train / test accuracy ≥ 0.99
    records: list[dict[str, Any]] = field(default_factory=list)
    """An imported run's own loss records (``imported_losses.jsonl``); [] for a run grokkit trained."""
    provenance: str = ""  # where the milestones and phases come from (``RunPhases.provenance``)
    final: FinalArrays | None = None
    missing: dict[str, str] = field(default_factory=dict)
    """Section id → why that section has nothing to show."""
    marks: list[Mark] = field(default_factory=list)  # where the run's data changed (vertical lines)
    outcome: Any = None  # grokkit.measures.outcome.Outcome of the metrics rows (None without one)


def collect(run: Any, step: int | None = None, final: bool = True) -> ReportData:
    """Gather a report's data from ``run`` (static figures from checkpoint ``step``, default the last;
    ``final=False``: the curves only, no checkpoint opened)."""
    data = ReportData(
        run_path=str(run.path.resolve()),
        config=run.config.to_dict(),
        metrics=run.metrics(),
        measures=run.measures(),
        status=run.status(),
        records=run.imported_curves(),
        marks=data_marks(getattr(run, "extended", [])),
    )
    if not data.metrics:
        data.missing["curves"] = f"{METRICS_FILE} is empty: the run has not logged an evaluation yet."
    if not data.measures:
        data.missing["measures"] = (
            f"this run has no {MEASURES_FILE}: compute it with `grokkit measure {run.path}` "
            "(or train with `grokkit run`), then write the report again."
        )
    _add_phases(data)
    data.outcome = classify(data.metrics)
    if not final:
        data.missing["final"] = "the final checkpoint was not read (collect(final=False))"
    elif run.config.task.is_mixture:  # one group per task: the mixture sections (grokkit.report.mixture) instead
        data.missing["final"] = ("a task mixture: its tasks' groups differ, so the final checkpoint is read per task "
                                 "in the sections of the task mixture above")
    elif run.checkpoint_steps():
        data.final = final_arrays(run, step, data.measures, data.missing)
    else:
        data.missing["final"] = "The run has no checkpoint yet."
    return data


def _add_phases(data: ReportData) -> None:
    story = run_phases(data.metrics, data.measures, data.records)  # as info and measure: the same rows and rule
    data.milestones = story.milestones
    data.paper_phases = story.paper
    data.provenance = story.provenance()
    rows = phase_rows(story, data.metrics, data.measures, data.records)
    if not rows:
        data.missing["phases"] = "no rows to detect phases from"
        return
    phases = story.phases
    data.phase_rule = phases.rule
    bounds = [("memorisation", phases.memorisation_end), ("circuit formation", phases.circuit_formation_end),
              ("cleanup", phases.cleanup_end)]
    start = rows[0]["step"]
    for name, end in bounds:
        if end is None:
            break
        data.phases.append(PhaseBand(name, start, end))
        start = end
    if not data.phases:
        data.missing["phases"] = f"No phase boundary in these curves yet. Rule: {phases.rule}"


def measures_at(measures: list[dict[str, Any]], step: int) -> dict[str, Any]:
    """The measures row of checkpoint ``step``, else the last row ({} when there is none)."""
    return next((row for row in measures if row["step"] == step), measures[-1] if measures else {})


@torch.no_grad()
def final_arrays(run: Any, step: int | None, measures: list[dict[str, Any]], missing: dict[str, str]) -> FinalArrays:
    """Static arrays of one checkpoint; reasons for what does not apply go into ``missing``.

    The checkpoint is read as the measures read it (``grokkit.measures.checkpoint``): the same activations,
    group, grid, key detection and self-check; its key components are the measures row's when it has one.
    """
    from grokkit.analysis import fourier
    from grokkit.analysis.groups.base import component_logit_shares
    from grokkit.measures.base import detect_keys
    from grokkit.measures.checkpoint import checkpoint_context
    from grokkit.measures.keycheck import check_keys

    task = run.config.task
    ctx = checkpoint_context(run, step)
    step, last = ctx.step, ctx.act
    out = FinalArrays(step=step)

    if last.pattern is None:
        missing["attention"] = f"the {run.config.model.kind} kind has no attention"
    else:  # only the '=' position feeds the answer
        pattern = last.pattern[:, :, :2]  # [N, n_heads, 2]
        n_a = task.n_symbols
        out.attn_eq = pattern.reshape(n_a, -1, *pattern.shape[1:]).permute(2, 3, 0, 1).float().numpy()
        out.attn_b_values = sorted(set(run.dataset.y.tolist()))

    try:
        group, grid = ctx.run.group, ctx.run.grid
    except fourier.FourierNotApplicable as exc:
        for key in ("embed", "neurons", "logit_fourier", "key_freqs"):
            missing[key] = str(exc)
        return out

    basis, symbols = group.basis, group.symbols
    out.group, out.group_note, out.component_names = group.name, group.note, list(group.component_names)
    out.basis_names = basis.names
    embed_norms = fourier.embedding_fourier_norms(basis, ctx.weights.W_E.detach()[symbols].double())  # [n]
    out.embed_norms = embed_norms.float().numpy()
    out.embed_component_norms = fourier.per_frequency(basis, embed_norms).float().numpy()

    row = measures_at(measures, step)
    if not group.circuit:
        missing["key_freqs"] = group.note
    elif "key_freqs" in row:
        out.key_freqs, out.key_freqs_source = list(row["key_freqs"]), str(row.get("key_freqs_source", ""))
        out.key_rule, out.keys_explained = str(row.get("key_rule", "")), row.get("keys_explained")
    elif ctx.run.key_freqs_source == "user":  # the spec's [measures] key_freqs
        out.key_freqs, out.key_freqs_source, out.key_rule = list(ctx.key_freqs), "user", "user"
    else:
        keys = detect_keys(ctx, ctx.run.key_freq_rule, ctx.run.key_explain)
        out.key_freqs, out.key_rule, out.keys_explained = keys.keys, keys.rule, keys.explained
        out.key_freqs_source = f"detected at step {step} by the {keys.rule} rule (no {MEASURES_FILE})"

    acts = last.post[grid.rows].double()  # [n*n, d_mlp] over the group grid
    clusters = fourier.neuron_freq_clusters(basis, acts)
    out.neuron_freq = np.asarray(clusters.freq, dtype=np.int64)
    out.neuron_frac = np.asarray(clusters.frac_explained, dtype=np.float64)
    out.neuron_explained = np.asarray(clusters.explained, dtype=bool)
    if group.circuit:  # every output class, as the measures score
        out.component_shares = component_logit_shares(basis, grid.labels, ctx.grid_logits).float().numpy()
    if group.circuit and row.get("step") == step:  # the self-check, with the better set when it fails
        out.key_check = check_keys(ctx, row)
    L = last.logits[grid.rows][:, symbols].double()  # [n*n, n]: the group's symbols as output classes
    coeffs = fourier.fft2d(basis, L).square().sum(-1)  # [n, n] squared norm over output classes
    out.logit_fourier = coeffs.sqrt().float().numpy()
    comp = torch.tensor(basis.freqs)
    blocks = torch.zeros(basis.n_freqs + 1, basis.n_freqs + 1, dtype=coeffs.dtype)
    blocks.index_put_((comp[:, None].expand_as(coeffs), comp[None, :].expand_as(coeffs)), coeffs, accumulate=True)
    out.logit_components = blocks.sqrt().float().numpy()
    return out

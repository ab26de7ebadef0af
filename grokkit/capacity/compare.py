"""Two capacity studies side by side (``grokkit compare DIR1 DIR2``): e.g. two β, two learning rates.

What differs in their specs; per pair of β (equal values paired, else in order) and task, the learned
width Theorem 3 predicts beside the one each study measured, and Proposition 6's critical width; the
agreement with the staircase; per-task normalised loss against width for both, with the predictions.
A capacity study is compared only with another: a transformer run has no widths × tasks and no theory
to line up against a study's, so it is refused in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

import plotly.graph_objects as go

from grokkit.capacity.folder import SPEC_FILE, is_capacity_folder
from grokkit.capacity.load import Study, load_study
from grokkit.errors import RunError
from grokkit.files.page import esc, figure_div, page_html, page_path, table, write_page

SHOWN_TASKS = 6  # loss curves per study in one figure: more is unreadable
COLOURS = ["#1d3557", "#e63946", "#2a9d8f", "#f4a261", "#6a4c93", "#8ab17d"]


@dataclass
class Comparison:
    """Two studies lined up: what ``grokkit compare`` prints, and the page when one was written."""

    a: Study
    b: Study
    differences: list[tuple[str, Any, Any]]
    """(section.key, value in a, value in b) for every setting that differs."""
    pairs: list[tuple[float, float]]
    """The β of a and of b compared with each other."""
    page: Path | None = None
    """The HTML page written (``out``), if any."""


def open_study(path: str | Path) -> Study:
    """``load_study``, with a transformer run refused for what it is."""
    path = Path(path)
    if not is_capacity_folder(path) and (path / "config.json").is_file():
        raise RunError(f"{path}: a grokkit run, not a capacity study; compare puts two capacity studies side by side "
                       "(a run has no widths × tasks and no theory to line up against a study's)")
    if not is_capacity_folder(path):
        raise RunError(f"{path}: not a capacity study (no {SPEC_FILE})")
    return load_study(path)


def differences(a: Study, b: Study) -> list[tuple[str, Any, Any]]:
    left, right = a.spec.to_dict(), b.spec.to_dict()
    out = []
    for section in left:
        for key in left[section]:
            if left[section][key] != right[section].get(key):
                out.append((f"{section}.{key}", left[section][key], right[section].get(key)))
    return out


def beta_pairs(a: Study, b: Study) -> list[tuple[float, float]]:
    common = [beta for beta in a.spec.betas if beta in b.spec.betas]
    return [(beta, beta) for beta in common] if common else list(zip(a.spec.betas, b.spec.betas))


def _record(study: Study, beta: float) -> dict:
    return next(t for t in study.theory if t["beta"] == beta)


def _measured(study: Study, beta: float, task: int) -> str:
    agreement = study.summary["agreement"].get(str(beta))
    if agreement is None:
        return "–"
    width = agreement["measured_learned_width"].get(str(task))
    return "not learned" if width is None else str(width)


def _w(width: int | None) -> str:
    return "–" if width is None else str(width)


def task_rows(c: Comparison, pair: tuple[float, float]) -> list[list[str]]:
    """Per task: π, predicted and measured learned width, critical width, in a and in b."""
    ra, rb = _record(c.a, pair[0]), _record(c.b, pair[1])
    rows = []
    for k in range(1, max(c.a.spec.capacity.K, c.b.spec.capacity.K) + 1):
        row = [str(k)]
        for study, record, beta in ((c.a, ra, pair[0]), (c.b, rb, pair[1])):
            if k > study.spec.capacity.K:
                row += ["", "", "", ""]
                continue
            row += [f"{record['pi'][k - 1]:.4f}", _w(record["learned_width"][k - 1]), _measured(study, beta, k),
                    _w(record["critical_width"][k - 1])]
        rows.append(row)
    return rows


HEADER = ["task", "π (A)", "learned width predicted (A)", "measured (A)", "critical width (A)",
          "π (B)", "learned width predicted (B)", "measured (B)", "critical width (B)"]


def agreement_text(study: Study, beta: float) -> str:
    a = study.summary["agreement"].get(str(beta))
    if a is None:
        return "no members without injection"
    return f"{a['agree']}/{a['cells']} cells as predicted ({a['unambiguous_agree']}/{a['unambiguous_cells']} unique)"


def loss_figure(c: Comparison, pair: tuple[float, float]) -> go.Figure:
    """Final normalised loss of a spread of tasks against width, both studies (A solid, B dashed), and the
    predicted optimum of each (dotted)."""
    fig = go.Figure()
    K = min(c.a.spec.capacity.K, c.b.spec.capacity.K)
    tasks = sorted({round(1 + i * (K - 1) / max(SHOWN_TASKS - 1, 1)) for i in range(min(K, SHOWN_TASKS))})
    for name, study, beta, dash in (("A", c.a, pair[0], "solid"), ("B", c.b, pair[1], "dash")):
        rows = [r for r in study.results if r["beta"] == beta and r["gap"] == 0]
        widths = sorted({r["N"] for r in rows})
        for n, k in enumerate(tasks):
            colour = COLOURS[n % len(COLOURS)]
            fig.add_trace(go.Scatter(
                x=widths, y=[mean(r["loss_norm"] for r in rows if r["task"] == k and r["N"] == N) for N in widths],
                mode="markers+lines", line=dict(color=colour, dash=dash), name=f"{name}: task {k}"))
            fig.add_trace(go.Scatter(
                x=widths, y=[next(r["predicted_loss_norm"] for r in rows if r["task"] == k and r["N"] == N)
                             for N in widths],
                mode="lines", line=dict(color=colour, dash="dot", width=1), name=f"{name}: task {k} predicted",
                showlegend=False))
    fig.update_xaxes(type="log", title_text="width N")
    fig.update_yaxes(title_text="loss / mean predictor's loss", range=[0, 1.1])
    fig.update_layout(title=f"Per-task loss against width: A (β = {pair[0]}, solid) and B (β = {pair[1]}, dashed); "
                            "dotted: predicted optimum", height=480)
    return fig


def comparison_lines(c: Comparison) -> list[str]:
    """What ``grokkit compare DIR1 DIR2`` prints."""
    lines = [f"A  {c.a!r}", f"B  {c.b!r}"]
    lines += [f"differs  {key}: {va!r} (A) | {vb!r} (B)" for key, va, vb in c.differences] or ["differs  nothing"]
    for pair in c.pairs:
        lines.append(f"β = {pair[0]} (A) | {pair[1]} (B): A {agreement_text(c.a, pair[0])}; "
                     f"B {agreement_text(c.b, pair[1])}")
        lines.append("  task   learned width: predicted A  measured A | predicted B  measured B")
        for row in task_rows(c, pair):
            lines.append(f"  {row[0]:>4}  {row[2]:>26}  {row[3]:>10} | {row[6]:>11}  {row[7]:>10}")
    if c.page is not None:
        lines.append(f"page     {c.page}")
    return lines


def compare_studies(a: str | Path, b: str | Path, out: str | Path | None = None) -> Comparison:
    """Line up the studies at ``a`` and ``b`` (each verified); with ``out``, write the page there
    (a folder: compare.html in it)."""
    c = Comparison(open_study(a), open_study(b), [], [])
    c.differences, c.pairs = differences(c.a, c.b), beta_pairs(c.a, c.b)
    if out is None:
        return c
    figs: dict = {}
    blocks = [f"<p>A: {esc(c.a.path)} ({esc(repr(c.a))})<br>B: {esc(c.b.path)} ({esc(repr(c.b))})</p>",
              "<h2>Settings that differ</h2>",
              table(["setting", "A", "B"], [[k, va, vb] for k, va, vb in c.differences]) if c.differences
              else "<p>None: the same spec.</p>"]
    for n, pair in enumerate(c.pairs):
        blocks += [f"<h2>β = {esc(pair[0])} (A) and β = {esc(pair[1])} (B)</h2>",
                   f"<p>A: {esc(agreement_text(c.a, pair[0]))}. B: {esc(agreement_text(c.b, pair[1]))}.</p>",
                   table(HEADER, task_rows(c, pair))]
        if any(r["gap"] == 0 for r in c.a.results) and any(r["gap"] == 0 for r in c.b.results):
            blocks.append(figure_div(f"loss{n}", loss_figure(c, pair), figs))
    c.page = write_page(page_path(out, "compare.html"), page_html("Two capacity studies", "", blocks, figs))
    return c

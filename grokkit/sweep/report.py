"""The sweep report: phase diagrams and the results table, one self-contained HTML file.

A phase diagram puts one varied setting on each axis (e.g. ``task.frac_train`` ×
``train.weight_decay``) and colours each cell by the median over the other varied
settings (seeds, say) of a per-run step: when it grokked, when it memorised. Cells
where no run reached the threshold are left blank and marked "no grok". plotly.js is
embedded once, so the file opens offline.
"""

from __future__ import annotations

import html
import math
import statistics
from pathlib import Path
from typing import Any

from grokkit.files.atomic import write_text_atomic

DIAGRAMS = (
    ("grok_step", "Steps to grok (first test accuracy ≥ 99 %)", "no grok"),
    ("memorise_step", "Steps to memorise (first train accuracy ≥ 99 %)", "never"),
    ("final_test_acc", "Final test accuracy", "-"),
)


def _axis_values(rows: list[dict[str, Any]], key: str) -> list[Any]:
    return sorted({row[key] for row in rows if key in row}, key=lambda v: (isinstance(v, str), v))


def phase_grid(rows: list[dict[str, Any]], x: str, y: str, value: str) -> tuple[list, list, list, list]:
    """(x values, y values, z [y][x] medians or None, text [y][x] "median (k/n)")."""
    xs, ys = _axis_values(rows, x), _axis_values(rows, y)
    z, text = [], []
    for yv in ys:
        z_row, t_row = [], []
        for xv in xs:
            cell = [r.get(value) for r in rows if r.get(x) == xv and r.get(y) == yv]
            hit = [v for v in cell if v is not None]
            med = statistics.median(hit) if hit else None
            z_row.append(med)
            shown = "-" if med is None else (f"{med:.3g}" if isinstance(med, float) and med < 10 else f"{med:.0f}")
            t_row.append(f"{shown} ({len(hit)}/{len(cell)})")
        z.append(z_row)
        text.append(t_row)
    return xs, ys, z, text


def diagram_figure(rows: list[dict[str, Any]], x: str, y: str, value: str, title: str, missing: str):
    import plotly.graph_objects as go

    xs, ys, z, text = phase_grid(rows, x, y, value)
    text = [[t if zz is not None else f"{missing} {t[t.index('('):]}" for t, zz in zip(tr, zr)] for tr, zr in zip(text, z)]
    fig = go.Figure(go.Heatmap(
        x=[str(v) for v in xs], y=[str(v) for v in ys],
        z=[[math.nan if v is None else v for v in row] for row in z],
        text=text, texttemplate="%{text}", colorscale="Viridis", reversescale=value != "final_test_acc",
        hoverongaps=False, colorbar={"title": value},
    ))
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, height=460, margin={"t": 60, "l": 80, "r": 20, "b": 60},
                      xaxis={"type": "category"}, yaxis={"type": "category"})
    return fig


def _table(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}"
        if isinstance(v, list):
            return " ".join(map(str, v))
        return "-" if v is None else str(v)

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(r.get(c)))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_sweep_report(out: Path, rows: list[dict[str, Any]], axes: tuple[str, str] | None, title: str) -> Path:
    """Write ``out/report.html`` and return its path."""
    parts, first = [], True
    if axes is not None:
        for value, label, missing in DIAGRAMS:
            fig = diagram_figure(rows, axes[0], axes[1], value, label, missing)
            parts.append(fig.to_html(full_html=False, include_plotlyjs=first))
            first = False
    else:
        parts.append("<p>No phase diagram: the sweep varies fewer than two settings.</p>")
    note = ("Cells: median over the runs that share the cell (the other varied settings), then "
            "(runs that reached it / runs in the cell). Steps are logged steps (train.eval_every).")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;}} table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}} .grid{{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:1em}}</style>
</head><body><h1>{html.escape(title)}</h1><p>{len(rows)} runs. {note}</p>
<div class="grid">{''.join(f'<div>{p}</div>' for p in parts)}</div>
<h2>Results</h2>{_table(rows)}</body></html>"""
    path = out / "report.html"
    write_text_atomic(path, page)
    return path

"""The sweep report: phase diagrams and the results table, one self-contained HTML file.

A phase diagram puts one varied setting on each axis (e.g. ``task.frac_train`` ×
``train.weight_decay``) and colours each cell by the median over the other varied
settings (seeds, say) of a per-run step: when it grokked, when it memorised. Cells
where no run reached the threshold get their own colour, a legend entry and the mark
"no grok", so a sweep where nothing grokked still shows its grid. Figures have a fixed
size: plotly sizes a figure when its script runs, before the page's grid has its final
columns, and a responsive one was drawn full-width, then cut off. plotly.js is embedded
once, so the file opens offline.
"""

from __future__ import annotations

import html
import math
import statistics
from pathlib import Path
from typing import Any

from grokkit.files.atomic import write_text_atomic

MISSING_COLOUR = "#d4c4b0"  # never-reached cells: a sand grey that no Viridis shade comes near
FIGURE_WIDTH = 560  # fixed, so a figure drawn while the page is still laying out its grid is not cut off
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
    """A heatmap of the cells' medians, and the cells where no run got there in their own colour (MISSING_COLOUR,
    with a legend entry), so a sweep where nothing grokked still draws every cell. It sizes to its container
    (a notebook cell); the page fixes its width."""
    import plotly.graph_objects as go

    xs, ys, z, text = phase_grid(rows, x, y, value)
    xs, ys = [str(v) for v in xs], [str(v) for v in ys]
    text = [[t if zz is not None else f"{missing} {t[t.index('('):]}" for t, zz in zip(tr, zr)] for tr, zr in zip(text, z)]
    reached = any(v is not None for row in z for v in row)
    fig = go.Figure()
    if reached:
        fig.add_trace(go.Heatmap(
            x=xs, y=ys, z=[[math.nan if v is None else v for v in row] for row in z],
            text=[[t if v is not None else "" for t, v in zip(tr, zr)] for tr, zr in zip(text, z)],
            texttemplate="%{text}", colorscale="Viridis", reversescale=value != "final_test_acc",
            **({"zmin": 0.0, "zmax": 1.0} if value == "final_test_acc" else {}),  # an accuracy's whole range
            hoverongaps=False, colorbar={"title": {"text": value, "side": "right"}, "len": 0.8}, showlegend=False,
        ))
    if any(v is None for row in z for v in row):
        fig.add_trace(go.Heatmap(
            x=xs, y=ys, z=[[1 if v is None else math.nan for v in row] for row in z],
            text=[[t if v is None else "" for t, v in zip(tr, zr)] for tr, zr in zip(text, z)],
            texttemplate="%{text}", colorscale=[[0, MISSING_COLOUR], [1, MISSING_COLOUR]],
            showscale=False, hoverongaps=False, showlegend=False, name=missing,
        ))
        # a heatmap has no legend swatch of its own: a square marker stands in for it
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{missing}: no run of the cell got there",
                                 marker={"symbol": "square", "size": 14, "color": MISSING_COLOUR}, showlegend=True))
    fig.update_layout(
        title=title, xaxis_title=x, yaxis_title=y, height=480,
        margin={"t": 60, "l": 90, "r": 20, "b": 110}, plot_bgcolor="white",
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": xs},
        yaxis={"type": "category", "categoryorder": "array", "categoryarray": ys},
        legend={"orientation": "h", "x": 0, "y": -0.22, "yanchor": "top"},
    )
    return fig


OUTCOME_COLOURS = {"grokked": "#2a9d8f", "semi-grokked": "#e9c46a", "unsettled": "#f4a261", "memorised": "#e76f51",
                   "ungrokked": "#8e7dbe", "not fitted": "#999999"}


def critical_figures(rows: list[dict[str, Any]], critical: Any) -> list[Any]:
    """D_crit (``grokkit.sweep.critical.Critical``): final test accuracy against training pairs D (each run a
    dot coloured by its outcome, the mean a line, the criterion, the bracket shaded, the estimate dashed), and
    each run's margin per unit parameter norm against D (``grokkit.measures.efficiency``)."""
    import plotly.graph_objects as go

    from grokkit.sweep.critical import KEY

    n = critical.n_rows
    figs = []
    for value, title, y_title in (
        ("final_test_acc", f"Final test accuracy after {critical.steps} steps against dataset size",
         "final test accuracy"),
        ("final_efficiency", "Margin per unit parameter norm at the end, against dataset size", "margin / ‖θ‖"),
    ):
        if not any(r.get(value) is not None for r in rows):
            continue
        fig = go.Figure()
        for outcome, colour in OUTCOME_COLOURS.items():
            mine = [r for r in rows if r.get("outcome") == outcome and r.get(value) is not None and KEY in r]
            if mine:
                fig.add_trace(go.Scatter(x=[int(r[KEY] * n) for r in mine], y=[r[value] for r in mine],
                                         mode="markers", name=outcome, marker={"color": colour, "size": 9}))
        if value == "final_test_acc":
            points = [p for p in critical.curve if p.mean_test_acc is not None]
            fig.add_trace(go.Scatter(x=[p.n_train for p in points], y=[p.mean_test_acc for p in points],
                                     mode="lines", name="mean", line={"color": "#333"}))
            fig.add_hline(y=critical.criterion, line_dash="dot", line_color="#777",
                          annotation_text=f"criterion {critical.criterion:g}")
        lo, hi = critical.bracket
        if lo is not None and hi is not None:
            fig.add_vrect(x0=int(lo * n), x1=int(hi * n), fillcolor="#2a9d8f", opacity=0.12, line_width=0)
        if critical.estimate is not None:
            fig.add_vline(x=critical.estimate * n, line_dash="dash", line_color="#264653",
                          annotation_text=f"D_crit ≈ {critical.estimate * n:.0f}")
        fig.update_layout(title=title, xaxis_title="training pairs D", yaxis_title=y_title, width=FIGURE_WIDTH,
                          height=420, autosize=False, plot_bgcolor="white",
                          margin={"t": 60, "l": 70, "r": 20, "b": 90},
                          legend={"orientation": "h", "x": 0, "y": -0.2, "yanchor": "top"})
        figs.append(fig)
    return figs


def _critical_of(sweep: Any) -> tuple[list[dict[str, Any]], Any]:
    """The rows and D_crit of a sweep with [sweep.critical]: ``run_sweep``'s outcome or its folder."""
    from grokkit.errors import RunError
    from grokkit.sweep.critical import find_critical

    rows = sweep_rows(sweep)
    if not isinstance(sweep, (str, Path)):
        if getattr(sweep, "critical", None) is None:
            raise RunError("critical: this sweep has no [sweep.critical] (no D_crit to draw)")
        return rows, sweep.critical
    from grokkit.files.sweep_folder import SweepFolder

    record = SweepFolder(sweep).critical()  # the settings; the curve is found again from the rows, as the sweep did
    return rows, find_critical(rows, float(record["criterion"]), int(record["n_rows"]), int(record["steps"]))


def critical_accuracy(sweep: Any) -> Any:
    """D_crit's figure: final test accuracy against training pairs D, the criterion, bracket and estimate.
    ``sweep``: ``run_sweep``'s outcome or the folder of a sweep with [sweep.critical]."""
    return critical_figures(*_critical_of(sweep))[0]


def critical_efficiency(sweep: Any) -> Any:
    """Each run's final margin per unit parameter norm against training pairs D, with D_crit's bracket."""
    from grokkit.errors import RunError

    figs = critical_figures(*_critical_of(sweep))
    if len(figs) < 2:
        raise RunError("critical_efficiency: the sweep's rows carry no final_efficiency (its runs had no checkpoint "
                       "to measure)")
    return figs[1]


def sweep_rows(sweep: Any) -> list[dict[str, Any]]:
    """The results rows of a sweep: ``run_sweep``'s outcome, its folder (``results.jsonl``), or the rows."""
    from grokkit.errors import RunError
    from grokkit.files.jsonl import loads
    from grokkit.files.results import RESULTS_JSONL

    if not isinstance(sweep, (str, Path)):
        return list(getattr(sweep, "rows", sweep))
    path = Path(sweep) / RESULTS_JSONL
    try:
        rows = [loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: cannot read the sweep's results ({exc})") from None
    if not all(isinstance(row, dict) for row in rows):
        raise RunError(f"{path}: not a results table (one JSON object per line)")
    return rows


def varied_settings(rows: list[dict[str, Any]]) -> list[str]:
    """The settings (``section.key`` columns) that take more than one value across the rows, in column order."""
    columns = list(dict.fromkeys(k for row in rows for k in row if "." in k))
    return [c for c in columns if len({repr(row.get(c)) for row in rows}) > 1]


def phase_diagram(sweep: Any, value: str = "grok_step", axes: tuple[str, str] | None = None) -> Any:
    """The phase diagram of ``value`` (``grok_step``, ``memorise_step`` or ``final_test_acc``) over two varied
    settings (default the first two), a cell per pair, coloured by the median over the other settings.

    ``sweep``: ``run_sweep``'s outcome, a sweep folder or its results rows.
    """
    from grokkit.errors import RunError

    rows = sweep_rows(sweep)
    labels = {v: (label, missing) for v, label, missing in DIAGRAMS}
    if value not in labels:
        raise RunError(f"phase_diagram: value {value!r}; allowed: {', '.join(labels)}")
    if axes is None:
        varied = varied_settings(rows)
        if len(varied) < 2:
            raise RunError(f"phase_diagram: the sweep varies {len(varied)} setting(s) ({', '.join(varied) or 'none'}); "
                           "a diagram needs two")
        axes = (varied[0], varied[1])
    return diagram_figure(rows, axes[0], axes[1], value, *labels[value])


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


def write_sweep_report(out: Path, rows: list[dict[str, Any]], axes: tuple[str, str] | None, title: str,
                       critical: Any = None) -> Path:
    """Write ``out/report.html`` and return its path (with the D_crit figures and line for ``critical``)."""
    parts, first = [], True
    if critical is not None:
        for i, fig in enumerate(critical_figures(rows, critical)):
            parts.append(fig.to_html(full_html=False, include_plotlyjs=first, div_id=f"fig-critical-{i}"))
            first = False
    if axes is not None:
        for value, label, missing in DIAGRAMS:
            fig = phase_diagram(rows, value, axes)  # the function a notebook calls
            fig.update_layout(width=FIGURE_WIDTH, autosize=False)  # the page's grid column
            parts.append(fig.to_html(full_html=False, include_plotlyjs=first, div_id=f"fig-{value}"))
            first = False
    elif critical is None:
        parts.append("<p>No phase diagram: the sweep varies fewer than two settings.</p>")
    note = ("Cells: median over the runs that share the cell (the other varied settings), then "
            "(runs that reached it / runs in the cell). Steps are logged steps (train.eval_every).")
    found = "" if critical is None else f"<p><b>{html.escape(critical.describe())}</b></p>"
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;}} table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}} .grid{{display:grid;grid-template-columns:repeat(auto-fill,{FIGURE_WIDTH}px);gap:1em}}</style>
</head><body><h1>{html.escape(title)}</h1><p>{len(rows)} runs. {note}</p>{found}
<div class="grid">{''.join(f'<div>{p}</div>' for p in parts)}</div>
<h2>Results</h2>{_table(rows)}</body></html>"""
    path = out / "report.html"
    write_text_atomic(path, page)
    return path

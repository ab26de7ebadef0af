"""Plotly figure builders. Each takes plain lists, arrays and dicts and returns a ``go.Figure``.

Nothing here knows about runs or checkpoints (see ``collect``), or about the page
(see ``html``), so each builder can be tried on made-up numbers.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from grokkit.report.collect import Mark, PhaseBand

HEIGHT = 380
SQUARE = 540  # the 2-D Fourier map, and the figure beside it
PHASE_COLOURS = {"memorisation": "#f4a261", "circuit formation": "#2a9d8f", "cleanup": "#8e7dbe"}
# fixed colours for the quantities that recur across figures, so the eye can follow them
COLOURS = {
    "train_loss": "#1f77b4", "train_acc": "#1f77b4",
    "test_loss": "#d62728", "test_acc": "#d62728",
    "excluded_loss": "#2ca02c", "excluded_acc": "#2ca02c",
    "restricted_loss": "#9467bd", "restricted_acc": "#9467bd",
    "restricted_loss_test": "#9467bd", "restricted_acc_test": "#9467bd",
}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")  # one colour per head, per frequency or per parameter
DASHES = {"restricted_loss_test": "dot", "restricted_acc_test": "dot"}


class Series(NamedTuple):
    """One line: ``y`` against ``step``."""

    name: str
    step: Sequence[float]
    y: Sequence[float]
    colour: str | None = None
    dash: str | None = None


def style(fig: go.Figure, title: str, height: int = HEIGHT) -> go.Figure:
    """grokkit's look: the title at the left, white template, legend below; a height and no width, so the
    figure fills its container (a notebook cell, a report card)."""
    fig.update_layout(
        # at the very top, so the linear/log buttons just above the plot never cover it
        title={"text": title, "x": 0.01, "y": 0.985, "yref": "container", "yanchor": "top", "font": {"size": 15}},
        height=height,
        margin={"l": 60, "r": 20, "t": 56, "b": 45},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.18, "x": 0},
        hovermode="x unified",
    )
    return fig


def shade_phases(fig: go.Figure, phases: Sequence[PhaseBand]) -> None:
    """Shade each phase of training and name it at the top of the plot."""
    for i, band in enumerate(phases):
        fig.add_vrect(x0=band.start, x1=band.end, fillcolor=PHASE_COLOURS.get(band.name, "#999"), opacity=0.13,
                      line_width=0, layer="below")
        # staggered, because a short phase (memorisation) would put its name on top of the next one's
        fig.add_annotation(x=band.start, y=1 - 0.07 * i, xref="x", yref="paper", xanchor="left", yanchor="top",
                           text=band.name, showarrow=False, font={"size": 10, "color": "#555"})


def line_figure(
    title: str,
    series: Sequence[Series],
    y_title: str,
    *,
    log_y: bool = False,
    phases: Sequence[PhaseBand] = (),
    y_range: tuple[float, float] | None = None,
    marks: Sequence[Mark] = (),
) -> go.Figure:
    """Lines over training steps, with the phases shaded, a dashed vertical line at each mark (where the
    run's data changed) and a linear/log step-axis switch."""
    fig = go.Figure()
    for s in series:
        y = np.asarray(s.y, dtype=float)
        if log_y:  # a zero loss has no place on a log axis; leave a gap rather than break the scale
            y = np.where(y > 0, y, np.nan)
        fig.add_trace(go.Scatter(
            x=list(s.step), y=y.tolist(), name=s.name, mode="lines",
            line={"color": s.colour, "dash": s.dash, "width": 2},
        ))
    shade_phases(fig, phases)
    for mark in marks:
        fig.add_vline(x=mark.step, line_dash="dash", line_color="#333", line_width=1.5,
                      annotation_text=mark.label, annotation_position="bottom right", annotation_font_size=10)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear", exponentformat="power")
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    fig.update_layout(updatemenus=[{
        "type": "buttons", "direction": "left", "x": 0, "xanchor": "left", "y": 1.01, "yanchor": "bottom",
        "showactive": True, "font": {"size": 10}, "pad": {"r": 0, "t": 0},
        "buttons": [
            {"label": "linear steps", "method": "relayout", "args": [{"xaxis.type": "linear"}]},
            {"label": "log steps", "method": "relayout", "args": [{"xaxis.type": "log"}]},
        ],
    }])
    return style(fig, title)


def embedding_norm_figure(names: Sequence[str], norms: Sequence[float], key_freqs: Sequence[int] = ()) -> go.Figure:
    """‖(F·W_E)_f‖ as a cos bar and a sin bar per frequency k (the constant row at k = 0)."""
    cos: dict[int, float] = {}
    sin: dict[int, float] = {}
    for name, value in zip(names, norms):
        kind, _, k = name.partition(" ")
        target = sin if kind == "sin" else cos  # 'const' sits with the cosines at k = 0
        target[int(k) if k else 0] = float(value)
    ks = sorted(cos)
    fig = go.Figure([
        go.Bar(x=ks, y=[cos[k] for k in ks], name="cos k", marker_color="#1f77b4"),
        go.Bar(x=ks, y=[sin.get(k, 0.0) for k in ks], name="sin k", marker_color="#ff7f0e"),
    ])
    for k in key_freqs:
        fig.add_annotation(x=k, y=max(cos.get(k, 0.0), sin.get(k, 0.0)), text=f"k={k}", showarrow=False,
                           yshift=10, font={"size": 10})
    fig.update_layout(barmode="group", hovermode="x")
    fig.update_xaxes(title_text="frequency k (0 = constant)", dtick=max(1, len(ks) // 28))
    fig.update_yaxes(title_text="norm of W_E's Fourier row")
    return style(fig, "Embedding W_E in the Fourier basis", height=SQUARE)


def neuron_cluster_figure(freq: np.ndarray, frac: np.ndarray, explained: np.ndarray, n_freqs: int) -> go.Figure:
    """Explained neurons per frequency (left) and every neuron's share of Fourier mass at its k (right)."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.1,
                        subplot_titles=("explained neurons per frequency", "every neuron at its frequency"))
    ks = np.arange(1, n_freqs + 1)
    counts = np.array([(explained & (freq == k)).sum() for k in ks])
    fig.add_trace(go.Bar(x=ks, y=counts, name="explained neurons", marker_color="#2a9d8f"), 1, 1)
    # deterministic jitter so neurons of one frequency do not sit on one vertical line
    jitter = (np.arange(len(freq)) * 0.618 % 1 - 0.5) * 0.5
    for mask, label, colour in ((explained, "explained", "#2a9d8f"), (~explained, "not explained", "#bbbbbb")):
        idx = np.flatnonzero(mask)
        fig.add_trace(go.Scatter(
            x=(freq[idx] + jitter[idx]).tolist(), y=frac[idx].tolist(), mode="markers", name=label,
            marker={"color": colour, "size": 5}, text=[f"neuron {i}" for i in idx],
            hovertemplate="%{text}<br>k=%{x:.0f}<br>share %{y:.2f}<extra></extra>",
        ), 1, 2)
    fig.update_xaxes(title_text="frequency k", row=1, col=1)
    fig.update_xaxes(title_text="frequency k", row=1, col=2)
    fig.update_yaxes(title_text="neurons", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="share of the neuron's Fourier mass", range=[0, 1.02], row=1, col=2)
    style(fig, f"MLP neurons clustered by frequency ({int(explained.sum())} of {len(freq)} explained)")
    fig.update_layout(hovermode="closest")
    return fig


def attention_figure(attn_eq: np.ndarray, b_values: Sequence[int], cols: int = 4) -> go.Figure:
    """Attention from '=' to a (first panels) and to b (then) for each head, over the (a, b) grid."""
    n_heads = attn_eq.shape[0]
    panels = [(target, h) for target in (0, 1) for h in range(n_heads)]
    cols = min(cols, len(panels))
    rows = -(-len(panels) // cols)
    titles = [f"head {h}: '=' → {'ab'[target]}" for target, h in panels]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.04,
                        vertical_spacing=0.12 / rows)
    for i, (target, h) in enumerate(panels):
        fig.add_trace(go.Heatmap(
            z=attn_eq[h, target], x=list(b_values), zmin=0, zmax=1, colorscale="Blues",
            showscale=(i == 0), colorbar={"title": {"text": "attention"}, "len": 0.9},
            hovertemplate="a=%{y}, b=%{x}<br>attention %{z:.3f}<extra></extra>",
        ), i // cols + 1, i % cols + 1)
        axis = "" if i == 0 else str(i + 1)
        fig.layout[f"yaxis{axis}"].scaleanchor = f"x{axis}"  # square cells: shrink the panel, not the data
    fig.update_xaxes(title_text="b", constrain="domain")
    fig.update_yaxes(title_text="a", autorange="reversed", constrain="domain")
    fig.update_annotations(font_size=11)
    style(fig, "Attention from '=' at the final checkpoint", height=110 + 300 * rows)
    fig.update_layout(hovermode="closest")
    return fig


def logit_fourier_figure(names: Sequence[str], grid: np.ndarray) -> go.Figure:
    """‖F·L·Fᵀ‖ over output classes: which (a-frequency, b-frequency) pairs the logits use."""
    fig = go.Figure(go.Heatmap(
        z=grid, x=list(names), y=list(names), colorscale="Viridis", colorbar={"title": {"text": "norm"}},
        hovertemplate="a: %{y}<br>b: %{x}<br>norm %{z:.3g}<extra></extra>",
    ))
    # label the cos row of every few frequencies (its sin row follows it): every name would not fit
    n_freqs = len(names) // 2
    every = max(1, -(-n_freqs // 15))
    ticks = ["const"] + [f"cos {k}" for k in range(every, n_freqs + 1, every)]
    axis = {"tickvals": ticks, "ticktext": ["const"] + [t.split()[1] for t in ticks[1:]]}
    fig.update_xaxes(title_text="frequency k over b (cos k, then sin k)", **axis)
    fig.update_yaxes(title_text="frequency k over a", autorange="reversed", scaleanchor="x", **axis)
    style(fig, "Logits in the 2-D Fourier basis", height=SQUARE)
    fig.update_layout(hovermode="closest")
    return fig


def component_norm_figure(names: Sequence[str], norms: Sequence[float], key_freqs: Sequence[int] = ()) -> go.Figure:
    """One bar per component of a group's basis (an irrep over S5): the norm of W_E's rows in it."""
    keys = set(key_freqs)
    colours = ["#d62728" if k in keys else "#1f77b4" for k in range(1, len(names) + 1)]
    fig = go.Figure(go.Bar(x=list(names), y=[float(v) for v in norms], marker_color=colours, name="norm"))
    fig.update_xaxes(title_text="component (red: key)")
    fig.update_yaxes(title_text="norm of W_E in the component")
    return style(fig, "Embedding W_E by component of the group's basis", height=SQUARE)


def component_map_figure(names: Sequence[str], grid: np.ndarray) -> go.Figure:
    """Norm of the 2-D-transformed logits per (component over a, component over b), the constant first."""
    labels = ["const", *names]
    fig = go.Figure(go.Heatmap(
        z=grid, x=labels, y=labels, colorscale="Viridis", colorbar={"title": {"text": "norm"}},
        hovertemplate="a: %{y}<br>b: %{x}<br>norm %{z:.3g}<extra></extra>",
    ))
    fig.update_xaxes(title_text="component over b")
    fig.update_yaxes(title_text="component over a", autorange="reversed", scaleanchor="x")
    style(fig, "Logits by pair of components of the group's basis", height=SQUARE)
    fig.update_layout(hovermode="closest")
    return fig


def component_share_figure(names: Sequence[str], shares: Sequence[float], key_freqs: Sequence[int] = (),
                           step: int | None = None) -> go.Figure:
    """Each component's share of the centred logit table's squared norm (``component_logit_shares``); the key
    components in red, their total share (what restricted loss keeps) in the title."""
    keys = set(key_freqs)
    shares = [float(v) for v in shares]
    colours = ["#d62728" if k in keys else "#1f77b4" for k in range(1, len(shares) + 1)]
    fig = go.Figure(go.Bar(x=list(names), y=shares, marker_color=colours, name="share",
                           hovertemplate="%{x}<br>share %{y:.3f}<extra></extra>"))
    explained = sum(shares[k - 1] for k in keys if 0 < k <= len(shares))
    at = "" if step is None else f" at step {step}"
    keys_text = ", ".join(names[k - 1] for k in sorted(keys) if 0 < k <= len(names)) or "none"
    fig.update_xaxes(title_text="component (red: key)")
    fig.update_yaxes(title_text="share of the centred logit table", rangemode="tozero")
    style(fig, f"Key components {keys_text} explain {explained:.3f} of the logits{at}")
    fig.update_layout(hovermode="closest")
    return fig

"""The capacity study's figures, each a function of a finished study folder returning a plotly Figure.

``figures(path)`` returns them all by name, for a notebook (``figures(out)["phase_beta1.0"].show()``);
the report (``grokkit.capacity.report``) lays the same figures out on a page. Measured values are
means over seeds; predictions come from ``theory.json`` (Theorem 3, Proposition 6).
"""

from __future__ import annotations

import math
from pathlib import Path
from statistics import mean

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from grokkit.capacity.folder import CapacityFolder

SHOWN_TASKS = 8  # loss-against-width curves drawn (spread over the tasks): more is unreadable
PALETTE = ["#1d3557", "#e63946", "#2a9d8f", "#f4a261", "#6a4c93", "#8ab17d", "#e76f51", "#457b9d"]


def _finite(values) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _mean(values) -> float | None:
    values = _finite(values)
    return mean(values) if values else None


def _theory(folder: CapacityFolder, beta: float) -> dict:
    return next(t for t in folder.theory() if t["beta"] == beta)


def _spread(K: int, count: int) -> list[int]:
    """Up to ``count`` tasks (1-based) spread evenly over 1 … K, always with the first and last."""
    if K <= count:
        return list(range(1, K + 1))
    return sorted({round(1 + i * (K - 1) / (count - 1)) for i in range(count)})


def staircase_figure(folder: CapacityFolder, beta: float) -> go.Figure:
    """Final s_k over task × width (no injection, mean over seeds), with the predicted staircase drawn on it."""
    rows = [r for r in folder.results() if r["beta"] == beta and r["gap"] == 0]
    widths = sorted({r["N"] for r in rows})
    tasks = sorted({r["task"] for r in rows})
    z = [[_mean(r["s"] for r in rows if r["task"] == k and r["N"] == N) for N in widths] for k in tasks]
    fig = go.Figure(go.Heatmap(x=list(range(len(widths))), y=tasks, z=z, zmin=0, zmax=1, colorscale="Viridis",
                               colorbar=dict(title="s_k"),
                               hovertemplate="task %{y}, width index %{x}: s = %{z:.3f}<extra></extra>"))
    theory = _theory(folder, beta)

    def position(width: int | None) -> float:
        """x of the boundary left of the first stacked width >= ``width`` (past the right edge if none)."""
        if width is None:
            return len(widths) - 0.5
        return next((i - 0.5 for i, N in enumerate(widths) if N >= width), len(widths) - 0.5)

    for key, name, dash in (("learned_width", "predicted: s*_k > threshold (Theorem 3)", "solid"),
                            ("critical_width", "Proposition 6: critical width", "dot")):
        xs, ys = [], []
        for k in tasks:
            w = theory[key][k - 1]
            if w is None and key == "critical_width":
                continue
            xs += [position(w), position(w)]
            ys += [k - 0.5, k + 0.5]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, line=dict(color="red" if dash == "solid" else
                                                                                    "white", dash=dash, width=3)))
    fig.update_xaxes(tickvals=list(range(len(widths))), ticktext=[str(N) for N in widths], title_text="width N")
    fig.update_yaxes(title_text="task k (1 = most frequent)", autorange="reversed")
    fig.update_layout(title=f"Learned subspace signal s_k over task × width (β = {beta})", height=520,
                      legend=dict(orientation="h", y=-0.2))
    return fig


def loss_figure(folder: CapacityFolder, beta: float) -> go.Figure:
    """Normalised loss of a spread of tasks against width: measured (markers) and Theorem 3's optimum (dashed)."""
    rows = [r for r in folder.results() if r["beta"] == beta and r["gap"] == 0]
    widths = sorted({r["N"] for r in rows})
    K = max(r["task"] for r in rows)
    theory = _theory(folder, beta)
    fig = go.Figure()
    for n, k in enumerate(_spread(K, SHOWN_TASKS)):
        colour = PALETTE[n % len(PALETTE)]
        fig.add_trace(go.Scatter(x=widths, y=[_mean(r["loss_norm"] for r in rows if r["task"] == k and r["N"] == N)
                                              for N in widths], mode="markers+lines", name=f"task {k}",
                                 line=dict(color=colour), legendgroup=str(k)))
        fig.add_trace(go.Scatter(x=widths, y=[theory["widths"][str(N)]["loss_norm"][k - 1] for N in widths],
                                 mode="lines", line=dict(color=colour, dash="dash"), name=f"task {k} predicted",
                                 legendgroup=str(k), showlegend=False))
    fig.update_xaxes(type="log", title_text="width N")
    fig.update_yaxes(title_text="loss / mean predictor's loss", range=[0, 1.1])
    fig.update_layout(title=f"Per-task loss against width (β = {beta}); dashed: predicted optimum", height=460)
    return fig


def residual_figure(folder: CapacityFolder, beta: float, rare: int) -> go.Figure:
    """δ_F against width (measured and predicted: the kink where F is fitted) and the rare task's s̃ against δ_F."""
    rows = [r for r in folder.results() if r["beta"] == beta and r["gap"] == 0]
    curves = [r for r in folder.curves() if r["beta"] == beta and r["gap"] == 0]
    widths = sorted({r["N"] for r in rows})
    last_step = max(r["step"] for r in curves)
    final = [r for r in curves if r["step"] == last_step]
    theory = _theory(folder, beta)
    measured = [_mean(r["delta_F"] for r in final if r["N"] == N) for N in widths]
    rare_signal = [_mean(r["s_tilde"][rare - 1] for r in final if r["N"] == N) for N in widths]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("δ_F against width", f"rare task {rare}: s̃ against δ_F"))
    fig.add_trace(go.Scatter(x=widths, y=measured, mode="markers+lines", name="δ_F measured"), 1, 1)
    fig.add_trace(go.Scatter(x=widths, y=[theory["widths"][str(N)]["delta_F"] for N in widths], mode="lines",
                             line=dict(dash="dash"), name="δ_F predicted"), 1, 1)
    fig.add_trace(go.Scatter(x=measured, y=rare_signal, mode="markers+text", text=[f"N={N}" for N in widths],
                             textposition="top center", name=f"s̃ of task {rare}"), 1, 2)
    fig.update_xaxes(type="log", title_text="width N", row=1, col=1)
    fig.update_yaxes(type="log", title_text="δ_F", row=1, col=1)
    fig.update_xaxes(type="log", title_text="δ_F (measured)", row=1, col=2)
    fig.update_yaxes(title_text="s̃_r", row=1, col=2)
    fig.update_layout(title=f"The frequent set's residual δ_F (β = {beta})", height=460)
    return fig


def retention_figure(folder: CapacityFolder) -> go.Figure | None:
    """Injection: the rare task's final s_r and s̃_r against G per width, its mean gain per injection and its
    mean decay between injections."""
    summary = folder.summary()["injection"]
    if not summary:
        return None
    rare = folder.spec().capacity.rare
    final: dict[tuple, list[dict]] = {}
    for r in folder.results():
        if r["gap"] and r["task"] == rare + 1:
            final.setdefault((r["N"], r["gap"]), []).append(r)
    widths = sorted({r["N"] for r in summary})
    gaps = sorted({r["gap"] for r in summary})
    fig = make_subplots(rows=1, cols=4, subplot_titles=("final s_r", "final s̃_r", "gain of s̃_r per injection",
                                                        "decay of s̃_r between injections"))
    for n, N in enumerate(widths):
        colour = PALETTE[n % len(PALETTE)]
        for col, key in ((1, "s"), (2, "s_tilde")):
            fig.add_trace(go.Scatter(x=gaps, y=[_mean(r[key] for r in final.get((N, G), [])) for G in gaps],
                                     mode="markers+lines", name=f"N = {N}", legendgroup=str(N), showlegend=col == 1,
                                     line=dict(color=colour)), 1, col)
        for col, key in ((3, "gain"), (4, "decay")):
            fig.add_trace(go.Scatter(x=gaps, y=[_mean(r[key] for r in summary if r["N"] == N and r["gap"] == G)
                                                for G in gaps], mode="markers+lines", name=f"N = {N}",
                                     legendgroup=str(N), showlegend=False, line=dict(color=colour)), 1, col)
    fig.update_xaxes(type="log", title_text="gap G")
    fig.update_layout(title="Retention of the rare task's signal over injection gaps", height=460)
    return fig


def interference_figure(folder: CapacityFolder) -> go.Figure:
    """Cosine between rare-task and frequent-set encoder gradients against width: final and mean over training."""
    curves = [r for r in folder.curves() if r["gap"] == 0] or folder.curves()
    last_step = max(r["step"] for r in curves)
    fig = go.Figure()
    for beta in sorted({r["beta"] for r in curves}):
        mine = [r for r in curves if r["beta"] == beta]
        widths = sorted({r["N"] for r in mine})
        for key, label in (("interference", "batch"), ("interference_expected", "expected")):
            for when, pick, dash in (("final", lambda r: r["step"] == last_step, "solid"),
                                     ("mean over training", lambda r: r["step"] > 0, "dot")):
                fig.add_trace(go.Scatter(
                    x=widths, y=[_mean(r[key] for r in mine if r["N"] == N and pick(r)) for N in widths],
                    mode="markers+lines", line=dict(dash=dash), name=f"β = {beta}, {label} gradients, {when}"))
    fig.add_hline(y=0, line=dict(color="gray", dash="dot"))
    fig.update_xaxes(type="log", title_text="width N")
    fig.update_yaxes(title_text="cos(∇_W rare, ∇_W frequent)")
    fig.update_layout(title="Gradient interference between the rare task and the frequent set", height=460)
    return fig


def figures(path: str | Path) -> dict[str, go.Figure]:
    """Every figure of a finished study, by name (what the report shows), for a notebook; every file of the
    folder is verified first (``grokkit.capacity.load.load_study``)."""
    from grokkit.capacity.load import load_study

    folder = CapacityFolder(load_study(path).path)
    spec = folder.spec()
    out: dict[str, go.Figure] = {}
    has_plain = any(r["gap"] == 0 for r in folder.curves())
    for beta in spec.betas if has_plain else []:
        out[f"phase_beta{beta}"] = staircase_figure(folder, beta)
        out[f"loss_beta{beta}"] = loss_figure(folder, beta)
        out[f"residual_beta{beta}"] = residual_figure(folder, beta, spec.capacity.rare + 1)
    retention = retention_figure(folder)
    if retention is not None:
        out["retention"] = retention
    out["interference"] = interference_figure(folder)
    return out

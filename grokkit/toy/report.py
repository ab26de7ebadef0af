"""The HTML report of a toy sweep, in the shared page shell (``grokkit.files.page``: self-contained, plotly.js once).

Figures: test loss − 1 against T (mean and range over seeds), feature and data-point
dimensionalities against T with the m/T guide, the W columns and hidden vectors of
m = 2 models at chosen T, norms against T, the test-loss map over (T, m) when m is
swept, and one section per replication experiment the sweep contains (repeated
data when R is swept, sparsity when S is, weight decay when it is).
"""

from __future__ import annotations

import math
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from grokkit.files.page import esc, figure_div, page_html, table, write_page
from grokkit.toy import summary
from grokkit.toy.measures import PENTAGON_BAND, SMALL_DIM
from grokkit.toy.folder import ToySweepFolder
from grokkit.toy.reader import load_rows, load_spec_of, load_tensors

PUBLISHED = (
    "Published (n = 10 000, S = 0.999, m = 2): test loss peaks near 1.01 in an intermediate regime "
    "from T ≈ 700, generalisation from T ≈ 5 000; one replication found ≈ 100 and ≈ 20 000. "
    "Generalisation is expected once T(1 − S) ≈ 10, i.e. T ≈ 10/(1 − S)."
)
MAX_POINTS_PER_MODEL = 300  # data-point dimensionalities drawn per model: keeps the HTML small at T = 10⁵


def _log_axis(fig: go.Figure, **kwargs) -> None:
    fig.update_xaxes(type="log", title_text="T (training points)", **kwargs)


def _band(fig: go.Figure, points: list[summary.CurvePoint], name: str, offset: float = 0.0, **trace_kw) -> None:
    """Mean line with a shaded min–max band over seeds."""
    Ts = [p.T for p in points]
    fig.add_trace(go.Scatter(x=Ts + Ts[::-1], y=[p.high - offset for p in points] + [p.low - offset for p in points][::-1],
                             fill="toself", opacity=0.2, line=dict(width=0), showlegend=False, hoverinfo="skip", **trace_kw))
    fig.add_trace(go.Scatter(x=Ts, y=[p.mean - offset for p in points], mode="lines+markers", name=name, **trace_kw))


def loss_figure(rows: list[dict], x_key: str = "T", title: str = "Test loss − 1 against T") -> go.Figure:
    varying = summary.varying_keys(rows)
    fig = go.Figure()
    for key, points in summary.curves(rows, "test_loss").items():
        if x_key == "T(1-S)":  # the sparsity experiment: each feature is seen T(1 − S) times
            S = key[1]
            points = [summary.CurvePoint(round(p.T * (1 - S), 3), p.mean, p.low, p.high, p.count) for p in points]
        _band(fig, points, summary.curve_label(key, varying), offset=1.0)
    fig.update_layout(title=title, yaxis_title="test loss − 1 (0 = predicting zero)", height=450)
    fig.update_xaxes(type="log", title_text="T(1 − S): times each feature is seen" if x_key != "T" else "T (training points)")
    return fig


def dimensionality_figure(out: Path, rows: list[dict], key: tuple) -> go.Figure:
    """Feature (top 8 per model) and data-point dimensionalities against T, with m/T."""
    selected = [r for r in summary.kept(rows) if tuple(r[k] for k in summary.CURVE_KEYS) == key]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("feature dimensionality (top 8 per model)", "data-point dimensionality"))
    fx, fy, px, py = [], [], [], []
    for row in selected:
        jitter = 1 + 0.04 * (row["data_seed"] - 1.5)  # separate seeds on the log axis
        for d in row["top_feature_dims"]:
            fx.append(row["T"] * jitter)
            fy.append(d)
        dims = load_tensors(out, row)["point_dims"]
        step = max(1, len(dims) // MAX_POINTS_PER_MODEL)
        for d in dims[::step].tolist():
            px.append(row["T"] * jitter)
            py.append(d)
    fig.add_trace(go.Scatter(x=fx, y=fy, mode="markers", marker=dict(size=4, opacity=0.5), name="features"), 1, 1)
    fig.add_trace(go.Scatter(x=px, y=py, mode="markers", marker=dict(size=3, opacity=0.3), name="data points"), 1, 2)
    Ts = sorted({r["T"] for r in selected})
    m = key[0]
    for col in (1, 2):
        fig.add_trace(go.Scatter(x=Ts, y=[min(1.0, m / T) for T in Ts], mode="lines", line=dict(dash="dash", color="black"),
                                 name="m/T", showlegend=col == 1), 1, col)
        fig.add_hline(y=0.4, line=dict(dash="dot", color="gray"), row=1, col=col)
    _log_axis(fig)
    fig.update_yaxes(range=[0, 1.05])
    fig.update_layout(title=f"Dimensionalities against T ({summary.curve_label(key, ['m', 'S', 'R', 'weight_decay'])}); dotted: 2/5", height=450)
    return fig


def geometry_figure(out: Path, rows: list[dict], key: tuple, Ts: list[int]) -> go.Figure | None:
    """W columns (top) and hidden vectors of the training points (bottom) of one m = 2 model per T."""
    models = []
    for T in Ts:
        match = [r for r in summary.kept(rows) if r["T"] == T and r["m"] == 2 and tuple(r[k] for k in summary.CURVE_KEYS)[1:] == key[1:]]
        if match:
            models.append(min(match, key=lambda r: r["data_seed"]))
    if not models:
        return None
    fig = make_subplots(rows=2, cols=len(models), subplot_titles=[f"T = {r['T']}" for r in models] * 2,
                        vertical_spacing=0.08, horizontal_spacing=0.03)
    for c, row in enumerate(models, start=1):
        tensors = load_tensors(out, row)
        W, H = tensors["W"], tensors.get("H")
        norms = W.norm(dim=0)
        keep = (norms > 0.1 * float(norms.max())).nonzero().flatten()[:400].tolist()  # the visible columns only
        for vectors, r in ((W[:, keep].T, 1), (H[: 2000] if H is not None else None, 2)):
            if vectors is None:
                continue
            xs, ys = [], []
            for v in vectors.tolist():
                xs += [0.0, v[0], None]
                ys += [0.0, v[1], None]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", marker=dict(size=3), line=dict(width=1),
                                     name="W columns" if r == 1 else "hidden vectors", showlegend=c == 1), r, c)
    fig.update_yaxes(scaleanchor="x", scaleratio=1) if len(models) == 1 else None
    fig.update_layout(title="m = 2: W columns (top) and hidden vectors h_t = W x_t (bottom)", height=650)
    return fig


def norms_figure(rows: list[dict]) -> go.Figure:
    varying = summary.varying_keys(rows)
    fig = make_subplots(rows=1, cols=3, subplot_titles=("‖W‖_F", "‖b‖", "mean ‖h_t‖"))
    for col, value in enumerate(("W_fro", "b_norm", "h_norm_mean"), start=1):
        for key, points in summary.curves(rows, value).items():
            fig.add_trace(go.Scatter(x=[p.T for p in points], y=[p.mean for p in points], mode="lines+markers",
                                     name=summary.curve_label(key, varying), showlegend=col == 1), 1, col)
    fig.add_hline(y=math.sqrt(5), line=dict(dash="dot", color="gray"), row=1, col=1)
    _log_axis(fig)
    fig.update_layout(title="Norms against T (dotted: √5, a unit pentagon)", height=400)
    return fig


def loss_map_figure(rows: list[dict]) -> go.Figure:
    Ts = sorted({r["T"] for r in rows})
    ms = sorted({r["m"] for r in rows})
    z = [[None] * len(Ts) for _ in ms]
    for key, points in summary.curves(rows, "test_loss").items():
        for p in points:
            z[ms.index(key[0])][Ts.index(p.T)] = p.mean - 1
    fig = go.Figure(go.Heatmap(x=[str(T) for T in Ts], y=[str(m) for m in ms], z=z, colorscale="RdBu_r", zmid=0,
                               colorbar=dict(title="loss − 1")))
    fig.update_layout(title="Test loss − 1 over (T, m)", xaxis_title="T", yaxis_title="m", height=400)
    return fig


def repeated_figure(rows: list[dict]) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss of the repeated point", "features in the pentagon band"))
    by_T: dict[int, dict[int, list[dict]]] = {}
    for row in summary.kept(rows):
        by_T.setdefault(row["T"], {}).setdefault(row["R"], []).append(row)
    for T, by_R in sorted(by_T.items()):
        Rs = sorted(by_R)
        fig.add_trace(go.Scatter(x=Rs, y=[sum(r["repeated_loss"] for r in by_R[R]) / len(by_R[R]) for R in Rs],
                                 mode="lines+markers", name=f"T = {T}"), 1, 1)
        fig.add_trace(go.Scatter(x=Rs, y=[sum(r["n_pentagon_band"] for r in by_R[R]) / len(by_R[R]) for R in Rs],
                                 mode="lines+markers", name=f"T = {T}", showlegend=False), 1, 2)
        n = next(iter(by_R.values()))[0]["n"]
        for col in (1, 2):
            fig.add_vline(x=0.4 * T / n, line=dict(dash="dash"), row=1, col=col)
    fig.update_xaxes(type="log", title_text="R (copies of the point)")
    fig.update_layout(title="Repeated data (dashed: 0.4·T/n)", height=420)
    return fig


def _default_hidden_T(Ts: list[int]) -> list[int]:
    if len(Ts) <= 4:
        return Ts
    return sorted({Ts[round(i * (len(Ts) - 1) / 3)] for i in range(4)})


def base_curve(rows: list[dict]) -> tuple:
    """The curve the dimensionality and geometry figures show: m = 2 when present, else the first."""
    keys = list(summary.curves(rows, "test_loss"))
    return next((k for k in keys if k[0] == 2), keys[0])


# --- the figures of a toy sweep folder, one call each (``grokkit.plots`` lists them) --------------------
def toy_test_loss(sweep: str | Path, x: str = "T") -> go.Figure:
    """Test loss − 1 against T (``x="T(1-S)"``: against the times each feature is seen), mean and range over seeds."""
    return loss_figure(load_rows(sweep), x)


def toy_dimensionality(sweep: str | Path) -> go.Figure:
    """Feature and data-point dimensionalities against T, with the m/T guide."""
    rows = load_rows(sweep)
    return dimensionality_figure(Path(sweep), rows, base_curve(rows))


def toy_geometry(sweep: str | Path, Ts: list[int] | None = None) -> go.Figure:
    """W columns and hidden vectors of one m = 2 model per T (default: the report's choice of T)."""
    rows = load_rows(sweep)
    fig = geometry_figure(Path(sweep), rows, base_curve(rows), Ts or _default_hidden_T(sorted({r["T"] for r in rows})))
    if fig is None:
        from grokkit.errors import RunError

        raise RunError(f"{sweep}: no m = 2 model at T = {Ts}: nothing to draw")
    return fig


def toy_norms(sweep: str | Path) -> go.Figure:
    """‖W‖_F, ‖b‖ and mean ‖h_t‖ against T."""
    return norms_figure(load_rows(sweep))


def toy_loss_map(sweep: str | Path) -> go.Figure:
    """Test loss − 1 over (T, m), when m is swept."""
    return loss_map_figure(load_rows(sweep))


def toy_repeated(sweep: str | Path) -> go.Figure:
    """The repeated-data experiment: the repeated point's loss and the pentagon-band features against R."""
    return repeated_figure(load_rows(sweep))


def write_report(out: str | Path) -> Path:
    """Write OUT/report.html from the finished chunks of a sweep and return its path."""
    out = Path(out)
    spec = load_spec_of(out)
    rows = load_rows(out)
    varying = summary.varying_keys(rows)
    sections: list[tuple[str, str, list[go.Figure]]] = []
    all_curves = summary.curves(rows, "test_loss")

    peak_rows = []
    for key, points in all_curves.items():
        peak = summary.test_loss_peak(points)
        peak_rows.append([summary.curve_label(key, varying), peak.T, f"{peak.loss:.4f}", "yes" if peak.interior else "no (edge)"])
    intro = table(["curve", "peak T", "peak test loss", "interior peak"], peak_rows) + f"<p>{esc(PUBLISHED)}</p>"
    sections.append(("Test loss (double descent)", intro, [loss_figure(rows)]))

    # the base curve: m = 2 when present, the first value of every other swept setting
    base = base_curve(rows)
    checks = summary.regime_checks(rows, base)
    check_table = table(
        ["T", "seeds", "T-gon (all D_t within 10 % of m/T)", "max |D_t − m/T|/(m/T)", f"pentagon (5 in {PENTAGON_BAND}, rest < {SMALL_DIM})"],
        [[c.T, c.count, f"{c.t_gon_fraction:.2f}", f"{c.max_rel_err:.3f}", f"{c.pentagon_fraction:.2f}"] for c in checks],
    )
    sections.append(("Dimensionalities", check_table, [dimensionality_figure(out, rows, base)]))
    Ts = sorted({r["T"] for r in rows})
    geo = geometry_figure(out, rows, base, spec.report.hidden_T or _default_hidden_T(Ts))
    if geo is not None:
        sections.append(("Geometry of m = 2 models", "", [geo]))
    sections.append(("Norms", "", [norms_figure(rows)]))
    if "m" in varying:
        sections.append(("Test loss over (T, m)", "", [loss_map_figure(rows)]))
    if "R" in varying:
        mem = summary.memorisation(rows)
        by_R = table(["T", "smallest memorising R", "0.4·T/n", "fraction memorised by R"],
                     [[m.T, m.smallest_R, f"{m.predicted_R:.2f}", m.fraction_by_R] for m in mem])
        sections.append(("Repeated data", by_R + "<p>Memorised: the repeated point's own loss ‖x − x'‖² < 0.5.</p>",
                         [repeated_figure(rows)]))
    if "S" in varying:
        sections.append(("Sparsity", "<p>Generalisation is expected at T(1 − S) ≈ 10 whatever S.</p>",
                         [loss_figure(rows, "T(1-S)", "Test loss − 1 against T(1 − S)")]))
    if "weight_decay" in varying:
        sections.append(("Weight decay", "<p>Expected: the bump sits at the same T; weight decay 1.0 removes it. "
                         "The peak table above lists each curve's peak and whether it is interior.</p>",
                         [loss_figure(rows, title="Test loss − 1 against T, by weight decay")]))

    figures: dict[str, go.Figure] = {}
    blocks = [f"<p>n = {spec.toy.n}, {len(summary.kept(rows))} models, {spec.train.steps} steps, lr {spec.train.lr}; "
              f"swept: {esc(', '.join(['T'] + varying))}.</p>"]
    for i, (title, text, figs) in enumerate(sections):
        blocks.append(f"<h2>{esc(title)}</h2>{text}"
                      + "".join(figure_div(f"{i}_{j}", fig, figures) for j, fig in enumerate(figs)))
    return write_page(ToySweepFolder(out).report_path, page_html(spec.report.title, esc(out), blocks, figures))

"""The comparison page: figures, findings and tables in one self-contained HTML file.

Sections: test loss against training-set size (toy | transformer), examples held
individually (toy: points and features with their own direction against T |
transformer: memorised examples against step, with test accuracy), the findings
(``explain``), and the numbers behind every figure. The page is assembled like a run
report, in the shared page shell (``grokkit.files.page``: its style, cards, and plotly.js embedded once).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from grokkit.compare.collect import OWN_DIRECTION, ToySide, TransformerRun, load_toy, load_transformer
from grokkit.compare.explain import comparison_findings, memorised_summary, toy_findings, transformer_findings
from grokkit.files.page import Section, card, esc, page_html, table
from grokkit.measures.milestones import GROKKED_ACC
from grokkit.report.figures import PALETTE
from grokkit.toy.report import loss_figure
from grokkit.toy.summary import CurvePoint

HEIGHT = 420


def _style(fig: go.Figure, height: int = HEIGHT) -> go.Figure:
    fig.update_layout(height=height, template="plotly_white", margin={"l": 60, "r": 20, "t": 48, "b": 45},
                      legend={"orientation": "h", "y": -0.2, "x": 0})
    return fig


def _mean_range(fig: go.Figure, points: Sequence[CurvePoint], name: str, colour: str,
                dash: str | None = None) -> None:
    """Mean over seeds with the min–max range as error bars."""
    fig.add_trace(go.Scatter(
        x=[p.T for p in points], y=[p.mean for p in points], name=name, mode="lines+markers",
        line={"color": colour, "dash": dash}, error_y={"type": "data", "symmetric": False,
                                                       "array": [p.high - p.mean for p in points],
                                                       "arrayminus": [p.mean - p.low for p in points]},
    ))


def toy_counts_figure(toy: ToySide) -> go.Figure:
    fig = go.Figure()
    several = len(toy.curves) > 1
    for i, c in enumerate(toy.curves):
        suffix = f", {c.label}" if several else ""
        _mean_range(fig, c.points_own, f"training points{suffix}", PALETTE[(2 * i) % len(PALETTE)])
        _mean_range(fig, c.features_own, f"features{suffix}", PALETTE[(2 * i + 1) % len(PALETTE)], "dot")
        Ts = [p.T for p in c.points_own]
        fig.add_trace(go.Scatter(x=Ts, y=[c.m / OWN_DIRECTION] * len(Ts), mode="lines", name=f"most possible, m = {c.m}",
                                 line={"color": "#888", "dash": "dash", "width": 1}))
    fig.update_xaxes(type="log", title_text="T (training points)")
    fig.update_yaxes(title_text=f"vectors with D ≥ {OWN_DIRECTION:g}", rangemode="tozero")
    return _style(fig)


def transformer_loss_figure(runs: list[TransformerRun]) -> go.Figure:
    sizes = sorted({r.n_train for r in runs})
    mean = [sum(r.final_test_loss for r in runs if r.n_train == n) / sum(r.n_train == n for r in runs) for n in sizes]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=sizes, y=mean, mode="lines", line={"color": "#d62728"}, name="mean over runs"))
    fig.add_trace(go.Scatter(x=[r.n_train for r in runs], y=[r.final_test_loss for r in runs], mode="markers",
                             marker={"color": "#d62728", "size": 9}, name="run", text=[r.name for r in runs],
                             hovertemplate="%{text}<br>n_train %{x}<br>test loss %{y:.3g}<extra></extra>"))
    fig.update_xaxes(type="log", title_text="n_train (training pairs = ⌊frac_train · p²⌋)")
    fig.update_yaxes(type="log", title_text="final test loss (cross-entropy)", exponentformat="power")
    return _style(fig)


def memorised_figure(runs: list[TransformerRun]) -> go.Figure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.62, 0.38],
                        subplot_titles=("training examples still right with the key frequencies removed",
                                        "test accuracy"))
    for i, r in enumerate(runs):
        colour = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(x=r.steps, y=r.memorised, mode="lines+markers", marker={"size": 4},
                                 line={"color": colour}, name=r.label, legendgroup=r.name,
                                 customdata=[[a] for a in r.excluded_acc],
                                 hovertemplate="step %{x}: %{y} examples (excluded acc %{customdata[0]:.3f})"), 1, 1)
        fig.add_trace(go.Scatter(x=[r.steps[0], r.steps[-1]], y=[r.chance] * 2, mode="lines", legendgroup=r.name,
                                 line={"color": colour, "dash": "dot", "width": 1}, showlegend=False,
                                 name=f"chance, {r.label}", hoverinfo="name"), 1, 1)
        fig.add_trace(go.Scatter(x=r.eval_steps, y=r.test_acc, mode="lines", line={"color": colour},
                                 legendgroup=r.name, showlegend=False, name=r.label), 2, 1)
    fig.add_hline(y=GROKKED_ACC, line={"color": "#888", "dash": "dash", "width": 1}, row=2, col=1)
    fig.update_yaxes(title_text="examples", row=1, col=1)
    fig.update_yaxes(title_text="test acc", range=[0, 1.03], row=2, col=1)
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_layout(updatemenus=[{  # counts span chance (tens) to the whole training set (hundreds)
        "type": "buttons", "direction": "left", "x": 0, "xanchor": "left", "y": 1.06, "yanchor": "bottom",
        "font": {"size": 10}, "pad": {"r": 0, "t": 0},
        "buttons": [{"label": "linear count", "method": "relayout", "args": [{"yaxis.type": "linear"}]},
                    {"label": "log count", "method": "relayout", "args": [{"yaxis.type": "log"}]}],
    }])
    return _style(fig, 620)


# --- the comparison's figures from the two sweep folders, one call each (``grokkit.plots`` lists them) -------
def compare_toy_counts(toy: str | Path) -> go.Figure:
    """Toy model: training points and features with their own direction against T."""
    return toy_counts_figure(load_toy(toy))


def compare_transformer_loss(transformer: str | Path, measure: bool = False) -> go.Figure:
    """Transformer sweep: final test loss against the number of training pairs."""
    return transformer_loss_figure(load_transformer(transformer, measure=measure, log=lambda *_: None))


def compare_memorised(transformer: str | Path, measure: bool = False) -> go.Figure:
    """Transformer sweep: memorised training examples (still right without the key frequencies) across training."""
    return memorised_figure(load_transformer(transformer, measure=measure, log=lambda *_: None))


def toy_table(toy: ToySide) -> str:
    body = [[c.label, loss.T, loss.count, f"{loss.mean - 1:+.4f}", f"{po.mean:.2f}", f"{fo.mean:.2f}"]
            for c in toy.curves for loss, po, fo in zip(c.test_loss, c.points_own, c.features_own)]
    return table(["curve", "T", "seeds", "test loss − 1", f"points with D ≥ {OWN_DIRECTION:g}",
                   f"features with D ≥ {OWN_DIRECTION:g}"], body)


def transformer_table(runs: list[TransformerRun]) -> str:
    body = []
    for r in runs:
        s = memorised_summary(r)
        body.append([r.name, r.p, r.frac_train, r.n_train, " ".join(map(str, r.key_freqs)) or "none",
                     r.key_freqs_source, f"{r.final_test_loss:.3g}", r.grok_step if r.grok_step is not None else "-",
                     f"{s.peak} (step {s.peak_step})", s.at_grok if s.at_grok is not None else "-",
                     f"{s.final} (step {s.final_step})", f"{r.chance:.1f}",
                     s.half_step if s.half_step is not None else "-"])
    return table(["run", "p", "frac_train", "n_train", "key freqs", "key freqs from", "final test loss",
                   f"test acc ≥ {GROKKED_ACC:.0%} at", "memorised: peak", "at grok", "last", "chance n_train/p",
                   "half the peak by"], body)


def _budget(runs: list[TransformerRun]) -> str:
    """When the plotted test losses were taken, and whether they compare like for like."""
    ends = sorted({r.final_step for r in runs})
    if len(ends) == 1:
        return f"One marker per run, at step {ends[0]}, the same for every run."
    return (f"One marker per run, at its last evaluation: steps {ends[0]} to {ends[-1]} (the budgets or early "
            "stopping differ, so the losses are not taken at the same point of training).")


INTRO = (
    "Both models are read in the same terms: how many training examples the trained model holds "
    "individually, against how much of it is general structure. Toy model: a training point holds its own "
    "direction when its data-point dimensionality D_t = ‖h_t‖⁴ / Σ_s (h_t · h_s)² is at least {own:g} (the toy "
    "report's cut for 'represented'); a feature likewise with its feature dimensionality. Dimensionalities of "
    "vectors in m dimensions sum to at most m, so at most m/{own:g} vectors can pass the cut, and a regular T-gon "
    "passes it only while m/T ≥ {own:g}. Transformer: a training example counts as memorised at a checkpoint when "
    "the model still answers it correctly after the key-frequency directions are removed from the logits "
    "(per-example excluded accuracy; count = excluded_acc × n_train). The count is an upper bound: it includes "
    "chance hits (about n_train/p with nothing known beyond the key frequencies; dotted lines) and examples carried "
    "by frequencies the detection rule did not list."
)


def render_page(toy: ToySide, runs: list[TransformerRun], transformer_path: str | Path) -> str:
    """The whole page as one HTML string."""
    figures: dict[str, go.Figure] = {}
    loss_cards = [
        Section("toy_loss", "Toy model: test loss − 1 against T",
                "Mean over dataset seeds (band: range). 0 = predicting zero; T = number of training points.",
                _style(loss_figure(toy.rows))),
        Section("transformer_loss", "Transformer: final test loss against training pairs",
                _budget(runs),
                transformer_loss_figure(runs)),
    ]
    held_cards = [
        Section("toy_counts", "Toy model: training points and features with their own direction",
                f"How many training points and how many features have dimensionality ≥ {OWN_DIRECTION:g}. Mean over "
                f"dataset seeds, bars: range; dashed: m/{OWN_DIRECTION:g}, the most that can.", toy_counts_figure(toy)),
        Section("transformer_memorised", "Transformer: memorised training examples across training",
                "Top: training examples still answered correctly with the run's key frequencies removed (dotted: "
                f"chance, n_train/p). Bottom: test accuracy (dashed: {GROKKED_ACC:.0%}).", memorised_figure(runs)),
    ]
    findings = toy_findings(toy) + transformer_findings(runs) + comparison_findings(toy, runs)
    blocks = [
        f"<h2>What is compared</h2><p>{esc(INTRO.format(own=OWN_DIRECTION))}</p>",
        "<h2>Test loss against training-set size</h2><div class='grid'>"
        + "".join(card(s, figures) for s in loss_cards) + "</div>",
        "<h2>Training examples held individually</h2><div class='grid'>"
        + "".join(card(s, figures) for s in held_cards) + "</div>",
        "<h2 id='findings'>What the comparison shows</h2>"
        + "".join(f"<p>{esc(text)}</p>" for text in findings),
        f"<h2>Numbers</h2><h3>Toy model</h3>{toy_table(toy)}<h3>Transformer</h3>{transformer_table(runs)}",
    ]
    title = "grokkit compare: memorisation in the toy model and the transformer"
    sources = (f"--toy {esc(str(toy.path.resolve()))} &nbsp; "
               f"--transformer {esc(str(Path(transformer_path).resolve()))}")
    return page_html(title, sources, blocks, figures)

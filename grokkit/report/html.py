"""Page assembly: one self-contained HTML file, plotly.js embedded exactly once.

The page needs no network: the library, every figure's data and the styles are
inline. Once every ``Plotly.newPlot`` promise has resolved the page sets
``document.body.dataset.figuresDrawn`` to the number of figures drawn (and
``figuresFailed`` to the error if one failed), which the browser test reads.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import plotly.io as pio
from plotly.offline import get_plotlyjs

from grokkit.files.atomic import write_text_atomic
from grokkit.report.collect import ReportData, collect, measures_at
from grokkit.report.sections import Section, curve_sections, final_sections

REPORT_FILE = "report.html"

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #1d3557; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header .path { font-family: ui-monospace, monospace; font-size: 13px; opacity: 0.85; }
main { max-width: 1500px; margin: 0 auto; padding: 8px 24px 40px; }
h2 { font-size: 18px; border-bottom: 2px solid #1d3557; padding-bottom: 4px; margin-top: 32px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(620px, 1fr)); gap: 16px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
.card h3 { font-size: 15px; margin: 4px 0; }
.caption { font-size: 13px; color: #555; margin: 2px 0 6px; }
.missing { font-size: 13px; color: #8a5a00; background: #fff6e0; border-left: 3px solid #e0a100; padding: 8px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th { background: #eef2f7; } td.l, th.l { text-align: left; }
td.l { max-width: 1000px; } summary { cursor: pointer; } details p { margin: 4px 0; }
"""

# What the ``key_freqs_source`` of measures.jsonl means, for the reader.
SOURCES = {
    "final": "detected once at the final checkpoint and used at every checkpoint",
    "user": "given in the spec ([measures] key_freqs)",
    "per_checkpoint": "detected at each checkpoint; those of the last one are shown",
}

# A figure whose layout needs the whole width of the page.
WIDE = {"attention", "neurons", "measures", "final"}


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return _esc(value)


def _pct(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, (int, float)) and not isinstance(value, bool) else _esc(value)


def _state(status: dict[str, Any] | None) -> str:
    if not status or not status.get("finished"):
        return "in progress"
    return "stopped early after grokking" if status.get("stopped_early") else "finished"


def summary_table(data: ReportData) -> str:
    """Task, model, progress, final numbers and phases, as a two-column table."""
    task, model, train = data.config["task"], data.config["model"], data.config["train"]
    last = data.metrics[-1] if data.metrics else {}
    # every value is escaped: the config and the rows come from files a run folder was handed with
    rows = [
        ("task", _esc(f"{task['op']}, p = {task['p']}, frac_train = {task['frac_train']}")),
        ("model", _esc(f"d_model {model['d_model']}, {model['n_heads']} heads × d_head {model['d_head']}, "
                       f"d_mlp {model['d_mlp']}, {model['act_fn']}")),
        ("training", _esc(f"{train['optimizer']}, lr {train['lr']}, weight decay {train['weight_decay']}; "
                          f"step {last.get('step', 0)} of {train['steps']}, {_state(data.status)}")),
    ]
    if last:
        rows.append(("final", f"train loss {_fmt(last['train_loss'])} (acc {_pct(last['train_acc'])}), "
                              f"test loss {_fmt(last['test_loss'])} (acc {_pct(last['test_acc'])})"))
    if data.phases:
        bands = "; ".join(f"{b.name} {b.start}–{b.end}" for b in data.phases)
        rows.append(("phases", f"<details><summary>{_esc(bands)}</summary>"
                               f"<p class='caption'>{_esc(data.phase_rule)}</p></details>"))
    elif "phases" in data.missing:
        rows.append(("phases", f"<details><summary>none detected</summary>"
                               f"<p class='caption'>{_esc(data.missing['phases'])}</p></details>"))
    if data.paper_phases is not None:
        rows.append(("phases (paper's definitions)",
                     f"<details><summary>{_esc(data.paper_phases.describe())}</summary>"
                     f"<p class='caption'>{_esc(data.paper_phases.rule)}</p></details>"))
    if data.final and data.final.key_freqs is not None:
        rows.append(("key frequencies", _esc(", ".join(map(str, data.final.key_freqs)) or "none")))
    rows.append(("measures", f"{len(data.measures)} checkpoints measured" if data.measures else "none"))
    body = "".join(f"<tr><th class='l'>{_esc(k)}</th><td class='l'>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def key_freq_table(data: ReportData) -> str:
    """One row per key frequency: its W_E norms, its neurons, and the final per-frequency measures."""
    final = data.final
    if final is None or final.key_freqs is None:
        reason = data.missing.get("key_freqs") or data.missing.get("final", "not computed")
        return f"<p class='missing'>{_esc(reason)}</p>"
    if not final.key_freqs:
        return "<p class='missing'>No key frequency found: the model has not (yet) formed a Fourier circuit.</p>"
    last = measures_at(data.measures, final.step)
    norms = dict(zip(final.basis_names or (), final.embed_norms if final.embed_norms is not None else ()))
    cols = ["k", "W_E norm cos k", "W_E norm sin k"]
    if final.neuron_freq is not None:
        cols.append("explained neurons")
    per_freq = [(key, label) for key, label in (("excluded_loss_per_freq", "excluded loss without k"),
                                                 ("cos_cube_alpha", "α_k")) if key in last]
    cols += [label for _, label in per_freq]
    body = []
    for k in final.key_freqs:
        cells = [k, norms.get(f"cos {k}", ""), norms.get(f"sin {k}", "")]
        if final.neuron_freq is not None:
            cells.append(int(((final.neuron_freq == k) & final.neuron_explained).sum()))
        cells += [last[key].get(str(k), "") for key, _ in per_freq]
        body.append("<tr>" + "".join(f"<td>{_fmt(float(c) if hasattr(c, 'dtype') else c)}</td>" for c in cells)
                    + "</tr>")
    head = "".join(f"<th>{_esc(c)}</th>" for c in cols)
    source = SOURCES.get(final.key_freqs_source, final.key_freqs_source)
    if per_freq:
        source += f"; excluded loss and α_k at step {last['step']}"
    source = f"<p class='caption'>Key frequencies {_esc(source)}.</p>"
    return f"{source}<table><tr>{head}</tr>{''.join(body)}</table>"


def dom_id(text: str) -> str:
    """``text`` as an element id: ASCII letters, digits and ``_`` kept, anything else as ``-hex-``.

    Ids come from measure names, which come from a file a run may have been handed with;
    the encoding is one-to-one, so two names never share an id, and no quote, ``<`` or
    space can leave the attribute.
    """
    return "".join(c if (c.isascii() and c.isalnum()) or c == "_" else f"-{ord(c):x}-" for c in text)


def card(section: Section, figures: dict[str, Any]) -> str:
    """A titled card: the figure (registered in ``figures`` under its element id) or a note why none."""
    wide = " wide" if section.id in WIDE else ""
    parts = [f"<div class='card{wide}' id='section-{dom_id(section.id)}'>", f"<h3>{_esc(section.title)}</h3>",
             f"<p class='caption'>{_esc(section.caption)}</p>"]
    if section.figure is None:
        parts.append(f"<p class='missing'>Not shown: {_esc(section.note)}</p>")
    else:
        div_id = f"fig-{dom_id(section.id)}"
        section.figure.update_layout(title=None, margin_t=48)  # the card already carries the title
        figures[div_id] = section.figure
        parts.append(f"<div class='plotly-graph-div' id='{div_id}'></div>")
    parts.append("</div>")
    return "".join(parts)


def _script_json(value: str) -> str:
    """JSON safe inside <script>: no '</script>' or '<!--' can end or confuse the element.

    Every ``<``, ``>`` and ``&`` becomes its ``\\u`` escape, which JSON and JavaScript read
    back as the same character; so do U+2028/U+2029, line ends to older JavaScript.
    """
    for char in ("<", ">", "&", "\u2028", "\u2029"):
        value = value.replace(char, f"\\u{ord(char):04x}")
    return value


def render_page(data: ReportData) -> str:
    """The whole report as one HTML string."""
    figures: dict[str, Any] = {}
    blocks = [f"<h2>Summary</h2>{summary_table(data)}"]
    groups = [("Training and progress measures", curve_sections(data)), ("Final checkpoint", final_sections(data))]
    for heading, sections in groups:
        blocks.append(f"<h2>{_esc(heading)}</h2><div class='grid'>"
                      + "".join(card(s, figures) for s in sections) + "</div>")
    blocks.append(f"<h2>Key frequencies</h2>{key_freq_table(data)}")
    title = f"grokkit report: {Path(data.run_path).name}"
    return page_html(title, _esc(data.run_path), blocks, figures)


def page_html(title: str, subtitle_html: str, blocks: list[str], figures: dict[str, Any]) -> str:
    """A self-contained page: plotly.js once, then every figure drawn into the element with its id.

    ``body[data-figures-drawn]`` is set once all figures have drawn (the browser test reads it).
    """
    figure_json = "{" + ",".join(f"{json.dumps(k)}:{pio.to_json(fig, validate=False)}"
                                 for k, fig in figures.items()) + "}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<style>{STYLE}</style>
<script>{get_plotlyjs()}</script>
</head><body data-figures-expected="{len(figures)}">
<header><h1>{_esc(title)}</h1><div class="path">{subtitle_html}</div></header>
<main>{''.join(blocks)}</main>
<script>
const FIGURES = {_script_json(figure_json)};
const CONFIG = {{displaylogo: false, responsive: true}};
Promise.all(Object.entries(FIGURES).map(([id, fig]) => Plotly.newPlot(id, fig.data, fig.layout, CONFIG)))
  .then((drawn) => {{ document.body.dataset.figuresDrawn = String(drawn.length); }})
  .catch((err) => {{ document.body.dataset.figuresFailed = String(err); }});
</script>
</body></html>
"""


def write_report(run: Any, out: str | Path | None = None, step: int | None = None) -> Path:
    """Write ``run``'s report (default ``RUN/report.html``) and return its path."""
    path = Path(out) if out is not None else Path(run.path) / REPORT_FILE
    page = render_page(collect(run, step))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, page)
    return path

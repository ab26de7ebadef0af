"""The self-contained HTML page every grokkit report is written as: one shell, one style, one table helper.

The page needs no network: plotly.js, every figure's data and the styles are inline,
plotly.js exactly once. Once every ``Plotly.newPlot`` promise has resolved the page
sets ``document.body.dataset.figuresDrawn`` to the number of figures drawn (and
``figuresFailed`` to the error if one failed), which the browser test reads.

Everything that reaches the page from a file (configs, measure names, titles) is
escaped here: ``esc`` for text, ``dom_id`` for element ids, ``script_json`` for the
figure data inside ``<script>``. The run report, the toy sweep's report and the
comparison page all build their bodies from ``Section`` cards and ``table``s.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any, NamedTuple, Sequence

from grokkit.files.atomic import write_text_atomic

REPORT_FILE = "report.html"  # a run's, a toy sweep's and a transformer sweep's page

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


class Section(NamedTuple):
    """A titled block of the page: a figure, or a note saying why there is none."""

    id: str
    title: str
    caption: str
    figure: Any | None  # a plotly Figure
    note: str = ""


def esc(value: Any) -> str:
    """``str(value)`` safe as HTML text or attribute."""
    return html.escape(str(value))


def table(header: Sequence[Any], body: Sequence[Sequence[Any]]) -> str:
    """An HTML table with one header row; every cell is escaped (format numbers before)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><tr>{head}</tr>{rows}</table>"


def dom_id(text: str) -> str:
    """``text`` as an element id: ASCII letters, digits and ``_`` kept, anything else as ``-hex-``.

    Ids come from measure names, which come from a file a run may have been handed with;
    the encoding is one-to-one, so two names never share an id, and no quote, ``<`` or
    space can leave the attribute.
    """
    return "".join(c if (c.isascii() and c.isalnum()) or c == "_" else f"-{ord(c):x}-" for c in text)


def figure_div(key: str, figure: Any, figures: dict[str, Any]) -> str:
    """The element ``figure`` is drawn into, registered in ``figures`` under its id."""
    div_id = f"fig-{dom_id(key)}"
    figures[div_id] = figure
    return f"<div class='plotly-graph-div' id='{div_id}'></div>"


def card(section: Section, figures: dict[str, Any], wide: bool = False) -> str:
    """A titled card: the figure (registered in ``figures`` under its element id) or a note why none."""
    parts = [f"<div class='card{' wide' if wide else ''}' id='section-{dom_id(section.id)}'>",
             f"<h3>{esc(section.title)}</h3>", f"<p class='caption'>{esc(section.caption)}</p>"]
    if section.figure is None:
        parts.append(f"<p class='missing'>Not shown: {esc(section.note)}</p>")
    else:
        section.figure.update_layout(title=None, margin_t=48)  # the card already carries the title
        parts.append(figure_div(section.id, section.figure, figures))
    parts.append("</div>")
    return "".join(parts)


def script_json(value: str) -> str:
    """JSON safe inside <script>: no '</script>' or '<!--' can end or confuse the element.

    Every ``<``, ``>`` and ``&`` becomes its ``\\u`` escape, which JSON and JavaScript read
    back as the same character; so do U+2028/U+2029, line ends to older JavaScript.
    """
    for char in ("<", ">", "&", "\u2028", "\u2029"):
        value = value.replace(char, f"\\u{ord(char):04x}")
    return value


def page_html(title: str, subtitle_html: str, blocks: list[str], figures: dict[str, Any]) -> str:
    """A self-contained page: plotly.js once, then every figure drawn into the element with its id.

    ``body[data-figures-drawn]`` is set once all figures have drawn (the browser test reads it).
    """
    import plotly.io as pio  # plotting libraries load only when a page is made
    from plotly.offline import get_plotlyjs

    figure_json = "{" + ",".join(f"{json.dumps(k)}:{pio.to_json(fig, validate=False)}"
                                 for k, fig in figures.items()) + "}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>{STYLE}</style>
<script>{get_plotlyjs()}</script>
</head><body data-figures-expected="{len(figures)}">
<header><h1>{esc(title)}</h1><div class="path">{subtitle_html}</div></header>
<main>{''.join(blocks)}</main>
<script>
const FIGURES = {script_json(figure_json)};
const CONFIG = {{displaylogo: false, responsive: true}};
Promise.all(Object.entries(FIGURES).map(([id, fig]) => Plotly.newPlot(id, fig.data, fig.layout, CONFIG)))
  .then((drawn) => {{ document.body.dataset.figuresDrawn = String(drawn.length); }})
  .catch((err) => {{ document.body.dataset.figuresFailed = String(err); }});
</script>
</body></html>
"""


def page_path(out: str | Path, name: str = REPORT_FILE) -> Path:
    """Where a page given as ``out`` goes: ``out`` itself, or ``name`` inside it when it names a folder
    (one that exists, ``.`` included, or any path written with a trailing separator)."""
    if str(out).endswith(("/", os.sep)) or Path(out).is_dir():
        return Path(out) / name
    return Path(out)


def write_page(path: str | Path, page: str) -> Path:
    """Write ``page`` to ``path`` atomically (its folder made if need be) and return the path written.

    ``path`` may name a folder (``--out .``, ``--out runs/``: one that exists, or any path ending in a
    separator): the page is then ``REPORT_FILE`` inside it."""
    path = page_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, page)
    return path


__all__ = ["REPORT_FILE", "STYLE", "Section", "card", "dom_id", "esc", "figure_div", "page_html", "page_path",
           "script_json", "table", "write_page"]

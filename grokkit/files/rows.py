"""A table of rows that shows itself: what ``Run.metrics()``, ``Run.measures()`` and ``measure_run`` return.

``Rows`` is a ``list`` of row dicts (so everything a list does still works: ``len``,
indexing, ``json.dumps``, comparing with a list), whose ``repr`` is one line (how many
rows, which steps, which columns) instead of every number, and which a notebook shows as
an HTML table of its first and last rows. ``column(key)`` reads one column.
"""

from __future__ import annotations

from typing import Any, Sequence

from grokkit.files.page import esc

SHOWN = 12  # rows a notebook shows: the first and last half of them


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return "" if value is None else str(value)


def rows_text(rows: Sequence[dict[str, Any]], what: str = "rows") -> str:
    """The table in one line: how many rows, which steps (or names), which columns."""
    if not rows:
        return f"{what}: empty"
    columns = list(dict.fromkeys(k for r in rows for k in r))
    span = (f", steps {rows[0]['step']}…{rows[-1]['step']}" if "step" in rows[0] and "step" in rows[-1] else "")
    shown = ", ".join(columns[:12]) + (f", … ({len(columns)} in all)" if len(columns) > 12 else "")
    return f"{what}: {len(rows)} row{'s' if len(rows) != 1 else ''}{span}; columns {shown}"


def rows_html(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, limit: int = SHOWN) -> str:
    """The first and last rows as an HTML table, every cell escaped (numbers to four digits)."""
    columns = list(columns or dict.fromkeys(k for r in rows for k in r))
    shown: list[Any] = list(rows) if len(rows) <= limit else [*rows[: limit // 2], None, *rows[-(limit // 2):]]
    head = "".join(f"<th style='padding:1px 6px'>{esc(c)}</th>" for c in columns)
    gap = (f"<tr><td colspan='{max(1, len(columns))}' style='text-align:center;color:#777'>"
           f"… {len(rows) - limit} more rows …</td></tr>")
    body = "".join(gap if r is None else "<tr>" + "".join(
        f"<td style='padding:1px 6px;text-align:right'>{esc(_cell(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in shown)
    return (f"<div style='overflow-x:auto;font-size:12px'><table style='border-collapse:collapse'>"
            f"<tr>{head}</tr>{body}</table></div>")


class Rows(list):
    """A list of row dicts with a one-line ``repr`` and an HTML table in notebooks (see the module)."""

    what = "rows"

    def __init__(self, rows: Sequence[dict[str, Any]] = (), what: str = "rows") -> None:
        super().__init__(rows)
        self.what = what

    def columns(self) -> list[str]:
        """Every key some row has, in first-seen order."""
        return list(dict.fromkeys(k for r in self for k in r))

    def column(self, key: str) -> list[Any]:
        """``row.get(key)`` of every row."""
        return [r.get(key) for r in self]

    def __repr__(self) -> str:
        return rows_text(self, self.what)

    def _repr_html_(self) -> str:
        return f"<div style='font-size:12px;color:#555'>{esc(rows_text(self, self.what))}</div>" + rows_html(self)


__all__ = ["Rows", "rows_html", "rows_text"]

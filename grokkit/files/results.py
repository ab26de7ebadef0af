"""A sweep's results table on disk: ``results.jsonl`` (one row per run or model) and, optionally, ``results.csv``.

Both sweeps (transformer runs, ``grokkit.sweep``; toy models, ``grokkit.toy.folder``) write
their table here, with one NaN policy, the logs' (``grokkit.files.jsonl.json_safe``): a
non-finite number (a degenerate model's dimensionality, a diverged run's loss) is
``null`` in the JSONL and an empty cell in the CSV, so pandas, jq and browsers read the
files as standard JSON. Lists (``key_freqs``) are space-separated in a CSV cell.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, NamedTuple, Sequence

from grokkit.files.atomic import write_text_atomic
from grokkit.files.jsonl import dumps_row, json_safe

RESULTS_JSONL = "results.jsonl"
RESULTS_CSV = "results.csv"


class ResultFiles(NamedTuple):
    """What ``write_results`` wrote."""

    jsonl: Path
    csv: Path | None


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as CSV: every key any row has, in first-seen order; lists space-separated, NaN empty."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: " ".join(map(str, v)) if isinstance(v, list) else v
                         for k, v in json_safe(row).items()})
    return table.getvalue()


def write_results(out: str | Path, rows: Sequence[dict[str, Any]], with_csv: bool = True) -> ResultFiles:
    """``OUT/results.jsonl`` and (``with_csv``) ``OUT/results.csv``, each written atomically."""
    out = Path(out)
    jsonl_path = out / RESULTS_JSONL
    write_text_atomic(jsonl_path, "".join(dumps_row(row) + "\n" for row in rows))
    if not with_csv:
        return ResultFiles(jsonl_path, None)
    csv_path = out / RESULTS_CSV
    write_text_atomic(csv_path, csv_text(rows))
    return ResultFiles(jsonl_path, csv_path)


__all__ = ["RESULTS_CSV", "RESULTS_JSONL", "ResultFiles", "csv_text", "write_results"]

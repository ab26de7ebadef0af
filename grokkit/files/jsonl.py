"""JSONL logs (a run's metrics and measures rows): one JSON object per line, appended.

A hard kill can leave a torn last line; readers skip it. Any other line that is not
a row (not an object, no integer ``step``, invalid UTF-8) is a damaged or foreign
file and is refused with one line naming the file and the line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable

from grokkit.errors import RunError
from grokkit.files.atomic import open_for_append, write_text_atomic

MAX_STEP = 10**12  # as an imported epoch (grokkit.importer.formats.MAX_EPOCH): step folder names stay sane
MAX_LINE = 1 << 20  # characters in one row: far above any row grokkit writes, far below a parse that costs GBs


def json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: such a float becomes null (and reads back as None), at any depth."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def loads(text: str | bytes) -> Any:
    """``json.loads``, with a value nested too deeply for the parser's recursion reported as a
    ``JSONDecodeError`` (which every reader already turns into one line naming its file)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text if isinstance(text, str) else "", 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise json.JSONDecodeError(f"a number out of range ({exc})", text if isinstance(text, str) else "", 0) from None


def dumps_row(row: dict[str, Any]) -> str:
    return json.dumps(json_safe(row), allow_nan=False)


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Append one row (one line) to a JSONL log; a log that is a symbolic link is refused, never written through."""
    with open_for_append(Path(path)) as handle:
        handle.write(dumps_row(row) + "\n")


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Replace a JSONL log with ``rows``, atomically."""
    write_text_atomic(Path(path), "".join(dumps_row(row) + "\n" for row in rows))


def read_rows(path: str | Path, required: Iterable[str] = ("step",)) -> list[dict[str, Any]]:
    """The rows of a JSONL log: a missing file is empty, a torn last line is skipped.

    Every row must be an object with an integer ``step`` (and the ``required`` keys);
    anything else raises RunError naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        return []
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RunError(f"{path}: not a grokkit log (invalid UTF-8 at byte {exc.start})") from None
    except OSError as exc:
        raise RunError(f"{path}: cannot read ({exc.strerror or exc})") from None
    lines = text.split("\n")
    torn = not text.endswith("\n")  # the last line was never finished (a hard kill mid-write)
    rows = []
    required = tuple(required)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            raise RunError(f"{path}: line {number} is {len(line)} characters long; grokkit writes rows of at most "
                           f"{MAX_LINE}: the log is damaged")
        try:
            row = loads(line)
        except json.JSONDecodeError:
            if torn and number == len(lines):
                continue  # a torn last line from a hard kill
            raise RunError(f"{path}: line {number} is not JSON; the log is damaged") from None
        if not isinstance(row, dict):
            raise RunError(f"{path}: line {number} is not a row (a JSON object), got {type(row).__name__}")
        step = row.get("step")
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
            shown = repr(step) if len(repr(step)) <= 40 else repr(step)[:37] + "..."
            raise RunError(f"{path}: line {number} has no integer step in [0, {MAX_STEP}] (step = {shown})")
        missing = [key for key in required if key not in row]
        if missing:
            raise RunError(f"{path}: line {number} lacks {', '.join(missing)}")
        rows.append(row)
    return rows

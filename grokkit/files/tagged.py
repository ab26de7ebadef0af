"""Format-tagged JSON records (``config.json``, ``sweep.json``, ``status.json`` …).

Each record is ``{"format": NAME, "version": N, …}``; reading checks both and names
the file in a one-line ``RunError`` when it is missing, not JSON, foreign, from a
newer grokkit, or lacks a key the reader needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from grokkit.errors import RunError
from grokkit.files.atomic import write_json_atomic
from grokkit.files.jsonl import loads


def write_tagged(path: Path, fmt: str, version: int, payload: dict[str, Any]) -> None:
    write_json_atomic(Path(path), {"format": fmt, "version": version, **payload})


MAX_RECORD = 4 << 20  # bytes: a config with hundreds of extensions, a sweep of thousands of runs, fit many times


def read_tagged(path: str | Path, fmt: str, versions: Iterable[int] = (1,), what: str | None = None,
                keys: Iterable[str] = ()) -> dict[str, Any]:
    """The record at ``path``, checked to carry ``fmt``, one of ``versions`` and ``keys``."""
    path = Path(path)
    what = what or fmt
    if not path.is_file():
        raise RunError(f"{path}: missing; not a {what}")
    if path.stat().st_size > MAX_RECORD:  # before parsing: a record grokkit writes is far smaller
        raise RunError(f"{path}: {path.stat().st_size} bytes; a {what} is at most {MAX_RECORD} (damaged or edited)")
    try:
        record = loads(path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunError(f"{path}: not valid JSON; not a {what} (truncated or edited)") from None
    except OSError as exc:
        raise RunError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not isinstance(record, dict) or record.get("format") != fmt:
        found = record.get("format") if isinstance(record, dict) else None
        raise RunError(f"{path}: not a {what} (format tag {found!r}, expected {fmt!r})")
    versions = tuple(versions)
    if record.get("version") not in versions:
        raise RunError(f"{path}: {what} format version {record.get('version')!r}; this grokkit reads "
                       f"{', '.join(map(str, versions))}")
    missing = [key for key in keys if key not in record]
    if missing:
        raise RunError(f"{path}: {what} lacks {', '.join(missing)}")
    return record

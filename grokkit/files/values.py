"""The values of a run's logs, checked as they are read: a number is a number, a list is not endless.

Every row of ``metrics.jsonl``, ``measures.jsonl`` and ``imported_losses.jsonl`` passes
``check_rows`` on its way out of ``grokkit.files.run_folder``, so every command that reads
them (``info``, ``report``, ``compare``, ``sweep``, ``measure``, ``resume``) either gets rows it
can compute with or one line naming the file, the step and the key.

A measure is a number (null when it was not finite), a list of numbers (per head) or a table
of numbers (per frequency or parameter); ``key_freqs`` is a list of integers; a few keys are
strings. A number is a float or an integer of at most ``MAX_INT`` in size (JSON allows an integer of
thousands of digits, which no float or format can hold); a NaN or infinity written by hand or by an
older grokkit reads as null, as grokkit writes it. A list or table holds at most ``max_entries``
entries (the caller's bound from the run's model; far more than any measure makes).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Iterable

from grokkit.errors import RunError

MAX_INT = 10**15  # far beyond any count or step grokkit logs; float() of it is exact enough
MAX_ENTRIES = 100_000  # a list or table in one row, when the caller knows no tighter bound
STRING_KEYS = ("key_freqs_source", "key_rule", "group")
TASK_PREFIX = re.compile(r"^task\d+_")  # a task mixture's per-task columns (grokkit.measures.mixture)


def number(value: Any) -> bool:
    """Whether ``value`` is a number a view can compute with (null, a float, a sane integer)."""
    if value is None or isinstance(value, float):
        return True
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_INT <= value <= MAX_INT


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**60 else f"an integer of {len(str(abs(value)))} digits"
    return text if len(text) <= 60 else text[:57] + "..."


def check_rows(rows: list[dict[str, Any]], path: str | Path, keys: Iterable[str] | None = None,
               max_entries: int = MAX_ENTRIES, scalars: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Refuse (one RunError naming the file, step and key) a value no view can show; returns ``rows``
    with non-finite floats as None. ``keys``: check only these; default every key. ``scalars``: keys
    that must be single numbers (a metrics row's losses and accuracies)."""
    keys = None if keys is None else set(keys)
    scalars = set(scalars)
    for row in rows:
        step = row.get("step")
        if not number(step):
            raise RunError(f"{path}: step = {_shown(step)} is not a step grokkit could have logged")
        for key, value in row.items():
            if key == "step" or (keys is not None and key not in keys):
                continue
            if isinstance(value, (list, dict)) and len(value) > max_entries:
                raise RunError(f"{path}: step {step}: {key!r} holds {len(value)} entries; this run's model makes "
                               f"at most {max_entries}")
            if key in scalars and not number(value):
                raise RunError(f"{path}: step {step}: {key!r} = {_shown(value)} is not a number")
            base = TASK_PREFIX.sub("", key)  # a task mixture's task{k}_ columns read as the task's own
            if base == "key_freqs":
                ok = isinstance(value, list) and all(isinstance(k, int) and not isinstance(k, bool)
                                                     and 0 <= k <= MAX_INT for k in value)
            elif base in STRING_KEYS:
                ok = isinstance(value, str) and len(value) <= 10_000
            elif isinstance(value, list):
                ok = all(number(v) for v in value)
                if ok:
                    row[key] = [_finite(v) for v in value]
            elif isinstance(value, dict):
                ok = all(number(v) for v in value.values())
                if ok:
                    row[key] = {k: _finite(v) for k, v in value.items()}
            else:
                ok = number(value)
                if ok:
                    row[key] = _finite(value)
            if not ok:
                raise RunError(f"{path}: step {step}: {key!r} = {_shown(value)} is not a number, "
                               "nor a list or table of numbers")
    return rows

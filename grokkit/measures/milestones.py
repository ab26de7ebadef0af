"""When a run memorised and when it grokked: the one threshold and the one "first step" rule.

``info``, the report, ``measure``, sweep results, ``compare``, the importer and the phase
rules all read these, so a run has one grok step wherever it is shown.
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

GROKKED_ACC = 0.99
"""Accuracy that counts as learnt: train accuracy ≥ it is memorised, test accuracy ≥ it is grokked."""


def first_step_at(rows: Iterable[dict[str, Any]], key: str, threshold: float = GROKKED_ACC) -> int | None:
    """The smallest ``step`` whose ``key`` is ≥ ``threshold`` (None when no row reaches it).

    Rows without the key, or with it null (not finite when logged), are skipped; rows may come in any order.
    """
    return min((r["step"] for r in rows if r.get(key) is not None and r[key] >= threshold), default=None)


class Milestones(NamedTuple):
    """First steps with train / test accuracy ≥ ``GROKKED_ACC``."""

    memorised_step: int | None  # first step with train_acc ≥ GROKKED_ACC
    grokked_step: int | None  # first step with test_acc ≥ GROKKED_ACC


def milestones(rows: Iterable[dict[str, Any]]) -> Milestones:
    """The milestones of rows with ``step``, ``train_acc`` and ``test_acc`` (metrics or measures rows)."""
    rows = list(rows)
    return Milestones(first_step_at(rows, "train_acc"), first_step_at(rows, "test_acc"))


def has_grokked(row: dict[str, Any]) -> bool:
    """Whether this row's test accuracy is ≥ ``GROKKED_ACC``."""
    return row.get("test_acc") is not None and row["test_acc"] >= GROKKED_ACC

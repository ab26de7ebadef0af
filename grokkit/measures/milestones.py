"""When a run memorised and when it grokked: the one threshold and the one "first step" rule.

``info``, the report, ``measure``, sweep results, ``compare``, the importer and the phase
rules all read these, so a run has one grok step wherever it is shown.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, NamedTuple

GROKKED_ACC = 0.99
"""Accuracy that counts as learnt: train accuracy ≥ it is memorised, test accuracy ≥ it is grokked."""

LEARNT_LOSS = (1 - GROKKED_ACC) * math.log(2)
"""A mean cross-entropy at or below this (≈ 0.0069) guarantees accuracy ≥ ``GROKKED_ACC``.

A curve that records losses only (an imported run's own records) is read through this bound:
a wrong answer gives its label probability ≤ 1/2, so it costs at least ln 2, and the share of
wrong answers is at most loss / ln 2. The step it finds is never before the accuracy really
reached 99 %, and may come somewhat after it."""


def acc_bound(loss: float | None) -> float | None:
    """The accuracy a mean cross-entropy ``loss`` guarantees: max(0, 1 − loss / ln 2) (None stays None)."""
    return None if loss is None else max(0.0, 1.0 - loss / math.log(2))


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


def task_column(k: int, key: str) -> str:
    """A mixture's per-task column: ``task_column(2, "test_acc")`` → ``task2_test_acc`` (metrics and measures)."""
    return f"task{k}_{key}"


def task_rows(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Task k's rows (metrics or measures) as a single task's: ``task{k}_train_loss`` read as ``train_loss`` … (the
    measures that read the logged curves, e.g. ``loss_spectrum``, see task k's own curve)."""
    prefix = task_column(k, "")
    return [{"step": row["step"], **{key[len(prefix):]: v for key, v in row.items() if key.startswith(prefix)}}
            for row in rows]


def task_milestones(rows: Iterable[dict[str, Any]], n_tasks: int) -> list[Milestones]:
    """Each task's milestones in a mixture's rows (its ``task{k}_train_acc`` / ``task{k}_test_acc`` columns)."""
    rows = list(rows)
    return [Milestones(first_step_at(rows, task_column(k, "train_acc")), first_step_at(rows, task_column(k, "test_acc")))
            for k in range(n_tasks)]

"""Summaries of a sweep's rows: curves over T, the loss peak, regime checks, memorisation.

Rows are the per-model dicts of ``results.jsonl``. Only rows with ``kept`` (the best
of the best_of inits) enter the summaries. A *curve* is one setting of (m, S, R,
weight_decay) followed over T, aggregated over dataset seeds.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from grokkit.toy.measures import is_pentagon

CURVE_KEYS = ("m", "S", "R", "weight_decay")
T_GON_TOLERANCE = 0.10  # every point's dimensionality within 10 % of m/T


@dataclass
class CurvePoint:
    """One T of one curve, aggregated over seeds."""

    T: int
    mean: float
    """Mean over seeds of the value."""
    low: float
    """Smallest value over seeds."""
    high: float
    """Largest value over seeds."""
    count: int
    """Number of seeds."""


def kept(rows: list[dict]) -> list[dict]:
    return [row for row in rows if row.get("kept", True)]


def curve_label(key: tuple, varying: list[str]) -> str:
    parts = [f"{name}={value}" for name, value in zip(CURVE_KEYS, key) if name in varying]
    return ", ".join(parts) or "all"


def varying_keys(rows: list[dict]) -> list[str]:
    """The curve keys that take more than one value in the sweep."""
    return [name for name in CURVE_KEYS if len({row[name] for row in rows}) > 1]


def curves(rows: list[dict], value: str) -> dict[tuple, list[CurvePoint]]:
    """(m, S, R, weight_decay) → the value over T, mean and range over seeds."""
    groups: dict[tuple, dict[int, list[float]]] = {}
    for row in kept(rows):
        key = tuple(row[name] for name in CURVE_KEYS)
        groups.setdefault(key, {}).setdefault(row["T"], []).append(float(row[value]))
    return {
        key: [CurvePoint(T, statistics.fmean(v), min(v), max(v), len(v)) for T, v in sorted(by_T.items())]
        for key, by_T in sorted(groups.items())
    }


@dataclass
class Peak:
    """Where a test-loss curve peaks between its two regimes."""

    T: int
    """T of the largest mean test loss."""
    loss: float
    """That mean test loss."""
    interior: bool
    """True when the peak is neither the smallest nor the largest T (a real bump)."""


def test_loss_peak(points: list[CurvePoint]) -> Peak:
    best = max(range(len(points)), key=lambda i: points[i].mean)
    return Peak(points[best].T, points[best].mean, 0 < best < len(points) - 1)


@dataclass
class RegimeCheck:
    """The issue's acceptance checks at one T of one curve."""

    T: int
    t_gon_fraction: float
    """Fraction of seeds whose every point dimensionality is within 10 % of m/T."""
    pentagon_fraction: float
    """Fraction of seeds with exactly five features in the pentagon band and all others below 0.05."""
    max_rel_err: float
    """Largest |D_t − m/T|/(m/T) over seeds."""
    count: int


def regime_checks(rows: list[dict], key: tuple) -> list[RegimeCheck]:
    by_T: dict[int, list[dict]] = {}
    for row in kept(rows):
        if tuple(row[name] for name in CURVE_KEYS) == key:
            by_T.setdefault(row["T"], []).append(row)
    out = []
    for T, group in sorted(by_T.items()):
        errs = [row["point_dim_rel_err_max"] for row in group]
        out.append(
            RegimeCheck(
                T,
                sum(e <= T_GON_TOLERANCE for e in errs) / len(group),
                sum(is_pentagon(row) for row in group) / len(group),
                max(errs),
                len(group),
            )
        )
    return out


@dataclass
class Memorisation:
    """Smallest repetition count at which the repeated point is memorised, at one T."""

    T: int
    n: int
    smallest_R: int | None
    """Smallest R whose seeds mostly memorise (None: none of the swept R)."""
    predicted_R: float
    """The reference's 0.4·T/n."""
    fraction_by_R: dict[int, float]
    """R → fraction of seeds that memorise the repeated point."""


def memorisation(rows: list[dict]) -> list[Memorisation]:
    out = []
    by_T: dict[tuple, dict[int, list[bool]]] = {}
    for row in kept(rows):
        by_T.setdefault((row["T"], row["n"]), {}).setdefault(row["R"], []).append(bool(row["repeated_memorised"]))
    for (T, n), by_R in sorted(by_T.items()):
        fractions = {R: sum(v) / len(v) for R, v in sorted(by_R.items())}
        smallest = next((R for R, f in fractions.items() if f > 0.5), None)
        out.append(Memorisation(T, n, smallest, 0.4 * T / n, fractions))
    return out

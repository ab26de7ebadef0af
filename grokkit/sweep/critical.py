"""The critical dataset size D_crit of a setting, from a sweep over ``task.frac_train``.

Varma, Shah, Kenton, Kramár, Kumar 2023 ("Explaining grokking through circuit efficiency"): below a
critical dataset size D_crit memorisation is the more efficient circuit and a network does not
generalise; above it, it groks; near it, it semi-groks. A sweep spec asks for D_crit with::

    [sweep.grid]
    "task.frac_train" = [0.25, 0.3, 0.35, 0.4, 0.45, 0.5]   # the grid D_crit is looked for in
    "model.seed" = [1, 2]                                    # other settings: averaged over
    [sweep.critical]
    criterion = 0.5     # final test accuracy (after train.steps) that counts as generalising

Every run trains (stacked, as any sweep) for ``train.steps``. The *curve* is, per fraction, the
mean over the other varied settings of the final test accuracy (the last metrics row), with
D = ⌊frac · rows⌋ training pairs. The rule: the bracket's upper end is the smallest fraction from
which on every fraction's mean is ≥ ``criterion``; its lower end is the fraction below it; the
estimate interpolates the crossing linearly in D between the two. A curve that crosses more than
once says so in ``note``; one that is above (below) the criterion everywhere gives a one-sided
bracket. Written to ``OUT/critical.json`` and drawn in the sweep's report, with the mean circuit
efficiencies of the final checkpoints (``grokkit.measures.efficiency``) per fraction.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, NamedTuple

from grokkit.errors import SpecError

KEY = "task.frac_train"
CRITICAL_KEYS = ("criterion",)


@dataclass(frozen=True)
class CriticalSpec:
    """What counts as generalising when looking for D_crit."""

    criterion: float = 0.5
    """Final test accuracy at or above which a fraction's runs (on average) generalise, in (0, 1)."""


def parse_critical(table: Any, grid_keys: list[str], source: str) -> CriticalSpec:
    """``[sweep.critical]`` checked: a table of CRITICAL_KEYS, and ``task.frac_train`` among the grid's keys."""
    if not isinstance(table, dict):
        raise SpecError(f"{source}: [sweep.critical] must be a table, e.g. criterion = 0.5")
    unknown = [k for k in table if k not in CRITICAL_KEYS]
    if unknown:
        raise SpecError(f"{source}: unknown key(s) sweep.critical.{', sweep.critical.'.join(unknown)}; "
                        f"allowed: {', '.join(CRITICAL_KEYS)}")
    criterion = table.get("criterion", CriticalSpec.criterion)
    if isinstance(criterion, bool) or not isinstance(criterion, (int, float)) or not 0 < criterion < 1:
        raise SpecError(f"{source}: sweep.critical.criterion must be a test accuracy in (0, 1), got {criterion!r}")
    if KEY not in grid_keys:
        raise SpecError(f"{source}: [sweep.critical] needs \"{KEY}\" in [sweep.grid] (the fractions D_crit is "
                        "looked for among)")
    return CriticalSpec(float(criterion))


class CurvePoint(NamedTuple):
    """One fraction of the curve."""

    frac_train: float
    n_train: int  # D: training pairs
    mean_test_acc: float | None  # over the runs with a final row
    test_accs: list[float]
    outcomes: list[str]  # grokkit.measures.outcome of each run
    efficiency_gen: float | None  # mean over the runs' final checkpoints
    efficiency_mem: float | None


class Critical(NamedTuple):
    """D_crit as found on a sweep's grid (see the module docstring)."""

    criterion: float
    steps: int  # train.steps: the T the criterion is read after
    n_rows: int  # pairs of the whole grid
    curve: list[CurvePoint]
    bracket: tuple[float | None, float | None]  # (largest fraction below, smallest at or above); None: off grid
    estimate: float | None  # the fraction where the curve crosses the criterion, linear in D
    note: str

    def describe(self) -> str:
        """One line: the bracket and estimate, as fractions and training pairs."""
        lo, hi = self.bracket
        pairs = lambda f: f"{f:.3g} ({int(f * self.n_rows)} pairs)"  # noqa: E731
        head = f"D_crit (final test acc ≥ {self.criterion:.0%} after {self.steps} steps): "
        if lo is None and hi is None:
            return head + "no run has a final row"
        if lo is None:
            return head + f"at or below the grid's smallest fraction, {pairs(hi)}"
        if hi is None:
            return head + f"above the grid's largest fraction, {pairs(lo)}"
        est = f"; ≈ {pairs(self.estimate)} by linear interpolation" if self.estimate is not None else ""
        return head + f"between {pairs(lo)} and {pairs(hi)}{est}" + (f" ({self.note})" if self.note else "")

    def to_dict(self) -> dict[str, Any]:
        return {"criterion": self.criterion, "steps": self.steps, "n_rows": self.n_rows,
                "bracket": list(self.bracket), "estimate": self.estimate, "note": self.note,
                "describe": self.describe(), "curve": [p._asdict() for p in self.curve]}


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def find_critical(rows: list[dict[str, Any]], criterion: float, n_rows: int, steps: int) -> Critical:
    """D_crit from a sweep's result rows (``KEY``, ``final_test_acc``, ``outcome`` and, when measured,
    ``final_efficiency_gen`` / ``_mem``), by the rule of the module docstring."""
    fracs = sorted({r[KEY] for r in rows if KEY in r})
    curve = []
    for f in fracs:
        mine = [r for r in rows if r.get(KEY) == f]
        accs = [r["final_test_acc"] for r in mine if r.get("final_test_acc") is not None]
        curve.append(CurvePoint(
            f, int(f * n_rows), _mean(accs), accs, [r.get("outcome") or "-" for r in mine],
            _mean([r["final_efficiency_gen"] for r in mine if r.get("final_efficiency_gen") is not None]),
            _mean([r["final_efficiency_mem"] for r in mine if r.get("final_efficiency_mem") is not None])))
    known = [p for p in curve if p.mean_test_acc is not None]
    if not known:
        return Critical(criterion, steps, n_rows, curve, (None, None), None, "")
    above = [p.mean_test_acc >= criterion for p in known]
    first = len(known)  # the smallest index from which every point is above
    while first > 0 and above[first - 1]:
        first -= 1
    crossings = sum(a != b for a, b in zip(above, above[1:]))
    note = f"the curve crosses the criterion {crossings} times" if crossings > 1 else ""
    if first == 0:
        return Critical(criterion, steps, n_rows, curve, (None, known[0].frac_train), None, note)
    if first == len(known):
        return Critical(criterion, steps, n_rows, curve, (known[-1].frac_train, None), None, note)
    lo, hi = known[first - 1], known[first]
    t = (criterion - lo.mean_test_acc) / (hi.mean_test_acc - lo.mean_test_acc)
    d = lo.n_train + t * (hi.n_train - lo.n_train)
    return Critical(criterion, steps, n_rows, curve, (lo.frac_train, hi.frac_train), d / n_rows, note)

"""Phase boundaries of a grokking run from its curves: memorisation, circuit formation, cleanup."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

ACC = 0.99
FRAC = 0.1
MIN_DECADES = 1.0


@dataclass
class Phases:
    """The step at which each phase ends (None when the curves do not show it)."""

    memorisation_end: int | None
    circuit_formation_end: int | None
    cleanup_end: int | None
    rule: str

    def describe(self) -> str:
        fmt = lambda v: "-" if v is None else str(v)  # noqa: E731
        return (f"memorisation ends {fmt(self.memorisation_end)}, circuit formation ends "
                f"{fmt(self.circuit_formation_end)}, cleanup ends {fmt(self.cleanup_end)}")


RULE = (
    f"memorisation_end: first step with train_acc >= {ACC}. With l = log10(test_loss) from then on, "
    f"hi = max l, lo = min l: circuit_formation_end: first step after the peak with l <= hi - {FRAC}*(hi - lo) "
    f"(test loss starts its fall); cleanup_end: first later step with l <= lo + {FRAC}*(hi - lo) "
    f"(test loss near its floor). The last two need final test_acc >= {ACC} and hi - lo >= {MIN_DECADES} decade."
)


def detect_phases(rows: list[dict[str, Any]]) -> Phases:
    """Boundaries by ``RULE`` from rows with ``step``, ``train_acc``, ``test_loss``, ``test_acc``.

    Calibrated on the reference run (grokking.md §4): the demo's test loss peaks ≈ 34 and
    ends ≈ 2e-7, so the thresholds fall at ≈ 5 and ≈ 1.3e-6, where its phase lines are
    drawn (13.3k, 16.6k). Rows missing a key are ignored.
    """
    rows = sorted((r for r in rows if all(k in r for k in ("step", "train_acc", "test_loss", "test_acc"))),
                  key=lambda r: r["step"])
    mem = next((i for i, r in enumerate(rows) if r["train_acc"] >= ACC), None)
    if mem is None:
        return Phases(None, None, None, RULE)
    later = rows[mem:]
    ell = [math.log10(max(r["test_loss"], 1e-300)) for r in later]
    hi, lo = max(ell), min(ell)
    if later[-1]["test_acc"] < ACC or hi - lo < MIN_DECADES:
        return Phases(rows[mem]["step"], None, None, RULE)
    peak = ell.index(hi)
    circuit = next(i for i in range(peak, len(ell)) if ell[i] <= hi - FRAC * (hi - lo))
    cleanup = next(i for i in range(circuit, len(ell)) if ell[i] <= lo + FRAC * (hi - lo))
    return Phases(rows[mem]["step"], later[circuit]["step"], later[cleanup]["step"], RULE)

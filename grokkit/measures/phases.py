"""Phase boundaries of a grokking run from its curves: memorisation, circuit formation, cleanup.

``run_phases`` is the one place that decides which rows the phases of a run are read from;
``grokkit info``, ``grokkit measure``, ``grokkit run`` and the report all call it, so they show
the same boundaries and milestones for the same run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from grokkit.files.layout import CURVES_FILE, MEASURES_FILE, METRICS_FILE
from grokkit.measures.milestones import (GROKKED_ACC, LEARNT_LOSS, Milestones, acc_bound, first_step_at, has_grokked,
                                         milestones)

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
    f"memorisation_end: first step with train_acc >= {GROKKED_ACC}. With l = log10(test_loss) from then on, "
    f"hi = max l, lo = min l: circuit_formation_end: first step after the peak with l <= hi - {FRAC}*(hi - lo) "
    f"(test loss starts its fall); cleanup_end: first later step with l <= lo + {FRAC}*(hi - lo) "
    f"(test loss near its floor). The last two need final test_acc >= {GROKKED_ACC} and hi - lo >= {MIN_DECADES} decade."
)


def detect_phases(rows: list[dict[str, Any]]) -> Phases:
    """Boundaries by ``RULE`` from rows with ``step``, ``train_acc``, ``test_loss``, ``test_acc``.

    Calibrated on the reference run (the TransformerLens grokking demo): its test loss peaks ≈ 34 and
    ends ≈ 2e-7, so the thresholds fall at ≈ 5 and ≈ 1.3e-6, where its phase lines are
    drawn (13.3k, 16.6k). Rows missing a key are ignored.
    """
    rows = sorted((r for r in rows if all(k in r for k in ("step", "train_acc", "test_loss", "test_acc"))),
                  key=lambda r: r["step"])
    memorised = first_step_at(rows, "train_acc")
    if memorised is None:
        return Phases(None, None, None, RULE)
    mem = next(i for i, r in enumerate(rows) if r["step"] == memorised)
    later = rows[mem:]
    ell = [math.log10(max(r["test_loss"], 1e-300)) for r in later]
    hi, lo = max(ell), min(ell)
    if not has_grokked(later[-1]) or hi - lo < MIN_DECADES:
        return Phases(rows[mem]["step"], None, None, RULE)
    peak = ell.index(hi)
    circuit = next(i for i in range(peak, len(ell)) if ell[i] <= hi - FRAC * (hi - lo))
    cleanup = next(i for i in range(circuit, len(ell)) if ell[i] <= lo + FRAC * (hi - lo))
    return Phases(rows[mem]["step"], later[circuit]["step"], later[cleanup]["step"], RULE)


PAPER_RULE = (
    "The progress-measures paper's phases, from the measures: memorisation ends at the first step with "
    f"train_acc >= {GROKKED_ACC} where excluded_loss > 10·train_loss (removing the key frequencies starts to hurt: a "
    "circuit carries part of the train loss); circuit formation ends at the first later step where "
    "restricted_loss < 0.1·test_loss and test_loss has fallen below half its peak since memorisation (the "
    "circuit alone predicts well while the memorised part still hides it); cleanup ends at the first later step "
    "where log10 test_loss is within a tenth of its remaining range of its final floor and the weight norm has "
    "fallen since circuit formation ended (the memorised part removed)."
)


def detect_paper_phases(rows: list[dict[str, Any]]) -> Phases:
    """Boundaries by ``PAPER_RULE`` from measures rows (``train_loss``, ``test_loss``, ``excluded_loss``,
    ``restricted_loss``, ``train_acc``, optionally ``weight_norm``); None where the rows do not show it.

    Checked on a paper-mode run (p = 113, README): 700 / 8 600 against the paper's 1.4k / 9.4k.
    """
    keys = ("step", "train_loss", "test_loss", "excluded_loss", "restricted_loss", "train_acc")
    rows = sorted((r for r in rows if all(r.get(k) is not None for k in keys)), key=lambda r: r["step"])
    mem = next((i for i, r in enumerate(rows) if r["train_acc"] >= GROKKED_ACC and r["excluded_loss"] > 10 * r["train_loss"]),
               None)
    if mem is None:
        return Phases(None, None, None, PAPER_RULE)
    peak = max(r["test_loss"] for r in rows[mem:])
    circuit = next((i for i in range(mem, len(rows))
                    if rows[i]["restricted_loss"] < 0.1 * rows[i]["test_loss"] and rows[i]["test_loss"] < 0.5 * peak),
                   None)
    if circuit is None:
        return Phases(rows[mem]["step"], None, None, PAPER_RULE)
    ell = [math.log10(max(r["test_loss"], 1e-300)) for r in rows[circuit:]]
    hi, lo = ell[0], min(ell)
    norm0 = rows[circuit].get("weight_norm")
    cleanup = next((circuit + i for i, value in enumerate(ell)
                    if hi - lo >= MIN_DECADES and value <= lo + FRAC * (hi - lo)
                    and (norm0 is None or rows[circuit + i].get("weight_norm", norm0) < norm0)), None)
    return Phases(rows[mem]["step"], rows[circuit]["step"], None if cleanup is None else rows[cleanup]["step"],
                  PAPER_RULE)


class RunPhases(NamedTuple):
    """Everything a view says about when a run learnt: milestones, phases, and where they came from."""

    milestones: Milestones  # first steps with train / test accuracy ≥ 0.99, from the same rows as ``phases``
    phases: Phases  # by ``RULE``, from the test-loss curve
    paper: Phases | None  # by ``PAPER_RULE``, from the measures; None without excluded/restricted losses
    source: str  # METRICS_FILE, MEASURES_FILE or CURVES_FILE (grokkit.files.layout): the rows ``phases`` and ``milestones`` were read from

    @property
    def from_records(self) -> bool:
        """Whether milestones and phases come from an imported run's own loss records (``CURVES_FILE``)."""
        return self.source == CURVES_FILE

    def provenance(self) -> str:
        """One sentence saying where the milestones and phases come from (for a run's own curve: how)."""
        if self.from_records:
            return (f"99% and phases: from {CURVES_FILE}, the source's own records (train/test loss only, no "
                    f"accuracy: a loss ≤ {LEARNT_LOSS:.4f} = 0.01·ln 2 guarantees ≥ 99 % accuracy, so a step may "
                    "come later than the accuracy did); last, best and the measures: grokkit's evaluation of the "
                    "imported checkpoints")
        return f"99% and phases: from {self.source}"


def record_rows(curves: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An imported run's loss records as rows the phase rules read: each loss with the accuracy it
    guarantees (``acc_bound``: ``train_acc`` / ``test_acc`` here are lower bounds, never measured)."""
    out = []
    for row in curves:
        new = {"step": row["step"]}
        for split in ("train", "test"):
            if row.get(f"{split}_loss") is not None:
                new[f"{split}_loss"] = row[f"{split}_loss"]
                new[f"{split}_acc"] = acc_bound(row[f"{split}_loss"])
        out.append(new)
    return out


def run_phases(metrics: list[dict[str, Any]], measures: list[dict[str, Any]],
               curves: list[dict[str, Any]] = ()) -> RunPhases:
    """The phases and milestones of a run, from the densest history it has: an imported run's own loss
    records (``curves``, the file's every logged epoch, read through ``record_rows``), else its metrics
    rows (every evaluation), else the loss rows of its measures (one per checkpoint).
    The paper's phases come from the measures rows that have the excluded and restricted losses."""
    if any(r.get("test_loss") is not None for r in curves):
        rows, source = record_rows(list(curves)), CURVES_FILE
    elif metrics:
        rows, source = metrics, METRICS_FILE
    else:
        rows, source = [r for r in measures if "test_loss" in r], MEASURES_FILE
    paper = detect_paper_phases(measures) if any("excluded_loss" in r for r in measures) else None
    return RunPhases(milestones(rows), detect_phases(rows), paper, source)


def phase_rows(story: RunPhases, metrics: list[dict[str, Any]], measures: list[dict[str, Any]],
               curves: list[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """The rows ``story`` was read from (the report shades its phase bands from their first step)."""
    if story.source == CURVES_FILE:
        return [r for r in curves if r.get("test_loss") is not None or r.get("train_loss") is not None]
    return metrics if story.source == METRICS_FILE else [r for r in measures if "test_loss" in r]


def story_of_run(run: Any, metrics: list[dict[str, Any]] | None = None,
                 measures: list[dict[str, Any]] | None = None) -> RunPhases:
    """``run_phases`` of a run (a ``grokkit.run.Run``), reading the rows not given: every view calls this."""
    return run_phases(run.metrics() if metrics is None else metrics, run.measures() if measures is None else measures,
                      run.imported_curves())

"""grokkit info RUN"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

HELP = "show a run's config, progress, best accuracies and when it memorised and grokked"
THRESHOLD = 0.99


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def summarise(run: Any) -> dict[str, Any]:
    """Progress and milestones of a run, from its metrics.jsonl and checkpoints."""
    from grokkit.report.collect import check_measure_values
    from grokkit.run import METRIC_KEYS

    rows = run.metrics()
    check_measure_values(rows, run.path / "metrics.jsonl", METRIC_KEYS)  # numbers, or one line saying which is not
    steps = run.checkpoint_steps()

    def first(key: str) -> int | None:
        return next((r["step"] for r in rows if r[key] is not None and r[key] >= THRESHOLD), None)

    last = rows[-1] if rows else {}
    status = run.status() or {}
    diverged = None
    if status.get("diverged"):
        diverged = {"at": status.get("diverged_at"), "reason": status.get("reason"),
                    "last_good_checkpoint": status.get("last_good_checkpoint")}
    return {
        "run": str(run.path),
        "task": run.config.to_dict()["task"],
        "progress": {"step": last.get("step", 0), "of": run.config.train.steps, "checkpoints": len(steps)},
        "finished": bool(status.get("finished")),
        "diverged": diverged,  # None unless training stopped on a non-finite loss or weight
        "last": {k: last[k] for k in ("train_loss", "test_loss", "train_acc", "test_acc") if k in last},
        "best_train_acc": max((r["train_acc"] for r in rows if r["train_acc"] is not None), default=None),
        "best_test_acc": max((r["test_acc"] for r in rows if r["test_acc"] is not None), default=None),
        "train_acc_99_step": first("train_acc"),
        "test_acc_99_step": first("test_acc"),
        "phases": phases_of(run),
        "paper_phases": phases_of(run, paper=True),
    }


def phases_of(run: Any, paper: bool = False) -> dict[str, Any] | None:
    """Phase boundaries from RUN/measures.jsonl (its loss rows, else metrics.jsonl), None without it.

    ``paper``: by the progress-measures paper's definitions, from the excluded and restricted
    losses (``grokkit.measures.phases.PAPER_RULE``) instead of the test-loss curve.
    """
    from dataclasses import asdict

    from grokkit.measures.offline import MEASURES_FILE, read_measures
    from grokkit.measures.phases import detect_paper_phases, detect_phases

    if not (run.path / MEASURES_FILE).is_file():
        return None
    from grokkit.report.collect import check_measure_values

    rows = read_measures(run.path)
    check_measure_values(rows, run.path / MEASURES_FILE)
    if paper:
        return asdict(detect_paper_phases(rows)) if any("excluded_loss" in r for r in rows) else None
    return asdict(detect_phases(rows if any("test_loss" in r for r in rows) else run.metrics()))


def print_summary(run: Any) -> None:
    s = summarise(run)
    task = s["task"]
    print(f"run      {s['run']}  ({task['op']}, p={task['p']}, frac_train={task['frac_train']})")
    state = "finished" if s["finished"] else "in progress"
    if s["diverged"]:
        d = s["diverged"]
        good = "none" if d["last_good_checkpoint"] is None else f"step {d['last_good_checkpoint']}"
        state = f"diverged at step {d['at']} ({d['reason']}); last good checkpoint: {good}"
    print(f"progress step {s['progress']['step']} of {s['progress']['of']}, {s['progress']['checkpoints']} checkpoints, {state}")
    if s["last"]:
        last = s["last"]
        print(
            f"last     train loss {_num(last.get('train_loss'), '.3g')} acc {_num(last.get('train_acc'), '.1%')} | "
            f"test loss {_num(last.get('test_loss'), '.3g')} acc {_num(last.get('test_acc'), '.1%')}"
        )
        print(f"best     train acc {_num(s['best_train_acc'], '.1%')} | test acc {_num(s['best_test_acc'], '.1%')}")
    print(f"99%      train acc: {_step(s['train_acc_99_step'])} | test acc: {_step(s['test_acc_99_step'])}")
    _print_phases(s["phases"])
    _print_phases(s["paper_phases"], "  (paper)")


def _num(value: float | None, spec: str) -> str:
    """A logged number, or "n/a" for one that was not finite (logged as null)."""
    return "n/a" if value is None or not math.isfinite(value) else format(value, spec)


def _step(value: int | None) -> str:
    return "not yet" if value is None else f"step {value}"


def _print_phases(ph: dict[str, Any] | None, label: str = "phases  ") -> None:
    if ph is not None:
        print(
            f"{label} memorisation ends {_step(ph['memorisation_end'])} | circuit formation ends "
            f"{_step(ph['circuit_formation_end'])} | cleanup ends {_step(ph['cleanup_end'])}"
        )


def print_phases(run: Any) -> None:
    """The ``phases`` lines of ``grokkit info``: from the test-loss curve, then by the paper's
    definitions from the excluded and restricted losses (nothing when the rows cannot tell)."""
    _print_phases(phases_of(run))
    _print_phases(phases_of(run, paper=True), "  (paper)")


def run(args: argparse.Namespace) -> int:
    from grokkit.run import Run

    run_ = Run(args.run)
    if args.json:
        from grokkit.files.jsonl import json_safe  # a run logged by an older grokkit may hold NaN

        print(json.dumps(json_safe(summarise(run_)), indent=2, allow_nan=False))
    else:
        print(f"config   {json.dumps(run_.config.to_dict())}")
        print_summary(run_)
    return 0

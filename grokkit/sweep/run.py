"""Run a whole sweep: create run directories, train what is unfinished, tabulate, report.

Layout::

    OUT/sweep.json          the expanded runs (name → varied settings)
    OUT/runs/NAME/          an ordinary run directory per run (grokkit info / report / resume work)
    OUT/results.csv, .jsonl one row per run (see grokkit.sweep.results)
    OUT/report.html         phase diagrams + the results table
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grokkit.sweep.spec import SweepSpec


@dataclass
class SweepOutcome:
    """What a call to ``run_sweep`` did."""

    trained: list[str]  # run names trained (or resumed) by this call
    skipped: list[str]  # run names already finished before it
    rows: list[dict[str, Any]]
    report: Path
    results: Path
    wall_s: float


def run_sweep(spec: SweepSpec, out: str | Path, executor: str = "local", address: str | None = None,
              num_cpus: int | None = None, progress: bool = False, title: str = "grokkit sweep",
              report: Callable[[str], None] = print) -> SweepOutcome:
    from grokkit.run import Run
    from grokkit.sweep.executor import EXECUTORS, plan_batches, run_local, run_ray
    from grokkit.sweep.report import write_sweep_report
    from grokkit.sweep.results import result_row, write_results
    from grokkit.files.atomic import write_json_atomic

    if executor not in EXECUTORS:
        from grokkit.errors import ConfigError

        raise ConfigError(f"--executor: must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    t0 = time.perf_counter()
    out = Path(out).resolve()
    (out / "runs").mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "sweep.json", {"format": "grokkit-sweep", "version": 1,
                                           "runs": {r.name: r.settings for r in spec.runs}})
    runs = {r.name: Run.create(out / "runs" / r.name, r.config) for r in spec.runs}  # refuses a changed config
    skipped = [name for name, run in runs.items() if (run.status() or {}).get("finished")]
    todo = [(run.path, run.config) for name, run in runs.items() if name not in skipped]
    report(f"sweep: {len(spec.runs)} runs, {len(skipped)} already finished, {len(todo)} to train")
    batches = plan_batches(todo, spec.max_stack)
    if executor == "ray":
        run_ray(batches, address, num_cpus, report)
    else:
        run_local(batches, progress, report)
    rows = [result_row(r.name, r.settings, runs[r.name]) for r in spec.runs]
    results, _ = write_results(out, rows)
    page = write_sweep_report(out, rows, spec.diagram, title)
    trained = [name for name in runs if name not in skipped]
    return SweepOutcome(trained, skipped, rows, page, results, time.perf_counter() - t0)

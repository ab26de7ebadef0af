"""Run a whole sweep: create run directories, train what is unfinished, tabulate, report.

Layout::

    OUT/sweep.json          the expanded runs (name → varied settings)
    OUT/runs/NAME/          an ordinary run directory per run (grokkit info / report / resume work)
    OUT/results.csv, .jsonl one row per run (see grokkit.sweep.results)
    OUT/report.html         phase diagrams + the results table

Before anything is trained or written, every run is checked (its config, its memory and
that of its stack, ``grokkit.limits``), and an existing ``OUT`` must hold this very grid:
another sweep's folder is refused unless ``restart`` is given, which removes it first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grokkit.errors import RunError
from grokkit.sweep.spec import SweepSpec

SWEEP_FORMAT = "grokkit-sweep"
OUTPUTS = ("sweep.json", "results.csv", "results.jsonl", "report.html")  # besides runs/: what restart removes


@dataclass
class SweepOutcome:
    """What a call to ``run_sweep`` did."""

    trained: list[str]  # run names trained (or resumed) by this call
    skipped: list[str]  # run names already finished before it
    rows: list[dict[str, Any]]
    report: Path
    results: Path
    wall_s: float


def check_runs(spec: SweepSpec) -> None:
    """Every run fits this machine, alone and in its stack (ConfigError naming the run otherwise)."""
    from grokkit.errors import ConfigError
    from grokkit.limits import check_resources, check_stack
    from grokkit.sweep.executor import plan_batches

    configs = {r.name: r.config for r in spec.runs}
    for name, config in configs.items():
        try:
            check_resources(config)
        except ConfigError as exc:
            raise ConfigError(f"run {name}: {exc}") from None
    for batch in plan_batches([(Path(name), config) for name, config in configs.items()], spec.max_stack):
        if len(batch) > 1:
            check_stack(configs[batch[0]], len(batch))


def _differs(spec: SweepSpec, out: Path) -> str | None:
    """Why ``out`` holds another sweep than ``spec`` (None: it is empty, new, or this sweep)."""
    from grokkit.files.run_folder import RunFolder
    from grokkit.files.tagged import read_tagged
    from grokkit.run import Run

    record_path = out / "sweep.json"
    if not record_path.exists():
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise RunError(f"--out {out}: exists and is not an empty directory or a grokkit sweep")
        return None
    record = read_tagged(record_path, SWEEP_FORMAT, (1,), what="grokkit sweep", keys=("runs",))
    old = record["runs"]
    if not isinstance(old, dict):
        raise RunError(f"{record_path}: its runs are not a table of run name → settings (damaged or edited)")
    runs = {r.name: r.settings for r in spec.runs}
    if old != runs:
        gone, new = sorted(set(old) - set(runs)), sorted(set(runs) - set(old))
        example = f"e.g. run {(new or gone)[0]} is {'new' if new else 'not in this spec'}" if new or gone else (
            "the same names with other settings")
        return f"a sweep of {len(old)} runs, this spec has {len(runs)} ({example})"
    for r in spec.runs:
        path = out / "runs" / r.name
        if RunFolder(path).has_config() and Run(path).config.to_dict() != r.config.to_dict():
            return f"the same grid with another base config (run {r.name} differs)"
    return None


def _remove_previous(out: Path, report: Callable[[str], None]) -> None:
    """``restart``: delete a previous sweep's runs/ and OUTPUTS (nothing else in ``out``)."""
    import shutil

    runs = sorted(p.name for p in (out / "runs").iterdir()) if (out / "runs").is_dir() else []
    files = [name for name in OUTPUTS if (out / name).exists()]
    report(f"--restart: removing {len(runs)} run folder(s) under {out / 'runs'} and {', '.join(files)}")
    if (out / "runs").exists():
        shutil.rmtree(out / "runs")
    for name in files:
        (out / name).unlink()


def run_sweep(spec: SweepSpec, out: str | Path, executor: str = "local", address: str | None = None,
              num_cpus: int | None = None, progress: bool = False, title: str = "grokkit sweep",
              report: Callable[[str], None] = print, restart: bool = False) -> SweepOutcome:
    """Train the runs of ``spec`` not yet finished in ``out``, then write the results and the report.

    An ``out`` holding another sweep is refused (RunError) unless ``restart``, which removes it first.
    """
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
    check_runs(spec)  # every run, before anything is written
    why = _differs(spec, out)
    if why is not None and not restart:
        raise RunError(f"--out {out}: holds {why}; pass --restart to delete that sweep and start over, "
                       "or choose another --out")
    if restart and (out / "sweep.json").exists():
        _remove_previous(out, report)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "sweep.json", {"format": SWEEP_FORMAT, "version": 1,
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

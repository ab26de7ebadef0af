"""Run a whole sweep: create run directories, train what is unfinished, tabulate, report.

Layout::

    OUT/sweep.json          the expanded runs (name → varied settings)
    OUT/runs/NAME/          an ordinary run directory per run (grokkit info / report / resume work)
    OUT/results.csv, .jsonl one row per run (see grokkit.sweep.results)
    OUT/report.html         phase diagrams + the results table
    OUT/nodes.json          under Ray: the node each run trained on

Its files are named, read, written and removed by ``grokkit.files.sweep_folder`` (the one owner).
Before anything is trained or written, every run is checked (its name, config, memory and
that of its stack, ``grokkit.limits``, and its folder), and an existing ``OUT`` must hold this
very grid: another sweep's folder is refused unless ``restart`` is given, which first has the
run folders that sweep's record names remove their own files (under their locks: a run another
process writes refuses the restart) and removes its OUTPUTS, leaves anything else, and never
deletes or writes through a link.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grokkit.errors import ConfigError, GrokkitError, RunError
from grokkit.files.layout import CONFIG_FILE
from grokkit.files.results import write_results
from grokkit.files.run_folder import RunFolder
from grokkit.files.sweep_folder import SweepFolder
from grokkit.limits import check_resources, check_stack, estimate
from grokkit.run import Run
from grokkit.sweep.batches import plan_batches, run_line, train_batch, train_shipped
from grokkit.executor import Executor, ExecutorOptions
from grokkit.sweep.report import write_sweep_report
from grokkit.sweep.results import result_row
from grokkit.sweep.ship import land, pack
from grokkit.sweep.spec import SweepSpec
from grokkit.track import make_trackers


@dataclass
class SweepOutcome:
    """What a call to ``run_sweep`` did."""

    trained: list[str]  # run names trained (or resumed) by this call
    skipped: list[str]  # run names already finished before it
    rows: list[dict[str, Any]]
    report: Path
    results: Path
    wall_s: float
    critical: Any = None  # grokkit.sweep.critical.Critical, for a spec with [sweep.critical]

    def __repr__(self) -> str:
        grokked = sum(r.get("grok_step") is not None for r in self.rows)
        return (f"sweep: {len(self.rows)} runs ({len(self.trained)} trained now, {len(self.skipped)} already "
                f"finished), {grokked} grokked; {self.wall_s:.1f} s\nresults  {self.results}\nreport   {self.report}")

    def _repr_html_(self) -> str:
        """A notebook's view: the counts, then the results table (name, varied settings, milestones, test acc)."""
        from grokkit.files.page import esc
        from grokkit.files.rows import rows_html
        from grokkit.sweep.report import varied_settings

        columns = ["name", *varied_settings(self.rows), "memorise_step", "grok_step", "final_test_acc"]
        lines = "".join(f"<div>{esc(line)}</div>" for line in repr(self).splitlines())
        return f"<div style='font-family:system-ui,sans-serif;font-size:13px'>{lines}</div>" + rows_html(self.rows, columns)


def check_runs(spec: SweepSpec) -> None:
    """Every run fits this machine, alone and in its stack, and its trackers can start (a missing
    package, W&B online without a login): ConfigError naming the run otherwise."""
    configs = {r.name: r.config for r in spec.runs}
    for name, config in configs.items():
        try:
            check_resources(config)
            make_trackers(config)  # builds the callbacks only: nothing starts or is written
        except ConfigError as exc:
            raise ConfigError(f"run {name}: {exc}") from None
    for batch in plan_batches([(Path(name), config) for name, config in configs.items()], spec.max_stack,
                              pad_widths=spec.pad_widths):
        if len(batch) > 1:  # a padded stack's runs are each as large as its widest
            check_stack(max((configs[name] for name in batch), key=lambda c: estimate(c).total), len(batch))


def _differs(spec: SweepSpec, out: Path) -> str | None:
    """Why ``out`` holds another sweep than ``spec`` (None: it is empty, new, or this sweep)."""
    folder = SweepFolder(out)
    if folder.runs_dir.is_symlink():  # never written through, never deleted through
        raise RunError(f"--out {out}: runs is a symbolic link; grokkit does not write or delete through links "
                       "(choose another --out, or make runs a real folder)")
    if not folder.has_record():
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise RunError(f"--out {out}: exists and is not an empty directory or a grokkit sweep")
        return None
    old = folder.recorded_runs()
    runs = {r.name: r.settings for r in spec.runs}
    if old != runs:
        gone, new = sorted(set(old) - set(runs)), sorted(set(runs) - set(old))
        example = f"e.g. run {(new or gone)[0]} is {'new' if new else 'not in this spec'}" if new or gone else (
            "the same names with other settings")
        return f"a sweep of {len(old)} runs, this spec has {len(runs)} ({example})"
    for r in spec.runs:
        path = folder.run_path(r.name)
        if RunFolder(path).has_config() and Run(path).config.to_dict() != r.config.to_dict():
            return f"the same grid with another base config (run {r.name} differs)"
    return None


def _needs_training(spec: SweepSpec, out: Path, restart: bool) -> bool:
    """Whether some run of ``spec`` is not finished in ``out`` (read only: nothing is written yet)."""
    if restart:
        return True
    for r in spec.runs:
        path = SweepFolder(out).run_path(r.name)
        try:
            if not ((path / CONFIG_FILE).is_file() and (status := Run(path).status()) is not None and status.finished):
                return True
        except GrokkitError:
            return True  # a damaged run: the sweep says so when it opens it
    return False


def run_sweep(spec: SweepSpec, out: str | Path, executor: str | ExecutorOptions = "local",
              address: str | None = None, num_cpus: int | None = None, progress: bool = False,
              title: str = "grokkit sweep", report: Callable[[str], None] = print,
              restart: bool = False) -> SweepOutcome:
    """Train the runs of ``spec`` not yet finished in ``out``, then write the results and the report.

    Everything is checked before anything is written: every run's config and memory, the
    executor options, and ``out`` (another sweep there is refused unless ``restart``, which
    first removes that sweep's runs and files, and nothing else).
    """
    options = executor if isinstance(executor, ExecutorOptions) else ExecutorOptions(executor, address, num_cpus)
    t0 = time.perf_counter()
    out = Path(out).resolve()
    check_runs(spec)  # every run, before anything is written
    why = _differs(spec, out)
    if why is not None and not restart:
        raise RunError(f"--out {out}: holds {why}; pass --restart to delete that sweep and start over, "
                       "or choose another --out")
    with contextlib.ExitStack() as stack:
        # Ray starts (or the cluster answers) before anything is written or deleted
        ex = stack.enter_context(Executor(options, report)) if _needs_training(spec, out, restart) else None
        folder = SweepFolder(out)
        if restart and folder.has_record():
            folder.remove_previous(report)
        folder.check_run_folders([r.name for r in spec.runs])
        folder.write_record({r.name: r.settings for r in spec.runs})
        runs = {r.name: Run.create(folder.run_path(r.name), r.config) for r in spec.runs}  # refuses a changed config
        skipped = [name for name, run in runs.items() if (status := run.status()) is not None and status.finished]
        todo = [(run.path, run.config) for name, run in runs.items() if name not in skipped]
        report(f"sweep: {len(spec.runs)} runs, {len(skipped)} already finished, {len(todo)} to train")
        nodes = folder.nodes()
        if todo:
            ex = ex or stack.enter_context(Executor(options, report))
            _train(ex, plan_batches(todo, spec.max_stack, ex.slots, spec.pad_widths), out, nodes, progress, report)
    rows = [{**result_row(r.name, r.settings, runs[r.name]), **({"node": nodes.get(r.name)} if nodes else {})}
            for r in spec.runs]
    critical = None
    if spec.critical is not None:  # D_crit over task.frac_train, with each run's final circuit efficiency
        from grokkit.sweep.critical import find_critical
        from grokkit.sweep.results import efficiency_of

        rows = [{**row, **efficiency_of(runs[r.name])} for row, r in zip(rows, spec.runs)]
        critical = find_critical(rows, spec.critical.criterion, spec.runs[0].config.task.n_rows,
                                 max(r.config.train.steps for r in spec.runs))
        SweepFolder(out).write_critical(critical.to_dict())
    results = write_results(out, rows).csv
    page = write_sweep_report(out, rows, spec.diagram, title, critical)
    from grokkit.sweep import mixture

    if mixture.is_mixture_sweep(spec):  # per-task grok step, neurons per task and interference against width
        mixture.measure_runs(runs, report)
        report(f"mixture: {mixture.write_mixture_report(out, runs, {r.name: r.settings for r in spec.runs}, title)}")
    trained = [name for name in runs if name not in skipped]
    return SweepOutcome(trained, skipped, rows, page, results, time.perf_counter() - t0, critical)


def _train(ex: Executor, batches: list[list[str]], out: Path, nodes: dict[str, str], progress: bool,
           report: Callable[[str], None]) -> None:
    """Train every batch (in place locally; shipped as bytes under Ray), a line per finished run."""
    total, done = sum(map(len, batches)), []
    if ex.options.kind == "local":
        def train_here(i: int) -> None:  # in this process: the run folders are trained in place
            report(f"batch {i + 1}/{len(batches)}: {len(batches[i])} run(s)")
            train_batch(batches[i], progress)

        def land_here(i: int, _: None, node: None) -> None:
            for path in batches[i]:
                done.append(path)
                report(run_line(Path(path), len(done), total))

        ex.run(range(len(batches)), train_here, land_here)
        return
    sent = [[(Path(p).name, pack(Path(p))) for p in batch] for batch in batches]

    def land_batch(i: int, result: dict[str, Any], node: str | None) -> None:
        folder = SweepFolder(out)
        for name, bundle in sent[i]:
            land(folder.run_path(name), result[name], bundle)  # under the run's lock, checked against what was sent
            nodes[name] = node or "?"
            done.append(name)
            report(run_line(folder.run_path(name), len(done), total, node))
        folder.write_nodes(nodes)

    ex.run(sent, train_shipped, land_batch)

"""Run a whole sweep: create run directories, train what is unfinished, tabulate, report.

Layout::

    OUT/sweep.json          the expanded runs (name → varied settings)
    OUT/runs/NAME/          an ordinary run directory per run (grokkit info / report / resume work)
    OUT/results.csv, .jsonl one row per run (see grokkit.sweep.results)
    OUT/report.html         phase diagrams + the results table
    OUT/nodes.json          under Ray: the node each run trained on

Before anything is trained or written, every run is checked (its name, config, memory and
that of its stack, ``grokkit.limits``, and its folder), and an existing ``OUT`` must hold this
very grid: another sweep's folder is refused unless ``restart`` is given, which first removes
the run folders that sweep's record names (only the files grokkit writes in them) and its
OUTPUTS, leaves anything else, and never deletes or writes through a link.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grokkit.errors import RunError
from grokkit.sweep.batches import plan_batches, run_line, train_batch, train_shipped
from grokkit.sweep.executor import Executor, ExecutorOptions
from grokkit.sweep.spec import SweepSpec

SWEEP_FORMAT = "grokkit-sweep"
OUTPUTS = ("sweep.json", "results.csv", "results.jsonl", "report.html", "nodes.json")  # restart removes these


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
    """Every run fits this machine, alone and in its stack, and its trackers can start (a missing
    package, W&B online without a login): ConfigError naming the run otherwise."""
    from grokkit.errors import ConfigError
    from grokkit.limits import check_resources, check_stack
    from grokkit.track import make_trackers

    configs = {r.name: r.config for r in spec.runs}
    for name, config in configs.items():
        try:
            check_resources(config)
            make_trackers(config)  # builds the callbacks only: nothing starts or is written
        except ConfigError as exc:
            raise ConfigError(f"run {name}: {exc}") from None
    for batch in plan_batches([(Path(name), config) for name, config in configs.items()], spec.max_stack):
        if len(batch) > 1:
            check_stack(configs[batch[0]], len(batch))


def _differs(spec: SweepSpec, out: Path) -> str | None:
    """Why ``out`` holds another sweep than ``spec`` (None: it is empty, new, or this sweep)."""
    from grokkit.files.run_folder import RunFolder
    from grokkit.run import Run

    if (out / "runs").is_symlink():  # never written through, never deleted through
        raise RunError(f"--out {out}: runs is a symbolic link; grokkit does not write or delete through links "
                       "(choose another --out, or make runs a real folder)")
    record_path = out / "sweep.json"
    if not record_path.exists():
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise RunError(f"--out {out}: exists and is not an empty directory or a grokkit sweep")
        return None
    old = _recorded_runs(out)
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


def _recorded_runs(out: Path) -> dict[str, Any]:
    """The runs (name → settings) of the sweep record ``out/sweep.json``."""
    from grokkit.files.tagged import read_tagged

    record_path = out / "sweep.json"
    record = read_tagged(record_path, SWEEP_FORMAT, (1,), what="grokkit sweep", keys=("runs",))
    old = record["runs"]
    if not isinstance(old, dict):
        raise RunError(f"{record_path}: its runs are not a table of run name → settings (damaged or edited)")
    return old


def _needs_training(spec: SweepSpec, out: Path, restart: bool) -> bool:
    """Whether some run of ``spec`` is not finished in ``out`` (read only: nothing is written yet)."""
    from grokkit.errors import GrokkitError
    from grokkit.files.layout import CONFIG_FILE
    from grokkit.run import Run

    if restart:
        return True
    for r in spec.runs:
        path = out / "runs" / r.name
        try:
            if not ((path / CONFIG_FILE).is_file() and (Run(path).status() or {}).get("finished")):
                return True
        except GrokkitError:
            return True  # a damaged run: the sweep says so when it opens it
    return False


def _check_run_folders(spec: SweepSpec, out: Path) -> None:
    """Each run's folder is free, or already this run: refused here, before the sweep writes anything."""
    from grokkit.files.layout import CONFIG_FILE

    for r in spec.runs:
        path = out / "runs" / r.name
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise RunError(f"{path}: is a link or a file, not a run folder; move it away or choose another --out")
        if path.is_dir() and not (path / CONFIG_FILE).is_file() and any(path.iterdir()):
            raise RunError(f"{path}: holds files that are not a grokkit run; move them away or choose another --out")


def _remove_previous(out: Path, report: Callable[[str], None]) -> None:
    """``restart``: delete the run folders the sweep record names, and OUTPUTS; nothing grokkit did not write."""
    from grokkit.files.layout import CONFIG_FILE

    names = _recorded_runs(out)
    runs = out / "runs"
    ours, kept = [], []
    for name in sorted(names):
        path = runs / name
        if name != Path(name).name or name in ("", ".", ".."):
            kept.append(name)  # an edited record naming a path elsewhere: never followed
        elif path.is_symlink() or (path.exists() and not (path / CONFIG_FILE).is_file()):
            kept.append(name)
        elif path.is_dir():
            ours.append(path)
    files = [name for name in OUTPUTS if (out / name).is_file() and not (out / name).is_symlink()]
    report(f"--restart: removing {len(ours)} run folder(s) under {runs} and {', '.join(files) or 'no other files'}")
    for path in ours:
        left = _remove_run_files(path)
        if left:
            kept.append(f"{path.name} ({', '.join(left[:3])}{'…' if len(left) > 3 else ''})")
    for name in files:
        (out / name).unlink()
    try:
        runs.rmdir()  # only when nothing else is left in it
    except OSError:
        pass
    others = sorted(p.name for p in runs.iterdir() if p.name not in names) if runs.is_dir() else []
    if kept or others:
        listed = [*kept, *others]
        report(f"--restart: left {len(listed)} thing(s) grokkit did not write: {', '.join(listed[:5])}"
               f"{'…' if len(listed) > 5 else ''}")


def _remove_run_files(path: Path) -> list[str]:
    """Delete what grokkit writes in a run folder (``grokkit.files.links.RUN_FILES``, the lock, the report);
    links are left as they are, never followed. Returns the names left."""
    import shutil

    from grokkit.files.layout import CHECKPOINTS_DIR, LOCK_FILE
    from grokkit.files.links import CHECKPOINT_NAMES, RUN_FILES

    for entry in sorted(path.iterdir()):
        if entry.is_symlink() or entry.name not in (*RUN_FILES, LOCK_FILE, "report.html"):
            continue
        if entry.is_file():
            entry.unlink()
        elif entry.name == CHECKPOINTS_DIR and entry.is_dir():
            for step in sorted(entry.iterdir()):
                if step.name.startswith(CHECKPOINT_NAMES) and step.is_dir() and not step.is_symlink():
                    shutil.rmtree(step)  # rmtree removes a link inside as a link, never its target
            try:
                entry.rmdir()
            except OSError:
                pass  # something else is in it: left, and named
        elif entry.is_dir():  # a tracker's folder (wandb, tensorboard)
            shutil.rmtree(entry)
    left = sorted(p.name for p in path.iterdir())
    if not left:
        path.rmdir()
    return left


def run_sweep(spec: SweepSpec, out: str | Path, executor: str | ExecutorOptions = "local",
              address: str | None = None, num_cpus: int | None = None, progress: bool = False,
              title: str = "grokkit sweep", report: Callable[[str], None] = print,
              restart: bool = False) -> SweepOutcome:
    """Train the runs of ``spec`` not yet finished in ``out``, then write the results and the report.

    Everything is checked before anything is written: every run's config and memory, the
    executor options, and ``out`` (another sweep there is refused unless ``restart``, which
    first removes that sweep's runs and files, and nothing else).
    """
    from grokkit.files.atomic import write_json_atomic
    from grokkit.run import Run
    from grokkit.sweep.report import write_sweep_report
    from grokkit.sweep.results import result_row, write_results

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
        if restart and (out / "sweep.json").exists():
            _remove_previous(out, report)
        _check_run_folders(spec, out)
        (out / "runs").mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "sweep.json", {"format": SWEEP_FORMAT, "version": 1,
                                               "runs": {r.name: r.settings for r in spec.runs}})
        runs = {r.name: Run.create(out / "runs" / r.name, r.config) for r in spec.runs}  # refuses a changed config
        skipped = [name for name, run in runs.items() if (run.status() or {}).get("finished")]
        todo = [(run.path, run.config) for name, run in runs.items() if name not in skipped]
        report(f"sweep: {len(spec.runs)} runs, {len(skipped)} already finished, {len(todo)} to train")
        nodes = _read_nodes(out)
        if todo:
            ex = ex or stack.enter_context(Executor(options, report))
            _train(ex, plan_batches(todo, spec.max_stack, ex.slots), out, nodes, progress, report)
    rows = [{**result_row(r.name, r.settings, runs[r.name]), **({"node": nodes.get(r.name)} if nodes else {})}
            for r in spec.runs]
    results, _ = write_results(out, rows)
    page = write_sweep_report(out, rows, spec.diagram, title)
    trained = [name for name in runs if name not in skipped]
    return SweepOutcome(trained, skipped, rows, page, results, time.perf_counter() - t0)


def _train(ex: Executor, batches: list[list[str]], out: Path, nodes: dict[str, str], progress: bool,
           report: Callable[[str], None]) -> None:
    """Train every batch (in place locally; shipped as bytes under Ray), a line per finished run."""
    from grokkit.files.atomic import write_json_atomic
    from grokkit.sweep.ship import land, pack

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
        for name, bundle in sent[i]:
            land(out / "runs" / name, result[name], bundle)
            nodes[name] = node or "?"
            done.append(name)
            report(run_line(out / "runs" / name, len(done), total, node))
        write_json_atomic(out / "nodes.json", nodes)

    ex.run(sent, train_shipped, land_batch)


def _read_nodes(out: Path) -> dict[str, str]:
    """nodes.json: the Ray node each run trained on (empty for a sweep trained here)."""
    import json

    path = out / "nodes.json"
    if not path.is_file():
        return {}
    try:
        nodes = json.loads(path.read_bytes())
    except (ValueError, OSError):
        nodes = None
    if not isinstance(nodes, dict) or not all(isinstance(v, str) for v in nodes.values()):
        raise RunError(f"{path}: not a table of run name → Ray node id (damaged or edited); delete it")
    return nodes

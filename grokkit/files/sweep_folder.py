"""A transformer sweep's folder: the one module that names, reads, writes and removes its files.

Layout (names from ``grokkit.files.layout``)::

    OUT/sweep.json          the expanded runs (name → varied settings), format-tagged
    OUT/runs/NAME/          an ordinary run folder per run (its files: ``grokkit.files.run_folder``)
    OUT/results.csv, .jsonl one row per run (``grokkit.files.results``)
    OUT/report.html         phase diagrams + the results table
    OUT/nodes.json          under Ray: the node each run trained on
    OUT/critical.json       with [sweep.critical]: D_crit, its bracket and the curve (grokkit.sweep.critical)
    OUT/mixture.html        a task mixture's width report (``grokkit.sweep.mixture``)

A sweep never reaches into a run folder: ``remove_previous`` (``grokkit sweep --restart``) asks
each run folder to remove its own files, holding every run's lock first (all or none), so a run
another process is writing (a ``resume`` training in it) refuses the restart before anything is
deleted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from grokkit.errors import RunError
from grokkit.files.atomic import write_json_atomic
from grokkit.files.jsonl import loads
from grokkit.files.layout import (CONFIG_FILE, CRITICAL_FILE, MIXTURE_FILE, NODES_FILE, REPORT_FILE, RUNS_DIR,
                                  SWEEP_FILE, SWEEP_FORMAT, SWEEP_VERSION)
from grokkit.files.lock import locked
from grokkit.files.results import RESULTS_CSV, RESULTS_JSONL
from grokkit.files.run_folder import RunFolder
from grokkit.files.tagged import MAX_RECORD, read_tagged

OUTPUTS = (SWEEP_FILE, RESULTS_CSV, RESULTS_JSONL, REPORT_FILE, NODES_FILE, CRITICAL_FILE,
           MIXTURE_FILE)  # restart removes these


def plain_name(name: Any) -> bool:
    """A run name is a folder name inside ``runs/``, never a path out of it."""
    return isinstance(name, str) and name not in ("", ".", "..") and name == Path(name).name and "\\" not in name


class SweepFolder:
    """The files of the sweep folder at ``path`` (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def record_path(self) -> Path:
        return self.path / SWEEP_FILE

    @property
    def runs_dir(self) -> Path:
        return self.path / RUNS_DIR

    @property
    def nodes_path(self) -> Path:
        return self.path / NODES_FILE

    def run_path(self, name: str) -> Path:
        return self.runs_dir / name

    def has_record(self) -> bool:
        return self.record_path.exists()

    def record_format(self) -> str | None:
        """The format tag of ``sweep.json``, whichever sweep wrote it: SWEEP_FORMAT (a transformer sweep) or
        TOY_SWEEP_FORMAT (a toy sweep, ``grokkit.toy.folder``); None when it carries none. RunError naming the
        file when it is missing, too large or not JSON."""
        path = self.record_path
        if not path.is_file():
            raise RunError(f"{path}: missing; not a grokkit sweep")
        if path.stat().st_size > MAX_RECORD:
            raise RunError(f"{path}: {path.stat().st_size} bytes; a sweep record is at most {MAX_RECORD} "
                           "(damaged or edited)")
        try:
            record = loads(path.read_bytes().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise RunError(f"{path}: not valid JSON; not a grokkit sweep") from None
        except OSError as exc:
            raise RunError(f"{path}: cannot read ({exc.strerror or exc})") from None
        return record.get("format") if isinstance(record, dict) else None

    def recorded_runs(self) -> dict[str, Any]:
        """The runs (name → settings) of ``sweep.json``, checked (one line naming the file otherwise)."""
        record = read_tagged(self.record_path, SWEEP_FORMAT, (SWEEP_VERSION,), what="grokkit sweep", keys=("runs",))
        runs = record["runs"]
        if not isinstance(runs, dict) or not all(isinstance(v, dict) for v in runs.values()):
            raise RunError(f"{self.record_path}: its runs are not a table of run name → settings (damaged or edited)")
        return runs

    def write_record(self, runs: dict[str, Any]) -> None:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.record_path, {"format": SWEEP_FORMAT, "version": SWEEP_VERSION, "runs": runs})

    def nodes(self) -> dict[str, str]:
        """``nodes.json``: the Ray node each run trained on (empty for a sweep trained here)."""
        path = self.nodes_path
        if not path.is_file():
            return {}
        try:
            nodes = loads(path.read_bytes()) if path.stat().st_size <= MAX_RECORD else None
        except (ValueError, OSError):
            nodes = None
        if not isinstance(nodes, dict) or not all(isinstance(v, str) and len(v) <= 200 for v in nodes.values()):
            raise RunError(f"{path}: not a table of run name → Ray node id (damaged or edited); delete it")
        return nodes

    def write_nodes(self, nodes: dict[str, str]) -> None:
        write_json_atomic(self.nodes_path, nodes)

    def write_critical(self, critical: dict[str, Any]) -> None:
        """``critical.json``: the critical dataset size a sweep found (``grokkit.sweep.critical.Critical``)."""
        write_json_atomic(self.path / CRITICAL_FILE, critical)

    def critical(self) -> dict[str, Any]:
        """``critical.json`` as written (one line naming the file when it is missing or damaged)."""
        path = self.path / CRITICAL_FILE
        try:
            data = loads(path.read_bytes()) if path.stat().st_size <= MAX_RECORD else None
        except (ValueError, OSError):
            raise RunError(f"{path}: missing or not JSON; a sweep writes it with [sweep.critical]") from None
        if not isinstance(data, dict) or not all(k in data for k in ("criterion", "steps", "n_rows")):
            raise RunError(f"{path}: not a D_crit record (damaged or edited); run the sweep again")
        return data

    def check_run_folders(self, names: list[str]) -> None:
        """Each run's folder is free, or already a run: refused here, before the sweep writes anything."""
        for name in names:
            path = self.run_path(name)
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                raise RunError(f"{path}: is a link or a file, not a run folder; move it away or choose another --out")
            if path.is_dir() and not (path / CONFIG_FILE).is_file() and not RunFolder(path).is_empty():
                raise RunError(f"{path}: holds files that are not a grokkit run; move them away or choose another --out")

    def remove_previous(self, report: Callable[[str], None]) -> None:
        """``--restart``: the run folders ``sweep.json`` names remove their own files (under their locks, all or
        none), then the sweep's OUTPUTS go; nothing grokkit did not write, nothing through a link."""
        names = self.recorded_runs()
        runs = self.runs_dir
        ours, kept = [], []
        for name in sorted(names):
            path = runs / name
            if not plain_name(name):
                kept.append(str(name)[:60])  # an edited record naming a path elsewhere: never followed
            elif path.is_symlink() or (path.exists() and not (path / CONFIG_FILE).is_file()):
                kept.append(name)
            elif path.is_dir():
                ours.append(path)
        files = [name for name in OUTPUTS if (self.path / name).is_file() and not (self.path / name).is_symlink()]
        with locked(*ours):  # a run another process writes refuses the restart here, before anything is deleted
            report(f"--restart: removing {len(ours)} run folder(s) under {runs} and "
                   f"{', '.join(files) or 'no other files'}")
            for path in ours:
                left = RunFolder(path).remove()
                if left:
                    kept.append(f"{path.name} ({', '.join(left[:3])}{'…' if len(left) > 3 else ''})")
        for name in files:
            (self.path / name).unlink()
        others = sorted(p.name for p in runs.iterdir() if p.name not in names) if runs.is_dir() else []
        if kept or others:
            listed = [*kept, *others]
            report(f"--restart: left {len(listed)} thing(s) grokkit did not write: {', '.join(listed[:5])}"
                   f"{'…' if len(listed) > 5 else ''}")


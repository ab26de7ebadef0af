"""What every tracker shares: which rows to send, flattened to named scalars, and when.

A tracker is a training-engine callback. For each run it opens a handle at the start,
sends every metrics row (``on_eval``) and every new measures row (the live
measures write those at checkpoints, in whatever order the callbacks run, so the
tracker picks up new rows at each later hook and at the end), and closes the handle
with the run's final status. Subclasses say only how to open, write and close.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from grokkit.files.run_folder import RunFolder, RunStatus
from grokkit.train.callbacks import Callback
from grokkit.track.config import LogConfig


def scalars(row: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The finite numbers of a row, nested tables and lists flattened with ``/``
    (``excluded_loss_per_freq/14``); strings, None and ``step`` itself are left out."""
    out: dict[str, float] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if key == "step" or isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)):
            if math.isfinite(value):
                out[name] = float(value)
        elif isinstance(value, dict):
            out.update(scalars(value, f"{name}/"))
        elif isinstance(value, list):
            out.update(scalars(dict(zip(map(str, range(len(value))), value)), f"{name}/"))
    return out


class Tracker(Callback):
    """Base class of the experiment-tracker callbacks (see the module docstring)."""

    name = "tracker"

    def __init__(self, log: LogConfig):
        self.log = log
        self.handles: dict[Path, Any] = {}
        self.measures_sent: dict[Path, int] = {}  # last measures step sent, per run

    # --- what a backend provides -------------------------------------------
    def open(self, run: Any, folder: Path, start_step: int) -> Any:
        raise NotImplementedError

    def write(self, handle: Any, step: int, values: dict[str, float]) -> None:
        raise NotImplementedError

    def close(self, handle: Any, status: RunStatus | None) -> None:
        """Close ``handle``; ``status`` is how training ended (None: it has not, e.g. it raised)."""
        raise NotImplementedError

    # --- the engine's hooks ------------------------------------------------
    def folder(self, run: Any) -> Path:
        """Where this backend writes for ``run``: RUN/<name>, or log.dir/<run name>/<name>."""
        base = Path(self.log.dir) / Path(run.path).name if self.log.dir else Path(run.path)
        return base / self.name

    def open_in_folder(self, run: Any, start_step: int) -> Any:
        """``open`` in this backend's folder for ``run``, made when missing."""
        folder = self.folder(run)
        folder.mkdir(parents=True, exist_ok=True)
        return self.open(run, folder, start_step)

    def on_train_start(self, runs: list[Any], start_step: int) -> None:
        for run in runs:
            path = Path(run.path)
            if path not in self.handles:
                self.handles[path] = self.open_in_folder(run, start_step)
                self.measures_sent[path] = start_step if start_step else -1

    def on_eval(self, run: Any, row: dict[str, Any]) -> None:
        handle = self.handles.get(Path(run.path))
        if handle is not None:
            self.write(handle, int(row["step"]), scalars(row))
            self.send_measures(run)

    def on_checkpoint(self, run: Any, step: int, model: Any) -> None:
        self.send_measures(run)

    def on_run_end(self, run: Any, status: RunStatus) -> None:
        path = Path(run.path)
        if path in self.handles:
            self.send_measures(run)
            self.close(self.handles.pop(path), status)

    def on_train_end(self) -> None:
        for path in list(self.handles):  # training raised: close what is still open
            self.close(self.handles.pop(path), None)

    def send_offline_measures(self, run: Any) -> int:
        """After training: send every row of the run's measures table (the offline measures ``grokkit run`` computes
        once training ended) to ``run``'s tracker run, reopened: W&B continues the same run (its id comes
        from the run's path), TensorBoard writes a second event file in the same folder. Returns the rows sent."""
        handle = self.open_in_folder(run, 0)  # start 0: nothing is purged
        rows = RunFolder(run.path).measures()
        for row in rows:
            self.write(handle, row["step"], scalars(row, "measures/"))
        self.close(handle, run.status())
        return len(rows)

    def send_measures(self, run: Any) -> None:
        """Send the measures rows written since the last call, under ``measures/``."""
        path = Path(run.path)
        handle = self.handles.get(path)
        if handle is None:
            return
        for row in RunFolder(path).measures():
            if row["step"] > self.measures_sent[path]:
                self.write(handle, row["step"], scalars(row, "measures/"))
                self.measures_sent[path] = row["step"]

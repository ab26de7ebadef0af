"""A run directory's files: the one module that reads and writes them (every other layer asks it).

Layout (names from ``grokkit.files.layout``)::

    RUN/config.json         the run's config, format-tagged (``grokkit.run`` parses it)
    RUN/metrics.jsonl       one row per evaluation, appended by the engine
    RUN/status.json         how training ended: a ``RunStatus`` (format-tagged; untagged older files read too)
    RUN/measures.jsonl      progress measures, a table keyed by step (see ``fold_rows``)
    RUN/imported_losses.jsonl   an imported run's own loss curves
    RUN/checkpoints/step_NNNNNNN/   verified checkpoints (``grokkit.files.checkpoint``)

Writers hold the run's lock (``grokkit.files.lock``) around what they write here: the
engine for a whole training call, ``measure`` for its read-merge-write of the measures.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import torch

from grokkit.errors import RunError
from grokkit.files.checkpoint import META_FILE, PREFIX, list_checkpoints, save_checkpoint
from grokkit.files.jsonl import MAX_STEP, append_row, loads, read_rows, write_rows
from grokkit.files.layout import (CAPACITY_FILE, CHECKPOINTS_DIR, CONFIG_FILE, CURVES_FILE, LOCK_FILE, MEASURES_FILE,
                                  METRICS_FILE, REPORT_FILE, RUN_FORMAT, RUN_VERSION, STATUS_FILE, STATUS_FORMAT, STATUS_VERSION)
from grokkit.files.links import CHECKPOINT_NAMES, RUN_FILES
from grokkit.files.tagged import MAX_RECORD, read_tagged, write_tagged
from grokkit.files.values import MAX_ENTRIES, check_rows

METRIC_KEYS = ("step", "train_loss", "test_loss", "train_acc", "test_acc")  # every metrics row has these


@dataclass(frozen=True)
class RunStatus:
    """How training of a run ended (``status.json``): finished (maybe early, maybe imported) or diverged.

    Read it by attribute (``status.grok_step``, ``status.diverged``); ``to_dict`` is the record the file holds.
    """

    finished: bool
    grok_step: int | None = None  # first evaluation with test accuracy ≥ train.early_stop_acc
    final_step: int | None = None  # a finished run's last step
    stopped_early: bool = False  # finished by train.early_stop_after
    diverged_at: int | None = None  # a diverged run: the step whose loss or weights were not finite
    reason: str | None = None  # … and which of them
    last_good_checkpoint: int | None = None  # … and its last checkpoint (None: none was written)
    source: dict[str, Any] | None = None  # an imported run: the file it came from

    @classmethod
    def ended(cls, final_step: int, stopped_early: bool, grok_step: int | None,
              source: dict[str, Any] | None = None) -> "RunStatus":
        return cls(True, grok_step, final_step, stopped_early, source=source)

    @classmethod
    def divergence(cls, step: int, reason: str, last_good_checkpoint: int | None,
                   grok_step: int | None) -> "RunStatus":
        return cls(False, grok_step, diverged_at=step, reason=reason, last_good_checkpoint=last_good_checkpoint)

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def imported(self) -> bool:
        return self.source is not None

    def to_dict(self) -> dict[str, Any]:
        """The record's keys, as status.json holds them (only those that apply to how the run ended)."""
        if self.diverged:
            return {"finished": False, "diverged": True, "diverged_at": self.diverged_at, "reason": self.reason,
                    "last_good_checkpoint": self.last_good_checkpoint, "grok_step": self.grok_step}
        out = {"finished": self.finished, "final_step": self.final_step, "stopped_early": self.stopped_early,
               "grok_step": self.grok_step}
        if self.imported:
            out.update(imported=True, source=self.source)
        return out

    @classmethod
    def from_dict(cls, record: dict[str, Any], path: Path) -> "RunStatus":
        """Parse the record's keys, each checked (a one-line RunError names the file and the key)."""
        def field(key: str, kind: type, optional: bool = True) -> Any:
            value = record.get(key)
            if value is None and optional:
                return None
            if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)) or (
                    kind is int and not 0 <= value <= MAX_STEP) or (kind is str and len(value) > 10_000):
                allowed = {bool: "true or false", int: "an integer", str: "a string", dict: "a table"}[kind]
                if kind is int and isinstance(value, int) and not isinstance(value, bool):
                    allowed += f" in [0, {MAX_STEP}]"
                shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
                raise RunError(f"{path}: {key} = {shown}; allowed: {allowed}{' or null' if optional else ''}")
            return value

        finished = bool(field("finished", bool, optional=False))
        if field("diverged", bool):
            return cls.divergence(field("diverged_at", int, optional=False), field("reason", str),
                                  field("last_good_checkpoint", int), field("grok_step", int))
        source = field("source", dict) if field("imported", bool) else None
        return cls(finished, field("grok_step", int), field("final_step", int),
                   bool(field("stopped_early", bool)), source=source)


def extensions_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The changes ``grokkit resume --steps`` recorded in a config record (``grokkit.extend``), oldest first."""
    extended = record.get("extended")
    return [e for e in extended if isinstance(e, dict)] if isinstance(extended, list) else []


def fold_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows keyed by step, ascending: a later row for a step updates that step's columns and keeps the rest.

    This is what makes ``measures.jsonl`` a table: a narrower measure call, or a live row
    appended for a step already measured, adds or updates columns and never drops one.
    """
    table: dict[int, dict[str, Any]] = {}
    for row in rows:
        table.setdefault(row["step"], {}).update(row)
    return [table[step] for step in sorted(table)]


class RunFolder:
    """The files of the run directory at ``path`` (see the module docstring).

    Rows read from the logs are checked (``grokkit.files.values.check_rows``): a list or table in
    a row holds at most ``max_entries`` entries (``grokkit.run.Run`` sets it from the run's model).
    """

    def __init__(self, path: str | Path, max_entries: int = MAX_ENTRIES):
        self.path = Path(path)
        self.max_entries = max_entries

    # --- config.json -----------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    def has_config(self) -> bool:
        return self.config_path.exists()

    def remove(self) -> list[str]:
        """Delete what grokkit writes here (``grokkit.files.links.RUN_FILES``, imported curves, the report);
        the caller holds the run's lock (``grokkit.files.lock.locked``), so a run another process writes (a
        resume training in it) is refused before anything goes. Links are left as they are, never followed.
        When nothing else is left, the lock file goes last, with the folder, while still held: a writer that
        comes after finds no run. Returns the names left."""
        for entry in sorted(self.path.iterdir()):
            if entry.is_symlink() or entry.name not in (*RUN_FILES, CURVES_FILE, REPORT_FILE):
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
        left = sorted(p.name for p in self.path.iterdir() if p.name != LOCK_FILE)
        if not left:
            (self.path / LOCK_FILE).unlink(missing_ok=True)
            self.path.rmdir()
        return left

    def adopt(self, assembled: Path) -> None:
        """Move the run assembled in the folder ``assembled`` (an import's hidden folder) into this one, which
        must hold nothing but its lock; the caller holds that lock. ``config.json`` goes last, so the folder is a
        run only once everything else is in place."""
        if not self.is_empty():
            raise RunError(f"{self.path}: another process wrote here meanwhile; nothing was moved into it")
        names = sorted((p.name for p in Path(assembled).iterdir() if p.name != LOCK_FILE), key=lambda n: n == CONFIG_FILE)
        for name in names:
            os.rename(Path(assembled) / name, self.path / name)

    def is_empty(self) -> bool:
        """Whether the folder holds nothing but its lock file (which outlives every writer; ``grokkit.files.lock``)."""
        return all(entry.name == LOCK_FILE for entry in self.path.iterdir())

    def read_config_record(self) -> dict[str, Any]:
        """config.json's keys: ``config`` (a table of sections) and ``extended`` when a change was recorded."""
        if not self.config_path.is_file():
            if (self.path / CAPACITY_FILE).is_file():  # the views that read a study name themselves here
                raise RunError(f"{self.path}: a capacity study, not a transformer run; `grokkit info`, `report`, "
                               "`compare` and `resume` read it, and from Python grokkit.capacity.load_study")
            raise RunError(f"{self.path}: not a grokkit run (no {CONFIG_FILE})")
        data = read_tagged(self.config_path, RUN_FORMAT, (RUN_VERSION,), what="grokkit run", keys=("config",))
        if not isinstance(data["config"], dict):
            raise RunError(f"{self.config_path}: its config is not a table of sections")
        return {k: v for k, v in data.items() if k not in ("format", "version")}

    def read_config(self) -> dict[str, Any]:
        """The stored config as a table of sections (``grokkit.spec.config_from_dict`` parses it)."""
        return self.read_config_record()["config"]

    def write_config(self, config: dict[str, Any]) -> None:
        write_tagged(self.config_path, RUN_FORMAT, RUN_VERSION, {"config": config})

    def record_extension(self, config: dict[str, Any], entry: dict[str, Any]) -> None:
        """Make ``config`` the run's config and add ``entry`` to its ``extended`` list (the caller holds the lock).

        The status record goes first: a kill in between leaves an unfinished run, which resumes.
        """
        record = self.read_config_record()
        self.status_path.unlink(missing_ok=True)
        write_tagged(self.config_path, RUN_FORMAT, RUN_VERSION,
                     {**record, "config": config, "extended": [*extensions_of(record), entry]})

    # --- metrics.jsonl -----------------------------------------------------------
    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    def metrics(self) -> list[dict[str, Any]]:
        """Every metrics row (a torn last line from a hard kill is skipped), each value checked."""
        return self._checked(read_rows(self.metrics_path, METRIC_KEYS), self.metrics_path)

    def _checked(self, rows: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
        scalars = METRIC_KEYS if path == self.metrics_path else ()
        return check_rows(rows, path, max_entries=self.max_entries, scalars=scalars)

    def append_metrics(self, row: dict[str, Any]) -> None:
        append_row(self.metrics_path, row)

    def write_metrics(self, rows: list[dict[str, Any]]) -> None:
        write_rows(self.metrics_path, rows)

    def rewind_metrics(self, through: int | None) -> list[dict[str, Any]]:
        """Keep the rows up to step ``through`` (None: none) and return them.

        A resumed run logs the rows after its checkpoint again; this also drops a torn last line.
        """
        if through is None:
            self.metrics_path.unlink(missing_ok=True)
            return []
        kept = [row for row in self._checked(read_rows(self.metrics_path), self.metrics_path) if row["step"] <= through]
        write_rows(self.metrics_path, kept)
        return kept

    def has_training_output(self) -> bool:
        return bool(self.checkpoint_steps()) or self.metrics_path.exists()

    # --- status.json -----------------------------------------------------------
    @property
    def status_path(self) -> Path:
        return self.path / STATUS_FILE

    def status(self) -> RunStatus | None:
        """How training ended, None while it has not (no status.json yet)."""
        path = self.status_path
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_RECORD:
            raise RunError(f"{path}: {path.stat().st_size} bytes; a status record is at most {MAX_RECORD} (damaged or edited)")
        try:
            record = loads(path.read_bytes().decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RunError(f"{path}: not valid JSON (truncated or edited)") from None
        if not isinstance(record, dict):
            raise RunError(f"{path}: not a grokkit status record")
        if "format" in record:  # written since the record is tagged; an older one is the bare keys
            record = read_tagged(path, STATUS_FORMAT, (STATUS_VERSION,), what="grokkit status record")
        return RunStatus.from_dict(record, path)

    def write_status(self, status: RunStatus) -> None:
        write_tagged(self.status_path, STATUS_FORMAT, STATUS_VERSION, status.to_dict())

    # --- measures.jsonl ----------------------------------------------------------
    @property
    def measures_path(self) -> Path:
        return self.path / MEASURES_FILE

    def has_measures(self) -> bool:
        return self.measures_path.is_file()

    def measures(self) -> list[dict[str, Any]]:
        """The measures table: one row per step, ascending (``fold_rows``), each value checked."""
        return fold_rows(self._checked(read_rows(self.measures_path), self.measures_path))

    def merge_measures(self, rows: list[dict[str, Any]], replace: bool = False,
                       forget: Mapping[int, Iterable[str]] | None = None) -> list[dict[str, Any]]:
        """Write ``rows`` into the table (atomically) and return it.

        Each row updates its step's columns; every other column and row is kept, except the
        columns ``forget`` names for a step (values the caller knows no longer apply). With
        ``replace`` the table becomes ``rows`` alone. The caller holds the run's lock.
        """
        old = [] if replace else self.measures()
        for row in old:
            for key in (forget or {}).get(row["step"], ()):
                row.pop(key, None)
        table = fold_rows([*old, *rows])
        write_rows(self.measures_path, table)
        return table

    def append_measures(self, row: dict[str, Any]) -> None:
        """Add one row (appended: a row for a step already present updates its columns)."""
        append_row(self.measures_path, row)

    def rewind_measures(self, through: int | None) -> None:
        """Keep the rows up to step ``through`` (None: none); a resumed run's live measures redo the rest."""
        if self.measures_path.exists():
            write_rows(self.measures_path, [] if through is None else
                       [row for row in self.measures() if row["step"] <= through])

    # --- imported_losses.jsonl ---------------------------------------------------
    @property
    def curves_path(self) -> Path:
        return self.path / CURVES_FILE

    def write_imported_curves(self, rows: list[dict[str, Any]]) -> None:
        write_rows(self.curves_path, rows)

    def imported_curves(self) -> list[dict[str, Any]]:
        """An imported run's own loss records, ``{step, train_loss?, test_loss?}`` ascending ([] for other runs)."""
        rows = read_rows(self.curves_path)
        for row in rows:
            extra = sorted(set(row) - {"step", "train_loss", "test_loss"})
            if extra:
                raise RunError(f"{self.curves_path}: step {row['step']}: {extra[0]!r} is not a loss record's key "
                               "(step, train_loss, test_loss)")
            for key in ("train_loss", "test_loss"):
                value = row.get(key)
                if isinstance(value, (list, dict, str, bool)) or (isinstance(value, (int, float)) and value < 0):
                    raise RunError(f"{self.curves_path}: step {row['step']}: {key!r} = {str(value)[:40]!r} is not "
                                   "a loss (a number ≥ 0, or null)")
        return sorted(check_rows(rows, self.curves_path), key=lambda r: r["step"])

    # --- checkpoints/ --------------------------------------------------------
    @property
    def checkpoint_root(self) -> Path:
        return self.path / CHECKPOINTS_DIR

    def checkpoint_steps(self) -> list[int]:
        """Steps of every checkpoint folder, ascending."""
        return [step for step, _ in list_checkpoints(self.checkpoint_root)]

    def checkpoint_folders(self) -> dict[int, Path]:
        return dict(list_checkpoints(self.checkpoint_root))

    def save_checkpoint(self, step: int, model: dict[str, torch.Tensor], state: dict[str, torch.Tensor],
                        meta: dict[str, Any], state_only_latest: bool = False) -> Path:
        """``grokkit.files.checkpoint.save_checkpoint`` into this run's checkpoints/."""
        return save_checkpoint(self.checkpoint_root, step, model, state, meta, state_only_latest=state_only_latest)

    def recover_checkpoints(self) -> list[str]:
        """Undo what an interrupted checkpoint write left; one note per thing done.

        A good checkpoint moved aside for its same-step replacement (``.old-``) is put back when
        the replacement never arrived; temporaries and folders without a meta.json are removed.
        """
        root, notes = self.checkpoint_root, []
        if not root.is_dir():
            return notes
        for entry in sorted(root.iterdir()):
            if entry.name.startswith(f".old-{PREFIX}"):
                final = root / entry.name[len(".old-"):].rsplit("-", 1)[0]
                if not final.exists() and (entry / META_FILE).is_file():
                    entry.rename(final)
                    notes.append(f"{self.path}: restored {final.name} from {entry.name} (its replacement was interrupted)")
                    continue
            if entry.name.startswith(f".tmp-{PREFIX}") or entry.name.startswith(f".old-{PREFIX}"):
                shutil.rmtree(entry, ignore_errors=True)
                notes.append(f"{self.path}: removed {entry.name}, a checkpoint left half-written by an interrupted process")
        for _, path in list_checkpoints(root):
            if not (path / META_FILE).is_file():
                shutil.rmtree(path, ignore_errors=True)
                notes.append(f"{self.path}: removed {path.name}, an incomplete checkpoint folder (no {META_FILE})")
        return notes

"""A capacity study's output folder: the one module that names, writes, reads and checks its files.

Layout::

    OUT/capacity.json        the spec (format-tagged), written first; ``extended``: each `grokkit resume --steps`
    OUT/theory.json          the theory per β (``grokkit.capacity.theory.theory_record``)
    OUT/curves.jsonl         one row per member and measurement (``grokkit.capacity.measures``)
    OUT/injections.jsonl     s̃_r before and after each injection, per member
    OUT/results.jsonl/.csv   one row per member and task at the end: measured beside predicted
    OUT/weights.safetensors  the final encoders and decoders, stacked (widths in the metadata)
    OUT/state.safetensors    what training needs to go on bit for bit: each member's optimiser state, the data
                             and measurement generators' states, the step (``grokkit resume DIR --steps N``)
    OUT/summary.json         per β: the learned pattern against the staircase; the injection summary; timings;
                             the steps trained and the SHA-256 of both tensor files (written last: a finished study)
    OUT/report.html          the report (``grokkit.capacity.report``)

Every file is written atomically. A study runs in one process: the folder must be new or empty
(refused before anything is trained otherwise), and ``grokkit resume`` continues it under the
folder's lock. Every file is checked as it is read: a missing, truncated, edited or foreign file
is one ``RunError`` naming it (tags and versions, each row's keys and values, the theory against
the spec's, the results against the curves, the tensor files against their hashes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from grokkit.errors import GrokkitError, RunError
from grokkit.files.atomic import save_tensors, write_atomic, write_text_atomic
from grokkit.files.digest import sha256_file
from grokkit.files.jsonl import MAX_LINE, dumps_row, loads
from grokkit.files.layout import CAPACITY_FILE
from grokkit.files.results import RESULTS_JSONL, write_results
from grokkit.files.tagged import read_tagged, write_tagged
from grokkit.files.values import check_rows, number

FORMAT, VERSION = "grokkit-capacity", 1
SPEC_FILE = CAPACITY_FILE
THEORY_FILE = "theory.json"
CURVES_FILE = "curves.jsonl"
INJECTIONS_FILE = "injections.jsonl"
SUMMARY_FILE = "summary.json"
WEIGHTS_FILE = "weights.safetensors"
STATE_FILE = "state.safetensors"
WHAT = "grokkit capacity study"

# the keys each row of a log must carry, and which of them are per-task lists
CURVE_KEYS = ("member", "N", "seed", "beta", "gap", "step", "loss_norm", "s", "s_tilde", "delta_F", "interference",
              "interference_expected", "train_loss")
INJECTION_KEYS = ("member", "N", "seed", "beta", "gap", "step", "before", "after")
PER_TASK = ("loss_norm", "s", "s_tilde")
MEMBER_KEYS = ("N", "seed", "beta", "gap")


def is_capacity_folder(path: str | Path) -> bool:
    """Whether ``path`` is a capacity study's folder (it holds the study's spec record)."""
    return (Path(path) / SPEC_FILE).is_file()


class CapacityFolder:
    """The files of one capacity study (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @classmethod
    def create(cls, path: str | Path, spec: dict[str, Any]) -> "CapacityFolder":
        """A new study folder holding its spec; refused if ``path`` is a file or a non-empty folder."""
        path = Path(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise RunError(f"--out {path}: exists and is not an empty directory; a capacity study writes a new one")
        path.mkdir(parents=True, exist_ok=True)
        folder = cls(path)
        write_tagged(path / SPEC_FILE, FORMAT, VERSION, {"spec": spec})
        return folder

    @classmethod
    def open(cls, path: str | Path) -> "CapacityFolder":
        """An existing study folder (its spec record checked)."""
        folder = cls(path)
        folder.spec_dict()
        return folder

    # --- writing -------------------------------------------------------------------------
    def _jsonl(self, name: str, rows: list[dict]) -> None:
        write_text_atomic(self.path / name, "".join(dumps_row(row) + "\n" for row in rows))

    def _json(self, name: str, payload: dict) -> None:
        write_tagged(self.path / name, FORMAT, VERSION, payload)

    def _tensors(self, name: str, tensors: dict, metadata: dict[str, str]) -> str:
        write_atomic(self.path / name, lambda tmp: save_tensors(
            tmp, {k: v.contiguous().cpu() for k, v in tensors.items()}, metadata={"format": FORMAT, **metadata}))
        return sha256_file(self.path / name)

    def write_outputs(self, theory: list[dict], curves: list[dict], injections: list[dict], results: list[dict],
                      summary: dict, tensors: dict, widths: list[int], state: dict | None = None) -> None:
        """Everything a finished study writes, the summary last (its presence marks the study done; it records
        the steps trained and the hashes of the tensor files, so a file from another study or step is refused)."""
        self._json(THEORY_FILE, {"theory": theory})
        self._jsonl(CURVES_FILE, curves)
        self._jsonl(INJECTIONS_FILE, injections)
        write_results(self.path, results)
        files = {WEIGHTS_FILE: self._tensors(WEIGHTS_FILE, tensors, {"widths": json.dumps(widths)})}
        if state is not None:
            files[STATE_FILE] = self._tensors(STATE_FILE, state, {"step": str(summary["steps"])})
        self._json(SUMMARY_FILE, {"summary": summary, "files": files})

    def record_extension(self, spec: dict[str, Any], from_step: int) -> None:
        """capacity.json with ``spec`` (its train.steps the new target) and one more entry in ``extended``."""
        record = self._spec_record()
        extended = list(record.get("extended", [])) + [{"from_step": from_step, "to_step": spec["train"]["steps"]}]
        write_tagged(self.path / SPEC_FILE, FORMAT, VERSION, {"spec": spec, "extended": extended})

    # --- reading -------------------------------------------------------------------------
    def _spec_record(self) -> dict:
        record = read_tagged(self.path / SPEC_FILE, FORMAT, (VERSION,), what=WHAT, keys=("spec",))
        if not isinstance(record["spec"], dict):
            raise RunError(f"{self.path / SPEC_FILE}: its spec is not a table of sections")
        extended = record.get("extended", [])
        if not isinstance(extended, list) or not all(
                isinstance(e, dict) and _int(e.get("from_step")) and _int(e.get("to_step")) for e in extended):
            raise RunError(f"{self.path / SPEC_FILE}: 'extended' is not a list of {{from_step, to_step}} (edited)")
        return record

    def spec_dict(self) -> dict:
        return self._spec_record()["spec"]

    def extensions(self) -> list[dict]:
        """Each ``grokkit resume --steps``: ``{"from_step", "to_step"}``, oldest first."""
        return self._spec_record().get("extended", [])

    def spec(self):
        from grokkit.capacity.spec import spec_from_dict

        where = str(self.path / SPEC_FILE)
        try:
            return spec_from_dict(self.spec_dict(), source=where)
        except GrokkitError as exc:  # a field's own check names the field; the file is named here
            raise RunError(str(exc) if where in str(exc) else f"{where}: {exc}") from None

    def _rows(self, name: str) -> list[dict]:
        path = self.path / name
        if not path.is_file():
            raise RunError(f"{path}: missing; the study did not finish")
        try:
            text = path.read_bytes().decode("utf-8")
            rows = [loads(line) for line in text.splitlines() if line.strip()]
        except (ValueError, UnicodeDecodeError):
            raise RunError(f"{path}: not JSON lines (truncated or edited)") from None
        if any(len(line) > MAX_LINE for line in text.splitlines()):
            raise RunError(f"{path}: a line of more than {MAX_LINE} characters; not written by grokkit")
        for n, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise RunError(f"{path}: line {n} is not a JSON object (damaged or foreign)")
        return rows

    def _summary_record(self) -> dict:
        record = read_tagged(self.path / SUMMARY_FILE, FORMAT, (VERSION,), what=f"finished {WHAT}",
                             keys=("summary",))
        summary = record["summary"]
        where = self.path / SUMMARY_FILE
        if not isinstance(summary, dict) or not _int(summary.get("steps")) or not _int(summary.get("members")):
            raise RunError(f"{where}: its summary lacks the steps trained or the number of models (edited)")
        for key, kind in (("agreement", dict), ("injection", list), ("clipped_steps", list)):
            if not isinstance(summary.get(key), kind):
                raise RunError(f"{where}: summary.{key} is not a {kind.__name__} (edited or foreign)")
        for key in ("train_seconds",):
            if not number(summary.get(key)) or summary[key] is None:
                raise RunError(f"{where}: summary.{key} is not a number (edited)")
        files = record.get("files", {})
        if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
            raise RunError(f"{where}: its file hashes are not a table of strings (edited)")
        return record

    def summary(self) -> dict:
        return self._summary_record()["summary"]

    def theory(self) -> list[dict]:
        record = read_tagged(self.path / THEORY_FILE, FORMAT, (VERSION,), what=f"{WHAT}'s theory", keys=("theory",))
        if not isinstance(record["theory"], list) or not all(isinstance(t, dict) for t in record["theory"]):
            raise RunError(f"{self.path / THEORY_FILE}: its theory is not a list of records (edited)")
        return record["theory"]

    def curves(self, spec=None) -> list[dict]:
        """curves.jsonl's rows, each checked against the study's members (``spec``: read from capacity.json)."""
        return self._checked(CURVES_FILE, CURVE_KEYS, spec)

    def injections(self, spec=None) -> list[dict]:
        return self._checked(INJECTIONS_FILE, INJECTION_KEYS, spec)

    def results(self) -> list[dict]:
        path = self.path / RESULTS_JSONL
        rows = self._rows(RESULTS_JSONL)
        for n, row in enumerate(rows, 1):
            if not _int(row.get("member")) or not _int(row.get("task")):
                raise RunError(f"{path}: line {n} lacks its member or task; not a capacity study's results")
        return rows

    def _checked(self, name: str, keys: tuple[str, ...], spec) -> list[dict]:
        """Rows of a log, each with ``keys``, a member of the study with that member's settings, a step it
        trained, per-task lists of K numbers; numbers are numbers (``grokkit.files.values``)."""
        spec = spec if spec is not None else self.spec()
        members = spec.members()
        path = self.path / name
        rows = self._rows(name)
        steps = self.summary()["steps"] if (self.path / SUMMARY_FILE).is_file() else spec.train.steps
        for n, row in enumerate(rows, 1):
            missing = [k for k in keys if k not in row]
            if missing:
                raise RunError(f"{path}: line {n} lacks {', '.join(missing)}; not a capacity study's {name}")
            i = row["member"]
            if not _int(i) or not 0 <= i < len(members):
                raise RunError(f"{path}: line {n}: member {row['member']!r} is not one of the study's "
                               f"{len(members)} models")
            member = members[i]
            if any(row[k] != getattr(member, k) for k in MEMBER_KEYS):
                raise RunError(f"{path}: line {n}: member {i} is {member} in capacity.json, not "
                               f"{ {k: row[k] for k in MEMBER_KEYS} } (from another study, or edited)")
            if not _int(row["step"]) or not 0 <= row["step"] <= steps:
                raise RunError(f"{path}: line {n}: step {row['step']!r} is not a step of this study (0 … {steps})")
            for key in PER_TASK:
                if key in keys and (not isinstance(row[key], list) or len(row[key]) != spec.capacity.K):
                    raise RunError(f"{path}: line {n}: {key!r} is not a list of K = {spec.capacity.K} numbers")
        return check_rows(rows, path, keys=[k for k in keys if k not in ("member",) + MEMBER_KEYS],
                          max_entries=spec.capacity.K)

    def _verified(self, name: str) -> Path:
        path = self.path / name
        expected = self._summary_record().get("files", {}).get(name)
        if not path.is_file():
            raise RunError(f"{path}: missing" + ("" if expected else "; the study did not finish"))
        if expected is None:
            raise RunError(f"{path}: summary.json records no hash for it (written by an older grokkit, or edited); "
                           "run the study again")
        if sha256_file(path) != expected:
            raise RunError(f"{path}: does not match the SHA-256 recorded in summary.json (truncated, edited or "
                           "from another study)")
        return path

    def _load(self, name: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        from safetensors import safe_open

        path = self._verified(name)
        try:
            with safe_open(str(path), framework="pt") as handle:
                return {key: handle.get_tensor(key) for key in handle.keys()}, handle.metadata() or {}
        except Exception as exc:  # safetensors raises its own error types
            raise RunError(f"{path}: unreadable tensor file ({exc})") from None

    def weights(self) -> dict[str, torch.Tensor]:
        """The final ``W`` [I, N_max, D] and ``decoders`` [I, N_max, K·d_T], verified against summary.json."""
        tensors, _ = self._load(WEIGHTS_FILE)
        if set(tensors) != {"W", "decoders"}:
            raise RunError(f"{self.path / WEIGHTS_FILE}: holds {sorted(tensors)}, not W and decoders")
        return tensors

    def state(self) -> dict[str, torch.Tensor]:
        """What training needs to go on (``grokkit.capacity.train``), verified against summary.json."""
        if STATE_FILE not in self._summary_record().get("files", {}) and not (self.path / STATE_FILE).exists():
            raise RunError(f"{self.path}: keeps no training state ({STATE_FILE}; written by an older grokkit); "
                           "it cannot be resumed: run the study again with more steps")
        tensors, meta = self._load(STATE_FILE)
        if meta.get("step") != str(self.summary()["steps"]):
            raise RunError(f"{self.path / STATE_FILE}: holds step {meta.get('step')!r}, summary.json says "
                           f"{self.summary()['steps']}")
        return tensors


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

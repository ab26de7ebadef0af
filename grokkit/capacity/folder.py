"""A capacity study's output folder: the one module that names, writes and reads its files.

Layout::

    OUT/capacity.json        the spec (format-tagged), written first
    OUT/theory.json          the theory per β (``grokkit.capacity.theory.theory_record``)
    OUT/curves.jsonl         one row per member and measurement (``grokkit.capacity.measures``)
    OUT/injections.jsonl     s̃_r before and after each injection, per member
    OUT/results.jsonl/.csv   one row per member and task at the end: measured beside predicted
    OUT/summary.json         per β: the learned pattern against the staircase; the injection summary; timings
    OUT/weights.safetensors  the final encoders and decoders, stacked (widths in the metadata)
    OUT/report.html          the report (``grokkit.capacity.report``)

Every file is written atomically. A study runs in one process, start to end: the folder must be
new or empty, and is refused before anything is trained otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grokkit.errors import RunError
from grokkit.files.atomic import save_tensors, write_atomic, write_text_atomic
from grokkit.files.jsonl import dumps_row, loads
from grokkit.files.results import RESULTS_JSONL, write_results
from grokkit.files.tagged import read_tagged, write_tagged

FORMAT, VERSION = "grokkit-capacity", 1
SPEC_FILE = "capacity.json"
THEORY_FILE = "theory.json"
CURVES_FILE = "curves.jsonl"
INJECTIONS_FILE = "injections.jsonl"
SUMMARY_FILE = "summary.json"
WEIGHTS_FILE = "weights.safetensors"


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

    def write_outputs(self, theory: list[dict], curves: list[dict], injections: list[dict], results: list[dict],
                      summary: dict, tensors: dict, widths: list[int]) -> None:
        """Everything a finished study writes, the summary last (its presence marks the study done)."""
        self._json(THEORY_FILE, {"theory": theory})
        self._jsonl(CURVES_FILE, curves)
        self._jsonl(INJECTIONS_FILE, injections)
        write_results(self.path, results)
        write_atomic(self.path / WEIGHTS_FILE, lambda tmp: save_tensors(
            tmp, {k: v.contiguous().cpu() for k, v in tensors.items()},
            metadata={"format": FORMAT, "widths": json.dumps(widths)}))
        self._json(SUMMARY_FILE, {"summary": summary})

    # --- reading -------------------------------------------------------------------------
    def spec_dict(self) -> dict:
        record = read_tagged(self.path / SPEC_FILE, FORMAT, (VERSION,), what="grokkit capacity study", keys=("spec",))
        if not isinstance(record["spec"], dict):
            raise RunError(f"{self.path / SPEC_FILE}: its spec is not a table of sections")
        return record["spec"]

    def spec(self):
        from grokkit.capacity.spec import spec_from_dict

        return spec_from_dict(self.spec_dict(), source=str(self.path / SPEC_FILE))

    def _rows(self, name: str) -> list[dict]:
        path = self.path / name
        if not path.is_file():
            raise RunError(f"{path}: missing; the study did not finish")
        try:
            return [loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except ValueError:
            raise RunError(f"{path}: not JSON lines (truncated or edited)") from None

    def theory(self) -> list[dict]:
        return read_tagged(self.path / THEORY_FILE, FORMAT, (VERSION,), keys=("theory",))["theory"]

    def curves(self) -> list[dict]:
        return self._rows(CURVES_FILE)

    def injections(self) -> list[dict]:
        return self._rows(INJECTIONS_FILE)

    def results(self) -> list[dict]:
        return self._rows(RESULTS_JSONL)

    def summary(self) -> dict:
        return read_tagged(self.path / SUMMARY_FILE, FORMAT, (VERSION,), what="finished capacity study",
                           keys=("summary",))["summary"]

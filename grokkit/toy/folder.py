"""A toy sweep's folder: the one module that names, reads and writes its files.

Layout (names from ``grokkit.files.layout``)::

    OUT/sweep.json                    the full spec (format-tagged); a restart must match it
    OUT/chunks/chunk_NNNN.safetensors weights and per-model arrays of one chunk (``grokkit.toy.chunk_file``)
    OUT/chunks/chunk_NNNN.json        its rows and the SHA-256 of its safetensors (written last:
                                      its presence marks the chunk done)
    OUT/results.jsonl                 one row per model, every chunk (rewritten at the end; grokkit.files.results)
    OUT/report.html                   see grokkit.toy.report

A folder is created for one spec and accepts only that spec afterwards (up to the settings that
change no result, ``grokkit.toy.spec.NOT_RESULTS``); chunks are never written through a link.
Outside the sweep, read a folder with ``grokkit.toy.reader``.
"""

from __future__ import annotations

import json
from pathlib import Path

from grokkit.errors import RunError
from grokkit.files.atomic import write_json_atomic
from grokkit.files.jsonl import loads
from grokkit.files.layout import CHUNK_PREFIX, CHUNKS_DIR, REPORT_FILE, SWEEP_FILE, TOY_SWEEP_FORMAT, TOY_SWEEP_VERSION
from grokkit.files.links import refuse_links
from grokkit.files.results import write_results
from grokkit.files.tagged import read_tagged
from grokkit.toy.chunk_file import ChunkFiles
from grokkit.toy.config import ToySpec
from grokkit.toy.spec import results_part, spec_from_dict


class ToySweepFolder:
    """The files of the toy sweep folder at ``path`` (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def record_path(self) -> Path:
        return self.path / SWEEP_FILE

    @property
    def chunks_dir(self) -> Path:
        return self.path / CHUNKS_DIR

    @property
    def report_path(self) -> Path:
        return self.path / REPORT_FILE

    def prepare(self, spec: ToySpec) -> None:
        """Create the folder for this spec, or accept it when it already holds the same spec."""
        out = self.path
        record = {"format": TOY_SWEEP_FORMAT, "version": TOY_SWEEP_VERSION, "spec": spec.to_dict()}
        spec_path = self.record_path
        refuse_links(out, (SWEEP_FILE, CHUNKS_DIR))  # never write chunks into someone's linked folder
        if spec_path.exists():
            try:
                existing = loads(spec_path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise RunError(f"--out {out}: {SWEEP_FILE} is not valid JSON; not a toy sweep") from None
            if not isinstance(existing, dict) or existing.get("format") != TOY_SWEEP_FORMAT:
                raise RunError(f"--out {out}: not a grokkit toy sweep")
            if results_part(existing.get("spec")) != results_part(record["spec"]):
                raise RunError(f"--out {out}: holds a sweep with a different spec; choose another directory")
            if existing["spec"] != record["spec"]:  # only report or speed settings changed: keep the new ones
                write_json_atomic(spec_path, record)
            return
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise RunError(f"--out {out}: exists and is not an empty directory or a toy sweep")
        self.chunks_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(spec_path, record)

    def spec(self) -> ToySpec:
        """The spec the sweep was run with."""
        path = self.record_path
        if not path.is_file():
            raise RunError(f"{self.path}: not a grokkit toy sweep (no {SWEEP_FILE})")
        record = read_tagged(path, TOY_SWEEP_FORMAT, (TOY_SWEEP_VERSION,), what="grokkit toy sweep", keys=("spec",))
        if not isinstance(record["spec"], dict):
            raise RunError(f"{path}: its spec is not a table of sections")
        return spec_from_dict(record["spec"], source=str(path))

    def chunk(self, c: int) -> ChunkFiles:
        """The files of chunk ``c`` (``chunks/chunk_NNNN.json`` and ``.safetensors``)."""
        return ChunkFiles(self.chunks_dir / f"{CHUNK_PREFIX}{c:04d}", c)

    def finished_chunks(self) -> list[ChunkFiles]:
        """Every chunk whose record is on disk, in chunk order (a record name that is no chunk's is refused)."""
        chunks = []
        for path in sorted(self.chunks_dir.glob(f"{CHUNK_PREFIX}*.json")):
            number = path.stem.removeprefix(CHUNK_PREFIX)
            if not (number.isascii() and number.isdigit()):
                raise RunError(f"{path}: not a chunk record name (chunk_NNNN.json)")
            chunks.append(ChunkFiles(path.with_suffix(""), int(number)))
        return chunks

    def rows(self) -> list[dict]:
        """Every finished chunk's rows, in chunk order, each chunk's tensors verified against its SHA-256."""
        return [row for chunk in self.finished_chunks() for row in chunk.verify()["rows"]]

    def tensors(self, row: dict) -> dict:
        """The saved tensors of the model of ``row`` (a row of ``rows``), verified."""
        return self.chunk(row["chunk"]).tensors(row["model"])

    def write_results(self, rows: list[dict]) -> None:
        """``results.jsonl``: one row per model (no CSV: a toy sweep's rows are read back as JSON)."""
        write_results(self.path, rows, with_csv=False)

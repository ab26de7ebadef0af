"""A toy chunk's two files: its tensors and its record, the record written last and carrying the tensors' SHA-256.

::

    STEM.safetensors   weights and per-model arrays of the chunk's models (keys ``{model}.{name}``)
    STEM.json          {"format": "grokkit-toy-chunk", "version": 1, "weights": NAME, "sha256": …, "rows": […]}

Both are written atomically, the tensors first: the record's presence marks the chunk done, so
a chunk interrupted mid-write is simply trained again. Every read of the tensors (a rerun reusing
the chunk, the report, ``grokkit compare``) checks them against the recorded SHA-256, so a flipped
bit or a torn file is refused, never used. Where a chunk's files lie is the folder's business
(``grokkit.toy.folder``); this module knows what is inside them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from safetensors.torch import load

from grokkit.errors import RunError
from grokkit.files.atomic import save_tensors, write_atomic, write_text_atomic
from grokkit.files.digest import sha256_bytes
from grokkit.files.jsonl import loads
from grokkit.files.layout import TOY_CHUNK_FORMAT, TOY_CHUNK_VERSION, TOY_SWEEP_FORMAT
from grokkit.files.tagged import read_tagged


@dataclass(frozen=True)
class ChunkFiles:
    """The files of chunk ``number``: ``stem`` + ``.json`` (its record) and + ``.safetensors`` (its tensors)."""

    stem: Path
    """The path without suffix (``OUT/chunks/chunk_NNNN``)."""
    number: int
    """The chunk's index in the sweep (every row of its record carries it as ``chunk``)."""

    @property
    def rows_path(self) -> Path:
        return self.stem.with_suffix(".json")

    @property
    def weights_path(self) -> Path:
        return self.stem.with_suffix(".safetensors")

    def is_done(self) -> bool:
        """Whether the record exists (written last: the chunk finished; ``verify`` says whether it is intact)."""
        return self.rows_path.exists()

    def write(self, rows: list[dict], tensors: dict) -> None:
        """The tensors, then the record (rows + the tensors' SHA-256): the record marks the chunk done."""
        digest = {}

        def write(tmp: Path) -> None:
            save_tensors(tmp, tensors, metadata={"format": TOY_SWEEP_FORMAT, "chunk": str(self.number)})
            digest["sha256"] = sha256_bytes(tmp.read_bytes())

        write_atomic(self.weights_path, write)
        record = {"format": TOY_CHUNK_FORMAT, "version": TOY_CHUNK_VERSION, "weights": self.weights_path.name,
                  "sha256": digest["sha256"], "rows": rows}
        write_text_atomic(self.rows_path, json.dumps(record))  # not write_json_atomic: a degenerate model's NaN stays

    def record(self) -> dict:
        """The finished chunk's record (format, sha256, rows), checked; one RunError naming the file otherwise."""
        rows_path = self.rows_path
        try:
            old = isinstance(loads(rows_path.read_bytes()), list)
        except (ValueError, OSError):
            old = False  # read_tagged below says what is wrong
        if old:
            raise RunError(f"{rows_path}: a chunk without the SHA-256 of its weights (an older grokkit wrote it); "
                           f"delete it and {self.weights_path.name} to retrain that chunk")
        record = read_tagged(rows_path, TOY_CHUNK_FORMAT, (TOY_CHUNK_VERSION,), what="grokkit toy chunk",
                             keys=("sha256", "rows"))
        c, rows = self.number, record["rows"]
        if not isinstance(rows, list) or not all(
            isinstance(row, dict) and row.get("chunk") == c and isinstance(row.get("model"), int) for row in rows
        ):
            raise RunError(f"{rows_path}: its rows are not a list of this chunk's models (each with chunk = {c} "
                           "and an integer model)")
        return record

    def verified_bytes(self, sha256: str) -> bytes:
        """The bytes of the chunk's safetensors, refused unless they hash to ``sha256``."""
        weights_path, rows_name = self.weights_path, self.rows_path.name
        try:
            data = weights_path.read_bytes()
        except OSError as exc:
            raise RunError(f"{weights_path}: cannot read ({exc.strerror or exc}); {rows_name} says the chunk "
                           "is finished; delete both files to retrain it") from None
        if sha256_bytes(data) != sha256:
            raise RunError(f"{weights_path}: SHA-256 differs from the one in {rows_name} (damaged, torn or edited); "
                           "delete both files to retrain this chunk")
        return data

    def verify(self) -> dict:
        """The chunk's record, with its tensors checked against the recorded SHA-256."""
        record = self.record()
        self.verified_bytes(record["sha256"])
        return record

    def tensors(self, model: int) -> dict:
        """The saved tensors of model ``model`` of the chunk (keys without the ``{model}.`` prefix), verified."""
        checked = self.verified_bytes(self.record()["sha256"])
        try:
            data = load(checked)  # the very bytes just checked
        except Exception:  # SafetensorError: a record whose hash was made for something else
            raise RunError(f"{self.weights_path}: not a safetensors file, though it matches "
                           f"{self.rows_path.name}") from None
        prefix = f"{model}."
        return {key[len(prefix) :]: value for key, value in data.items() if key.startswith(prefix)}

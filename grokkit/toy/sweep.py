"""A sweep: grid → instances → chunks trained together → rows and weights on disk.

Layout of a sweep directory::

    OUT/sweep.json                    the full spec (format-tagged); a restart must match it
    OUT/chunks/chunk_NNNN.safetensors weights and per-model arrays of one chunk
    OUT/chunks/chunk_NNNN.json        its rows and the SHA-256 of its safetensors (written last:
                                      its presence marks the chunk done)
    OUT/results.jsonl                 one row per model, every chunk (rewritten at the end; grokkit.files.results)
    OUT/report.html                   see grokkit.toy.report

Instances are sorted by T before chunking, so a chunk holds models of equal or
similar T (bucketing) and padding rows stay few; the dense reconstruction is
further cut into row blocks (train.block_elements), so memory is bounded whatever T.
A chunk file is written atomically; a restarted sweep skips every finished chunk. Every
read of a chunk's tensors (a rerun reusing it, the report, ``grokkit compare``) checks
them against the recorded SHA-256, so a flipped bit or a torn file is refused, never used.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

from grokkit.errors import RunError
from grokkit.files.atomic import save_tensors, write_atomic, write_json_atomic, write_text_atomic
from grokkit.files.digest import sha256_bytes
from grokkit.files.jsonl import loads
from grokkit.files.links import refuse_links
from grokkit.files.results import write_results
from grokkit.files.tagged import read_tagged
from grokkit.sweep.executor import Executor, ExecutorOptions
from grokkit.toy.config import ToyInstance
from grokkit.toy.spec import ToySpec, spec_from_dict

SWEEP_FORMAT, SWEEP_VERSION = "grokkit-toy-sweep", 1  # the tag of sweep.json
CHUNK_FORMAT, CHUNK_VERSION = "grokkit-toy-chunk", 1  # the tag of each chunk's record
SPEC_FILE = "sweep.json"
CHUNKS_DIR = "chunks"
CHUNK_PREFIX = "chunk_"  # chunk_NNNN.json and chunk_NNNN.safetensors
PAD_ALLOWANCE = 4096  # padding rows tolerated in a chunk: cheaper than another pass of per-step overhead
SAVE_HIDDEN_MAX_M = 3  # hidden vectors [T, m] are kept for the small-m pictures only; they grow with T·m


def expand_grid(spec: ToySpec) -> list[ToyInstance]:
    """Every model of the sweep, sorted by T (then the other settings), best_of inits adjacent."""
    toy, sweep = spec.toy, spec.sweep
    grid = product(
        sweep.T,
        sweep.m or [toy.m],
        sweep.S or [toy.S],
        sweep.R or [toy.R],
        sweep.weight_decay or [spec.train.weight_decay],
        range(sweep.seeds),
        range(spec.train.best_of),
    )
    limit = spec.train.best_of_max_T
    instances = [
        ToyInstance(
            n=toy.n, m=m, S=float(S), T=T, R=R, weight_decay=float(wd), data_seed=seed, init_seed=init,
            normalise=toy.normalise, test_points=toy.test_points,
        )
        for T, m, S, R, wd, seed, init in grid
        if init == 0 or limit == 0 or T <= limit
    ]
    return sorted(instances, key=lambda inst: (inst.T, inst.m, inst.S, inst.R, inst.weight_decay, inst.data_seed, inst.init_seed))


def chunk_instances(instances: list[ToyInstance], size: int) -> list[list[ToyInstance]]:
    """Consecutive chunks of at most ``size`` models, never splitting the best_of inits of one model.

    Instances arrive sorted by T; a chunk is closed early when adding a larger T would
    pad it by more than a quarter of its real rows (plus PAD_ALLOWANCE rows, below
    which the per-step overhead dominates and merging small sets pays).
    """
    chunks: list[list[ToyInstance]] = []
    current: list[ToyInstance] = []
    for inst in instances:
        starts_group = inst.init_seed == 0
        real = sum(i.T for i in current) + inst.T
        padding = (len(current) + 1) * inst.T - real  # every model padded to the newcomer's (largest) T
        too_padded = padding > 0.25 * real + PAD_ALLOWANCE
        if current and starts_group and (len(current) >= size or too_padded):
            chunks.append(current)
            current = []
        current.append(inst)
    if current:
        chunks.append(current)
    return chunks


@dataclass
class SweepResult:
    """What a finished sweep left on disk."""

    path: Path
    """The sweep directory."""
    rows: list[dict]
    """One row per model (every init when best_of > 1; ``kept`` marks the best)."""
    trained_chunks: int
    """Chunks trained by this call (the others were already on disk)."""
    seconds: float
    """Wall time of this call."""


# Spec settings that change neither which models a chunk holds nor what they compute (up to
# float summation order): a sweep may be continued with other values of these.
NOT_RESULTS = {"report": None, "train": ("block_elements", "device")}


def _results_part(spec: Any) -> Any:
    """``spec`` (a ToySpec dict) without the NOT_RESULTS settings."""
    if not isinstance(spec, dict):
        return spec
    out = {}
    for section, values in spec.items():
        if section in NOT_RESULTS and NOT_RESULTS[section] is None:
            continue
        drop = NOT_RESULTS.get(section) or ()
        out[section] = {k: v for k, v in values.items() if k not in drop} if isinstance(values, dict) else values
    return out


def prepare_dir(out: str | Path, spec: ToySpec) -> Path:
    """Create ``out`` for this spec, or accept it when it already holds the same spec."""
    out = Path(out)
    record = {"format": SWEEP_FORMAT, "version": SWEEP_VERSION, "spec": spec.to_dict()}
    spec_path = out / SPEC_FILE
    refuse_links(out, (SPEC_FILE, "chunks"))  # never write chunks into someone's linked folder
    if spec_path.exists():
        try:
            existing = loads(spec_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RunError(f"--out {out}: {SPEC_FILE} is not valid JSON; not a toy sweep") from None
        if not isinstance(existing, dict) or existing.get("format") != SWEEP_FORMAT:
            raise RunError(f"--out {out}: not a grokkit toy sweep")
        if _results_part(existing.get("spec")) != _results_part(record["spec"]):
            raise RunError(f"--out {out}: holds a sweep with a different spec; choose another directory")
        if existing["spec"] != record["spec"]:  # only report or speed settings changed: keep the new ones
            write_json_atomic(spec_path, record)
        return out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunError(f"--out {out}: exists and is not an empty directory or a toy sweep")
    (out / CHUNKS_DIR).mkdir(parents=True, exist_ok=True)
    write_json_atomic(spec_path, record)
    return out


def _select_best(rows: list[dict]) -> None:
    """Mark, per model (group of best_of inits), the init with the lowest final train loss."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        key = tuple(row[k] for k in ("n", "m", "S", "T", "R", "weight_decay", "data_seed"))
        groups.setdefault(key, []).append(row)
    for group in groups.values():
        best = min(group, key=lambda r: r["train_loss"])
        for row in group:
            row["kept"] = row is best


def train_chunk(chunk: list[ToyInstance], spec: ToySpec, device: str, progress: bool) -> tuple[list[dict], dict]:
    """Train one chunk; return its rows and its tensors (name → tensor) for safetensors."""
    import dataclasses

    from grokkit.toy.measures import measure, model_views
    from grokkit.toy.train import train_models

    result = train_models(chunk, spec.train, device=device, progress=progress)
    rows, tensors = [], {}
    for i, (inst, view) in enumerate(zip(chunk, model_views(result, chunk))):
        row = dataclasses.asdict(inst) | measure(view)
        row["model"] = i  # key prefix of its tensors in the chunk's safetensors
        row["seconds_chunk"] = result.seconds
        row["steps"] = result.steps
        rows.append(row)
        tensors[f"{i}.W"] = view.W.contiguous()
        tensors[f"{i}.b"] = view.b.contiguous()
        tensors[f"{i}.feature_dims"] = view.feature_dims
        tensors[f"{i}.point_dims"] = view.point_dims
        tensors[f"{i}.h_norms"] = view.H.norm(dim=1)
        if inst.m <= SAVE_HIDDEN_MAX_M:
            tensors[f"{i}.H"] = view.H.contiguous()
    _select_best(rows)
    return rows, tensors


def chunk_paths(out: str | Path, c: int) -> tuple[Path, Path]:
    """(rows record, safetensors) of chunk ``c``."""
    stem = Path(out) / CHUNKS_DIR / f"{CHUNK_PREFIX}{c:04d}"
    return stem.with_suffix(".json"), stem.with_suffix(".safetensors")


def write_chunk(out: Path, c: int, rows: list[dict], tensors: dict) -> None:
    """The chunk's tensors, then its record (rows + their SHA-256): the record marks it done."""
    rows_path, weights_path = chunk_paths(out, c)
    digest = {}

    def write(tmp: Path) -> None:
        save_tensors(tmp, tensors, metadata={"format": SWEEP_FORMAT, "chunk": str(c)})
        digest["sha256"] = sha256_bytes(tmp.read_bytes())

    write_atomic(weights_path, write)
    record = {"format": CHUNK_FORMAT, "version": CHUNK_VERSION, "weights": weights_path.name, "sha256": digest["sha256"],
              "rows": rows}
    write_text_atomic(rows_path, json.dumps(record))  # not write_json_atomic: a degenerate model's NaN stays


def read_chunk_record(rows_path: Path) -> dict:
    """A finished chunk's record (format, sha256, rows), checked; one RunError naming the file otherwise."""
    try:
        old = isinstance(loads(rows_path.read_bytes()), list)
    except (ValueError, OSError):
        old = False  # read_tagged below says what is wrong
    if old:
        raise RunError(f"{rows_path}: a chunk without the SHA-256 of its weights (an older grokkit wrote it); "
                       f"delete it and {rows_path.with_suffix('.safetensors').name} to retrain that chunk")
    record = read_tagged(rows_path, CHUNK_FORMAT, (CHUNK_VERSION,), what="grokkit toy chunk", keys=("sha256", "rows"))
    number = rows_path.stem.removeprefix(CHUNK_PREFIX)
    if not (number.isascii() and number.isdigit()):
        raise RunError(f"{rows_path}: not a chunk record name (chunk_NNNN.json)")
    c, rows = int(number), record["rows"]
    if not isinstance(rows, list) or not all(
        isinstance(row, dict) and row.get("chunk") == c and isinstance(row.get("model"), int) for row in rows
    ):
        raise RunError(f"{rows_path}: its rows are not a list of this chunk's models (each with chunk = {c} "
                       "and an integer model)")
    return record


def _verified_bytes(weights_path: Path, sha256: str) -> bytes:
    """The bytes of a chunk's safetensors, refused unless they hash to ``sha256``."""
    rows_name = weights_path.with_suffix(".json").name
    try:
        data = weights_path.read_bytes()
    except OSError as exc:
        raise RunError(f"{weights_path}: cannot read ({exc.strerror or exc}); {rows_name} says the chunk "
                       "is finished; delete both files to retrain it") from None
    if sha256_bytes(data) != sha256:
        raise RunError(f"{weights_path}: SHA-256 differs from the one in {rows_name} (damaged, torn or edited); "
                       "delete both files to retrain this chunk")
    return data


def verify_chunk(out: str | Path, c: int) -> dict:
    """Chunk ``c``'s record, with its tensors checked against the recorded SHA-256."""
    rows_path, weights_path = chunk_paths(out, c)
    record = read_chunk_record(rows_path)
    _verified_bytes(weights_path, record["sha256"])
    return record


def run_sweep(spec: ToySpec, out: str | Path, progress: bool = False, log=print,
              executor: ExecutorOptions | None = None) -> SweepResult:
    """Train every chunk not yet on disk (finished ones are verified, then reused), then write results.jsonl.

    Chunks are the sweep executor's units (``grokkit.sweep.executor``, local unless ``executor`` says Ray):
    a chunk trains wherever it is placed and is written here, in chunk order of completion.
    """
    start = time.perf_counter()
    device = spec.train.resolve_device()  # 'cuda' without a GPU is refused before the directory exists
    out = prepare_dir(out, spec)
    chunks = chunk_instances(expand_grid(spec), spec.sweep.chunk_instances)
    todo = []
    for c, chunk in enumerate(chunks):
        if chunk_paths(out, c)[0].exists():
            verify_chunk(out, c)
        else:
            todo.append(c)

    def land(i: int, result: tuple[list[dict], dict], node: str | None) -> None:
        c, (rows, tensors) = todo[i], result
        for row in rows:
            row["chunk"] = c
        write_chunk(out, c, rows, tensors)
        Ts = sorted({inst.T for inst in chunks[c]})
        log(f"chunk {c + 1}/{len(chunks)}: {len(chunks[c])} models, T {Ts[0]}–{Ts[-1]}, "
            f"{rows[0]['seconds_chunk']:.1f} s")

    with Executor(executor or ExecutorOptions("local"), log) as ex:
        ex.run([(chunks[c], spec, device, progress) for c in todo], train_unit, land)
    rows = load_rows(out)
    write_results(out, rows, with_csv=False)
    return SweepResult(out, rows, len(todo), time.perf_counter() - start)


def train_unit(payload: tuple[list[ToyInstance], ToySpec, str, bool]) -> tuple[list[dict], dict]:
    """The executor's unit: one chunk (its instances, the spec, the device, progress)."""
    return train_chunk(*payload)


def load_rows(out: str | Path) -> list[dict]:
    """Every finished chunk's rows, in chunk order, each chunk's tensors verified against its SHA-256."""
    rows = []
    for path in sorted((Path(out) / CHUNKS_DIR).glob(f"{CHUNK_PREFIX}*.json")):
        record = read_chunk_record(path)
        _verified_bytes(path.with_suffix(".safetensors"), record["sha256"])
        rows.extend(record["rows"])
    return rows


def load_tensors(out: str | Path, row: dict) -> dict:
    """The saved tensors of one model (W, b, feature_dims, point_dims, h_norms and, for small m, H), verified."""
    from safetensors.torch import load

    rows_path, weights_path = chunk_paths(out, row["chunk"])
    checked = _verified_bytes(weights_path, read_chunk_record(rows_path)["sha256"])
    try:
        data = load(checked)  # the very bytes just checked
    except Exception:  # SafetensorError: a record whose hash was made for something else
        raise RunError(f"{weights_path}: not a safetensors file, though it matches {rows_path.name}") from None
    prefix = f"{row['model']}."
    return {key[len(prefix) :]: value for key, value in data.items() if key.startswith(prefix)}


def load_spec_of(out: str | Path) -> ToySpec:
    """The spec a sweep directory was run with."""
    path = Path(out) / SPEC_FILE
    if not path.is_file():
        raise RunError(f"{out}: not a grokkit toy sweep (no {SPEC_FILE})")
    record = read_tagged(path, SWEEP_FORMAT, (SWEEP_VERSION,), what="grokkit toy sweep", keys=("spec",))
    if not isinstance(record["spec"], dict):
        raise RunError(f"{path}: its spec is not a table of sections")
    return spec_from_dict(record["spec"], source=str(path))

"""A sweep: grid → instances → chunks trained together → rows and weights on disk.

Layout of a sweep directory::

    OUT/sweep.json                    the full spec (format-tagged); a restart must match it
    OUT/chunks/chunk_NNNN.safetensors weights and per-model arrays of one chunk
    OUT/chunks/chunk_NNNN.json        its rows (written last: its presence marks the chunk done)
    OUT/results.jsonl                 one row per model, every chunk (rewritten at the end)
    OUT/report.html                   see grokkit.toy.report

Instances are sorted by T before chunking, so a chunk holds models of equal or
similar T (bucketing) and padding rows stay few; the dense reconstruction is
further cut into row blocks (train.block_elements), so memory is bounded whatever T.
A chunk file is written atomically; a restarted sweep skips every finished chunk.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

from grokkit.errors import RunError
from grokkit.toy.config import ToyInstance
from grokkit.toy.spec import ToySpec, spec_from_dict

SWEEP_FORMAT = "grokkit-toy-sweep"
SPEC_FILE = "sweep.json"
RESULTS_FILE = "results.jsonl"
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


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


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
    record = {"format": SWEEP_FORMAT, "version": 1, "spec": spec.to_dict()}
    payload = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    spec_path = out / SPEC_FILE
    if spec_path.exists():
        try:
            existing = json.loads(spec_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RunError(f"--out {out}: {SPEC_FILE} is not valid JSON; not a toy sweep") from None
        if not isinstance(existing, dict) or existing.get("format") != SWEEP_FORMAT:
            raise RunError(f"--out {out}: not a grokkit toy sweep")
        if _results_part(existing.get("spec")) != _results_part(record["spec"]):
            raise RunError(f"--out {out}: holds a sweep with a different spec; choose another directory")
        if existing["spec"] != record["spec"]:  # only report or speed settings changed: keep the new ones
            _write_atomic(spec_path, payload)
        return out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunError(f"--out {out}: exists and is not an empty directory or a toy sweep")
    (out / "chunks").mkdir(parents=True, exist_ok=True)
    _write_atomic(spec_path, payload)
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


def run_sweep(spec: ToySpec, out: str | Path, progress: bool = False, log=print) -> SweepResult:
    """Train every chunk not yet on disk, then write results.jsonl (resumable)."""
    from grokkit.files.atomic import save_tensors

    start = time.perf_counter()
    out = prepare_dir(out, spec)
    device = spec.train.resolve_device()
    chunks = chunk_instances(expand_grid(spec), spec.sweep.chunk_instances)
    trained = 0
    for c, chunk in enumerate(chunks):
        rows_path = out / "chunks" / f"chunk_{c:04d}.json"
        if rows_path.exists():
            continue
        rows, tensors = train_chunk(chunk, spec, device, progress)
        for row in rows:
            row["chunk"] = c
        weights_path = out / "chunks" / f"chunk_{c:04d}.safetensors"
        tmp = weights_path.with_name(f".{weights_path.name}.tmp-{os.getpid()}")
        save_tensors(tmp, tensors, metadata={"format": SWEEP_FORMAT, "chunk": str(c)})
        os.replace(tmp, weights_path)
        _write_atomic(rows_path, json.dumps(rows).encode())  # last: marks the chunk done
        trained += 1
        Ts = sorted({inst.T for inst in chunk})
        log(f"chunk {c + 1}/{len(chunks)}: {len(chunk)} models, T {Ts[0]}–{Ts[-1]}, {rows[0]['seconds_chunk']:.1f} s")
    rows = load_rows(out)
    _write_atomic(out / RESULTS_FILE, "".join(json.dumps(row) + "\n" for row in rows).encode())
    return SweepResult(out, rows, trained, time.perf_counter() - start)


def load_rows(out: str | Path) -> list[dict]:
    """Every finished chunk's rows, in chunk order."""
    rows = []
    for path in sorted((Path(out) / "chunks").glob("chunk_*.json")):
        rows.extend(json.loads(path.read_text(encoding="utf-8")))
    return rows


def load_tensors(out: str | Path, row: dict) -> dict:
    """The saved tensors of one model (W, b, feature_dims, point_dims, h_norms and, for small m, H)."""
    from safetensors.torch import load_file

    data = load_file(str(Path(out) / "chunks" / f"chunk_{row['chunk']:04d}.safetensors"))
    prefix = f"{row['model']}."
    return {key[len(prefix) :]: value for key, value in data.items() if key.startswith(prefix)}


def load_spec_of(out: str | Path) -> ToySpec:
    """The spec a sweep directory was run with."""
    path = Path(out) / SPEC_FILE
    if not path.is_file():
        raise RunError(f"{out}: not a grokkit toy sweep (no {SPEC_FILE})")
    record = json.loads(path.read_text(encoding="utf-8"))
    return spec_from_dict(record["spec"], source=str(path))

"""Self-describing, atomically written, tamper-evident checkpoints.

A checkpoint is a folder ``checkpoints/step_NNNNNNN/`` holding

- ``model.safetensors``: the TransformerLens bridge's state dict;
- ``optimizer.safetensors``: optimiser moments and RNG states;
- ``meta.json``: step, config, metrics, the SHA-256 of both tensor files, and its
  own SHA-256 (so a flipped bit in the stored config or step is caught too).

It is written in a hidden temporary folder that is renamed into place only when
complete, so a crash never leaves a half checkpoint under a real name. Loading
checks the format tag, the metadata's hash, its step against the folder's name and
both tensor hashes, so a truncated or edited file is reported, never used. Nothing here unpickles: safetensors and JSON only.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from grokkit.errors import CheckpointError
from grokkit.files.atomic import fsync_path
from grokkit.files.atomic import save_tensors, write_json_atomic
from grokkit.files.digest import sha256_bytes, sha256_file
from grokkit.files.jsonl import loads

FORMAT = "grokkit-checkpoint"
VERSION = 2  # 2: meta.json carries its own SHA-256; optimiser state named per parameter
READABLE = (1, 2)
MODEL_FILE = "model.safetensors"
STATE_FILE = "optimizer.safetensors"
META_FILE = "meta.json"
PREFIX = "step_"


@dataclass
class Checkpoint:
    """A verified checkpoint's contents."""

    step: int
    path: Path
    meta: dict[str, Any]
    model: dict[str, torch.Tensor]
    state: dict[str, torch.Tensor]


def checkpoint_dir(root: Path, step: int) -> Path:
    return root / f"{PREFIX}{step:07d}"


def list_checkpoints(root: Path) -> list[tuple[int, Path]]:
    """(step, folder) of every checkpoint folder under ``root``, by step; temporaries and foreign names excluded."""
    if not root.is_dir():
        return []
    found = []
    for entry in root.iterdir():
        digits = entry.name[len(PREFIX):]
        # ASCII digits only: str.isdigit() also accepts '²', which int() refuses
        if entry.name.startswith(PREFIX) and digits.isascii() and digits.isdigit() and entry.is_dir():
            found.append((int(digits), entry))
    return sorted(found)


_sha256 = sha256_file


def meta_digest(meta: dict[str, Any]) -> str:
    """SHA-256 of the metadata itself (canonical JSON, without this field): binds step, config and hashes."""
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    return sha256_bytes(json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode())


def non_finite(tensors: dict[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor holding a NaN or infinity, None when all are finite."""
    return next((name for name, tensor in tensors.items()
                 if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())), None)


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    meta = dict(meta)
    meta["meta_sha256"] = meta_digest(meta)
    write_json_atomic(path, meta)


def save_checkpoint(
    root: Path,
    step: int,
    model: dict[str, torch.Tensor],
    state: dict[str, torch.Tensor],
    meta: dict[str, Any],
    state_only_latest: bool = False,
) -> Path:
    """Write a checkpoint atomically and return its folder.

    A model tensor that is not finite is refused (a diverged run keeps its last good
    checkpoint). An existing folder of the same step is replaced only once the new one is
    complete: moved aside, the new one renamed in, then the old one removed. With
    ``state_only_latest`` (``train.optimizer_state = "latest"``), every other checkpoint
    under ``root`` then loses its optimiser state (``prune_state``).
    """
    name = non_finite(model)
    if name is not None:
        raise CheckpointError(f"checkpoint step {step}: {name} is not finite; nothing was written")
    final = checkpoint_dir(root, step)
    for path in (root, final):  # never write into, or move aside, a folder grokkit did not make
        if path.is_symlink():
            raise CheckpointError(f"{path}: is a symbolic link; grokkit never writes through a link in a run folder")
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    if tmp.is_symlink():
        tmp.unlink()  # the link planted under our temporary's name, not what it points to
    elif tmp.exists():
        shutil.rmtree(tmp)
    try:
        tmp.mkdir()
        save_tensors(tmp / MODEL_FILE, {k: v.detach().cpu().contiguous() for k, v in model.items()})
        save_tensors(tmp / STATE_FILE, {k: v.detach().cpu().contiguous() for k, v in state.items()})
        full_meta = dict(meta)
        full_meta.update(format=FORMAT, version=VERSION, step=step,
                         files={name: _sha256(tmp / name) for name in (MODEL_FILE, STATE_FILE)})
        _write_meta(tmp / META_FILE, full_meta)
        for name in (MODEL_FILE, STATE_FILE):
            fsync_path(tmp / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = root / f".old-{final.name}-{os.getpid()}"
    if final.exists():  # never delete the good one before its replacement is in place
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    if state_only_latest:
        for other_step, other in list_checkpoints(root):
            if other_step != step and (other / STATE_FILE).exists():
                prune_state(other)
    return final


def prune_state(path: Path) -> None:
    """Remove a checkpoint's optimiser-state file, first recording in its meta.json that it is gone.

    The meta is rewritten atomically before the file is deleted, so a crash in between leaves a
    file no hash vouches for (removed on the next prune), never a checkpoint that claims a
    state it lacks.
    """
    meta = read_meta(path)
    if STATE_FILE in meta["files"]:
        meta["files"] = {k: v for k, v in meta["files"].items() if k != STATE_FILE}
        meta["state_pruned"] = True
        if meta.get("version") == VERSION:
            _write_meta(path / META_FILE, meta)
        else:
            write_json_atomic(path / META_FILE, meta)
    (path / STATE_FILE).unlink(missing_ok=True)


def read_meta(path: Path) -> dict[str, Any]:
    """Parse and check a checkpoint's meta.json: format tag, version, its own hash, its step against the folder's."""
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise CheckpointError(f"checkpoint {path}: no {META_FILE}; not a complete grokkit checkpoint")
    try:
        meta = loads(meta_path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"checkpoint {path}: {META_FILE} is not valid JSON (truncated or edited)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path}: not a grokkit checkpoint (format tag missing)")
    if meta.get("version") not in READABLE:
        raise CheckpointError(f"checkpoint {path}: format version {meta.get('version')!r}; this grokkit reads "
                              f"{', '.join(map(str, READABLE))}")
    if meta["version"] >= 2 and meta.get("meta_sha256") != meta_digest(meta):
        raise CheckpointError(f"checkpoint {path}: {META_FILE} does not match its recorded SHA-256 (edited or damaged)")
    if not isinstance(meta.get("files"), dict) or isinstance(meta.get("step"), bool) or not isinstance(meta.get("step"), int):
        raise CheckpointError(f"checkpoint {path}: {META_FILE} lacks its step or file hashes")
    digits = path.name[len(PREFIX):]
    if path.name.startswith(PREFIX) and digits.isascii() and digits.isdigit() and int(digits) != meta["step"]:
        raise CheckpointError(f"checkpoint {path}: {META_FILE} says step {meta['step']}, the folder says "
                              f"{int(digits)} (edited or moved)")
    return meta


def load_checkpoint(path: Path, with_state: bool = True) -> Checkpoint:
    """Load a checkpoint after verifying its metadata and hashes; raise CheckpointError if anything is off."""
    meta = read_meta(path)
    names = [MODEL_FILE, STATE_FILE] if with_state else [MODEL_FILE]
    if with_state and meta.get("state_pruned"):
        raise CheckpointError(f"checkpoint {path}: its optimiser state was removed (train.optimizer_state = "
                              "'latest'); only the latest checkpoint can be resumed from")
    for name in names:
        file = path / name
        expected = meta["files"].get(name)
        if not file.is_file():
            raise CheckpointError(f"checkpoint {path}: {name} is missing")
        if expected is None or _sha256(file) != expected:
            raise CheckpointError(f"checkpoint {path}: {name} does not match its recorded SHA-256 (truncated or tampered)")
    try:
        model = load_file(str(path / MODEL_FILE))
        state = load_file(str(path / STATE_FILE)) if with_state else {}
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"checkpoint {path}: unreadable tensor file ({exc})") from None
    bad = non_finite(model)
    if bad is not None:  # grokkit never writes one; an older version did when a run diverged
        raise CheckpointError(f"checkpoint {path}: {bad} is not finite (written by a run that diverged)")
    return Checkpoint(step=meta["step"], path=path, meta=meta, model=model, state=state)

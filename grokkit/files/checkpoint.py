"""Self-describing, atomically written, tamper-evident checkpoints.

A checkpoint is a folder ``checkpoints/step_NNNNNNN/`` holding

- ``model.safetensors``: the TransformerLens bridge's state dict;
- ``optimizer.safetensors``: optimiser moments and RNG states;
- ``meta.json``: step, config, metrics, optimiser hyper-parameters, and the
  SHA-256 of both tensor files.

It is written in a hidden temporary folder that is renamed into place only when
complete, so a crash never leaves a half checkpoint under a real name. Loading
checks the format tag and both hashes, so a truncated or edited file is reported,
never used. Nothing here unpickles: safetensors and JSON only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from grokkit.errors import CheckpointError
from grokkit.files.atomic import fsync_path as _fsync
from grokkit.files.atomic import save_tensors, write_json_atomic

FORMAT = "grokkit-checkpoint"
VERSION = 1
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
    """(step, folder) of every checkpoint folder under ``root``, by step; temporaries excluded."""
    if not root.is_dir():
        return []
    found = []
    for entry in root.iterdir():
        if entry.is_dir() and entry.name.startswith(PREFIX) and entry.name[len(PREFIX) :].isdigit():
            found.append((int(entry.name[len(PREFIX) :]), entry))
    return sorted(found)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(
    root: Path,
    step: int,
    model: dict[str, torch.Tensor],
    state: dict[str, torch.Tensor],
    meta: dict[str, Any],
    state_only_latest: bool = False,
) -> Path:
    """Write a checkpoint atomically and return its folder.

    With ``state_only_latest`` (``train.optimizer_state = "latest"``), every other checkpoint
    under ``root`` then loses its optimiser state (``prune_state``).
    """
    root.mkdir(parents=True, exist_ok=True)
    final = checkpoint_dir(root, step)
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_tensors(tmp / MODEL_FILE, {k: v.detach().cpu().contiguous() for k, v in model.items()})
    save_tensors(tmp / STATE_FILE, {k: v.detach().cpu().contiguous() for k, v in state.items()})
    full_meta = dict(meta)
    full_meta.update(
        format=FORMAT,
        version=VERSION,
        step=step,
        files={name: _sha256(tmp / name) for name in (MODEL_FILE, STATE_FILE)},
    )
    (tmp / META_FILE).write_text(json.dumps(full_meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for name in (MODEL_FILE, STATE_FILE, META_FILE):
        _fsync(tmp / name)
    if final.exists():  # a re-run of the same step after resume: replace it whole
        shutil.rmtree(final)
    os.replace(tmp, final)
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
        write_json_atomic(path / META_FILE, meta)
    (path / STATE_FILE).unlink(missing_ok=True)


def read_meta(path: Path) -> dict[str, Any]:
    """Parse and check a checkpoint's meta.json (format tag, step, file hashes listed)."""
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise CheckpointError(f"checkpoint {path}: no {META_FILE}; not a complete grokkit checkpoint")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"checkpoint {path}: {META_FILE} is not valid JSON (truncated or edited)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path}: not a grokkit checkpoint (format tag missing)")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {path}: format version {meta.get('version')!r}, expected {VERSION}")
    if not isinstance(meta.get("files"), dict) or not isinstance(meta.get("step"), int):
        raise CheckpointError(f"checkpoint {path}: {META_FILE} lacks its step or file hashes")
    return meta


def load_checkpoint(path: Path, with_state: bool = True) -> Checkpoint:
    """Load a checkpoint after verifying its hashes; raise CheckpointError if anything is off."""
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
    return Checkpoint(step=meta["step"], path=path, meta=meta, model=model, state=state)


def pack_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    """Split an optimiser state dict into tensors (for safetensors) and JSON-able groups."""
    sd = optimizer.state_dict()
    tensors = {}
    for index, per_param in sd["state"].items():
        for key, value in per_param.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value
            elif value is not None:
                tensors[f"optim.{index}.{key}"] = torch.tensor(value)
    return tensors, sd["param_groups"]


def unpack_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list[dict[str, Any]]) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if not name.startswith("optim."):
            continue
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    for group in groups:  # JSON turns tuples into lists; torch wants its betas back as a tuple
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})

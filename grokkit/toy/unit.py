"""One chunk of a toy sweep, the sweep executor's unit: train its models as one stack, measure each, keep the best init.

It runs wherever ``grokkit.executor`` places it (in this process or on a Ray worker): plain data
in (the chunk's instances, the spec, the device), rows and tensors out; it never touches the
sweep's folder (``grokkit.toy.sweep`` writes what comes back, through ``grokkit.toy.folder``).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from torch import Tensor

from grokkit.toy.config import ToyInstance, ToySpec
from grokkit.toy.measures import measure, model_views
from grokkit.toy.train import train_models

SAVE_HIDDEN_MAX_M = 3  # hidden vectors [T, m] are kept for the small-m pictures only; they grow with T·m


class TrainedChunk(NamedTuple):
    """What a chunk's training hands back to the sweep."""

    rows: list[dict]
    """One row per model: its instance's settings, its measures, ``model`` (its tensors' key prefix), ``kept``."""
    tensors: dict[str, Tensor]
    """``{model}.{name}`` → tensor: W, b, feature_dims, point_dims, h_norms and, for m <= SAVE_HIDDEN_MAX_M, H."""


def select_best(rows: list[dict]) -> None:
    """Mark, per model (group of best_of inits), the init with the lowest final train loss."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        key = tuple(row[k] for k in ("n", "m", "S", "T", "R", "weight_decay", "data_seed"))
        groups.setdefault(key, []).append(row)
    for group in groups.values():
        best = min(group, key=lambda r: r["train_loss"])
        for row in group:
            row["kept"] = row is best


def train_chunk(chunk: list[ToyInstance], spec: ToySpec, device: str, progress: bool) -> TrainedChunk:
    """Train one chunk; return its rows and its tensors (name → tensor) for safetensors."""
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
    select_best(rows)
    return TrainedChunk(rows, tensors)


def train_unit(payload: tuple[list[ToyInstance], ToySpec, str, bool]) -> TrainedChunk:
    """The executor's unit: one chunk (its instances, the spec, the device, progress)."""
    return train_chunk(*payload)

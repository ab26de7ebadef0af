"""Toy task specs: TOML with ``[toy]``, ``[train]``, ``[sweep]`` and ``[report]`` sections.

Each section overrides the defaults of one typed config (grokkit.toy.config, whose ``ToySpec``
holds them); unknown sections and keys are errors. ``--set section.key=value`` applies on top,
parsed as TOML (``--set train.steps=2000``, ``--set sweep.T=[5,50,500]``). A spec is checked
whole before anything touches disk: every grid point (``grokkit.toy.grid``) and the memory
a chunk needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from grokkit.errors import ConfigError
from grokkit.limits import gigabytes, host_available
from grokkit.spec import apply_overrides, read_spec, section_configs
from grokkit.toy.config import SECTIONS, ToySpec
from grokkit.toy.data import ROW_BLOCK
from grokkit.toy.grid import expand_grid


def spec_from_dict(data: dict[str, Any], source: str = "spec") -> ToySpec:
    """Build a ToySpec from nested dicts, rejecting unknown sections and keys."""
    return ToySpec(**section_configs(data, SECTIONS, source))


def load_toy_spec(path: str | Path, overrides: Iterable[str] = ()) -> ToySpec:
    """Read a toy TOML spec, apply ``--set`` overrides, and validate everything (and every grid point)."""
    spec = spec_from_dict(apply_overrides(read_spec(path), overrides), source=str(path))
    expand_grid(spec)  # per-model checks (R <= T, m <= n) before anything touches disk
    check_memory(spec)
    return spec


# Spec settings that change neither which models a chunk holds nor what they compute (up to
# float summation order): a sweep may be continued with other values of these.
NOT_RESULTS = {"report": None, "train": ("block_elements", "device")}


def results_part(spec: Any) -> Any:
    """``spec`` (a ToySpec dict) without the NOT_RESULTS settings: what two specs must share to share chunks."""
    if not isinstance(spec, dict):
        return spec
    out = {}
    for section, values in spec.items():
        if section in NOT_RESULTS and NOT_RESULTS[section] is None:
            continue
        drop = NOT_RESULTS.get(section) or ()
        out[section] = {k: v for k, v in values.items() if k not in drop} if isinstance(values, dict) else values
    return out


FLOAT = 4


def least_bytes(spec: ToySpec, n: int) -> int:
    """A lower bound on what one chunk of the sweep allocates with ``n`` features: the dense uniform draw
    of a block of points (float32 values, their mask and their sort keys: about 3 floats a cell) and the
    chunk's weights W, b with their gradients and AdamW's two moments (5 copies of ``I · (m + 1) · n``)."""
    rows = min(max(spec.sweep.T), ROW_BLOCK)
    m = max(spec.sweep.m or [spec.toy.m])
    return FLOAT * n * (3 * rows + 5 * spec.sweep.chunk_instances * (m + 1))


def check_memory(spec: ToySpec, host: int | None = None) -> None:
    """Refuse (ConfigError naming toy.n) a sweep whose chunks cannot fit in the host's memory."""
    host = host_available() if host is None else host
    need = least_bytes(spec, spec.toy.n)
    if host is not None and need > host:
        top = host // max(least_bytes(spec, 1), 1)
        raise ConfigError(f"toy.n: {spec.toy.n} needs at least {gigabytes(need)} of host memory per chunk; "
                          f"{gigabytes(host)} is available; allowed: toy.n <= {top} with the other settings as "
                          "they are (or fewer sweep.chunk_instances)")
